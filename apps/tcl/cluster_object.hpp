// One joined cluster as a Tcl command (the seed's $cluster): owns the loop, the plugins, the
// Cluster, the hooks' scripts, and the Tcl commands of its services and queries.
//
// Lifetime: the command's deletion (rename to {}, `$cluster destroy`, interpreter deletion)
// marks the object doomed and hands it to Tcl_EventuallyFree; every entry from Tcl (a command, a
// loop turn) holds Tcl_Preserve, so a hook that deletes its own cluster frees it only once the
// outermost entry returns. Doomed, hooks and callbacks do nothing.
#pragma once

#include <tcl.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster/cluster.hpp"
#include "loop_driver.hpp"
#include "tcl_util.hpp"

namespace cluster::tclbind {

class ServiceObject;
class QueryObject;

/// A hook being evaluated, for `my` (the seed's hooks run inside the service's or the cluster's
/// methods, so `my local` asks the peer of a query hook whether it is local).
struct HookFrame {
  bool service_context = false;
  std::string service;       ///< the peer's command, "" when none
  Tcl_Obj* body = nullptr;   ///< the script (held by its HookScript)
  // What the body did, recorded inside the hook's frame (body_command).
  int code = TCL_OK;
  ObjRef result, options, payload, data;
};

class ClusterObject {
 public:
  /// Joins as `node` says and creates the command ::cluster::cluster<N>. Throws as join_on_loop.
  static ClusterObject* create(Tcl_Interp* interp, const NodeConfig& node);

  /// Only Tcl_EventuallyFree (or a failed create) destroys it: leaves, then frees everything.
  ~ClusterObject();
  ClusterObject(const ClusterObject&) = delete;
  ClusterObject& operator=(const ClusterObject&) = delete;

  Tcl_Interp* interp() const noexcept { return interp_; }
  /// The namespace of hooks, services and queries (the command's first name).
  const std::string& name() const noexcept { return name_; }
  /// The command's current name (it may have been renamed); "" once deleted.
  std::string command_name() const;
  /// Deletes the command, whatever it is called now (`$cluster destroy`).
  void destroy();
  Cluster& cluster() { return *cluster_; }
  /// Creates the namespace's helpers: `my` and the frame hook bodies run in (hooks.cpp).
  void define_hook_frame();
  bool doomed() const noexcept { return doomed_; }

  /// The command of a member (created on first use; the same one while the member is known).
  /// Without a handle (a member not yet admitted: service evaluate) it shows `info` only.
  std::string service_command(const ServiceInfo& info);
  std::string service_command(const ServicePtr& s);
  /// The ServicePtr behind one of our service commands (by its name), or null.
  ServicePtr service_by_command(const std::string& name) const;
  void forget_service(ServiceObject* s);  ///< its command is being deleted
  void drop_service(const std::string& uuid);  ///< deletes the command of a lost member

  void add_query(const std::shared_ptr<QueryObject>& q);
  void forget_query(QueryObject* q);
  std::string next_query_name();

  /// `$cluster hook <path...> <body>`: (re)places the hook(s) of that path; an empty body removes.
  void set_hook(const std::vector<std::string>& path, Tcl_Obj* body);
  /// {path body ...} of the hooks set.
  Tcl_Obj* hook_list() const;

  std::vector<HookFrame> frames;  ///< hooks being evaluated, innermost last (for `my`)

  /// Leaves the cluster now; hooks and callbacks do nothing from then on. The disconnect is
  /// flushed by a few loop turns, except from inside a turn or command (exit in a hook): there
  /// only what the core sends synchronously goes out.
  void leave_now() noexcept;
  std::thread::id owner_thread() const noexcept { return owner_thread_; }

  /// Everything entering from Tcl goes through here: keeps the object and the interpreter alive,
  /// runs `body` under guard(), and back at depth 0 watches the loop again and re-arms its timer.
  int enter(const std::function<int()>& body);

 private:
  ClusterObject(Tcl_Interp* interp, std::string name);
  static void on_command_deleted(ClientData data);
  static void on_my_deleted(ClientData data);
  static void on_body_deleted(ClientData data);
  static void free_object(char* data);
  static void turn(void* data);
  static int my_command(ClientData data, Tcl_Interp* interp, int objc, Tcl_Obj* const objv[]);
  static int body_command(ClientData data, Tcl_Interp* interp, int objc, Tcl_Obj* const objv[]);

  struct HookScript;
  Verdict run_hook(const HookScript& script, HookContext& ctx);
  std::string make_service(const std::string& uuid, ServicePtr ptr, const ServiceInfo& info);

  Tcl_Interp* interp_;
  std::string name_;  ///< the command, and the namespace of hooks, services and queries
  Tcl_Command token_ = nullptr;
  // `my` and HookBody: deleted with the cluster even when renamed out of its namespace.
  Tcl_Command my_token_ = nullptr, body_token_ = nullptr;
  bool doomed_ = false;
  // Entries from Tcl on the stack (loop turns and commands): the loop runs only at depth 0, since
  // the core holds pointers into its tables while it runs hooks.
  int depth_ = 0;
  std::thread::id owner_thread_ = std::this_thread::get_id();
  int next_query_ = 0;
  // Destroyed in reverse: the cluster before the driver, the loop and the plugins.
  std::shared_ptr<PluginManager> plugins_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<LoopDriver> driver_;
  std::unique_ptr<Cluster> cluster_;
  std::map<std::string, std::pair<ObjRef, std::vector<HookId>>> hooks_;  ///< by canonical path
  std::map<std::string, ServiceObject*> services_;                       ///< by uuid
  std::map<QueryObject*, std::shared_ptr<QueryObject>> queries_;
};

}  // namespace cluster::tclbind
