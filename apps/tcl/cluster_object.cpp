#include "cluster_object.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "join.hpp"
#include "query_object.hpp"
#include "service_object.hpp"

namespace cluster::tclbind {

int cluster_method(ClusterObject& o, Tcl_Interp* interp, int objc, Tcl_Obj* const objv[]);  // cluster_commands.cpp

namespace {

int object_command(ClientData data, Tcl_Interp* interp, int objc, Tcl_Obj* const objv[]) {
  auto* o = static_cast<ClusterObject*>(data);
  return o->enter([&] { return cluster_method(*o, interp, objc, objv); });
}

std::atomic<int> counter{0};  // per process: command names stay unique across interpreters

// `exit` does not delete the interpreter: leave the live clusters from an exit handler, so
// members hear our disconnect at once (the seed's destructor meant to, and did not). Only the
// exiting thread's: another thread's clusters run on that thread's loop, which we must not touch.
std::mutex live_mu;
std::set<ClusterObject*> live;

void leave_all(ClientData) {
  std::vector<ClusterObject*> mine;
  {
    std::lock_guard<std::mutex> lock(live_mu);
    for (auto it = live.begin(); it != live.end();) {
      if ((*it)->owner_thread() == std::this_thread::get_id()) {
        mine.push_back(*it);
        it = live.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (ClusterObject* o : mine) o->leave_now();
}

void track(ClusterObject* o) {
  static std::once_flag once;
  std::call_once(once, [] { Tcl_CreateExitHandler(leave_all, nullptr); });
  std::lock_guard<std::mutex> lock(live_mu);
  live.insert(o);
}

void untrack(ClusterObject* o) {
  std::lock_guard<std::mutex> lock(live_mu);
  live.erase(o);
}

}  // namespace

ClusterObject::ClusterObject(Tcl_Interp* interp, std::string name) : interp_(interp), name_(std::move(name)) {}

ClusterObject* ClusterObject::create(Tcl_Interp* interp, const NodeConfig& node) {
  std::unique_ptr<ClusterObject> o(new ClusterObject(interp, "::cluster::cluster" + std::to_string(++counter)));
  o->plugins_ = std::make_shared<PluginManager>();
  o->loop_ = std::make_unique<EventLoop>();
  o->loop_->set_owner(std::this_thread::get_id());
  ClusterObject* self = o.get();
  o->cluster_ = join_on_loop(node, o->plugins_, *o->loop_, [self](Cluster& c) {
    // A lost member's command goes after every other hook has seen it (the seed destroys the
    // service object once its lost hook ran).
    c.hook(HookPoint::service_lost, "tcl:forget", [self](HookContext& ctx) {
      if (!self->doomed_ && ctx.service != nullptr) self->drop_service(ctx.service->uuid);
      return Verdict::pass;
    }, hook_order::last + 1);
  });
  if (Tcl_CreateNamespace(interp, o->name_.c_str(), nullptr, nullptr) == nullptr)
    fail("cannot create the namespace " + o->name_ + ": " + text(Tcl_GetObjResult(interp)), {"INTERNAL"});
  o->define_hook_frame();
  o->token_ = Tcl_CreateObjCommand(interp, o->name_.c_str(), object_command, self, on_command_deleted);
  o->driver_ = std::make_unique<LoopDriver>(*o->loop_, turn, self);
  track(self);
  return o.release();
}

ClusterObject::~ClusterObject() {
  untrack(this);
  leave_now();
  cluster_.reset();
  driver_.reset();
}

void ClusterObject::leave_now() noexcept {
  // Leave gracefully and let the transports flush the disconnect before they stop.
  try {
    if (cluster_) {
      doomed_ = true;  // no Tcl code from here on
      cluster_->leave();
      // Not inside a turn or a command: the loop does not run inside itself (its posted queue
      // is not re-entrant, and the core holds pointers into its tables while hooks run).
      if (depth_ == 0)
        for (int i = 0; i < 3; ++i) loop_->run_once(std::chrono::milliseconds(0));
    }
  } catch (...) {
  }
}

int ClusterObject::enter(const std::function<int()>& body) {
  const Preserve keep_interp(interp_);
  const Preserve keep(this);
  ++depth_;
  const int code = guard(interp_, body);
  if (--depth_ == 0 && !doomed_ && driver_) {
    driver_->resume();  // a hook of the command may have entered Tcl's event loop (turn())
    driver_->rearm();   // the command may have added a timer
  }
  return code;
}

void ClusterObject::turn(void* data) {
  auto* o = static_cast<ClusterObject*>(data);
  if (o->depth_ > 0) {  // a hook re-entered Tcl's event loop: wait until the outermost entry returns
    o->driver_->suspend();
    return;
  }
  const Preserve keep_interp(o->interp_);
  const Preserve keep(o);
  ++o->depth_;
  try {
    o->loop_->run_once(std::chrono::milliseconds(0));
  } catch (...) {  // callbacks catch their own; never let anything reach Tcl's notifier
  }
  --o->depth_;
  if (!o->doomed_) {
    o->driver_->resume();
    o->driver_->rearm();
  }
}

std::string ClusterObject::command_name() const {
  if (token_ == nullptr) return {};
  Tcl_Obj* n = Tcl_NewObj();
  Tcl_IncrRefCount(n);
  Tcl_GetCommandFullName(interp_, token_, n);
  std::string s = text(n);
  Tcl_DecrRefCount(n);
  return s;
}

void ClusterObject::destroy() {
  if (token_ != nullptr) Tcl_DeleteCommandFromToken(interp_, token_);  // by token: it may be renamed
}

void ClusterObject::on_command_deleted(ClientData data) {
  auto* o = static_cast<ClusterObject*>(data);
  o->doomed_ = true;
  o->token_ = nullptr;
  if (o->driver_) o->driver_->stop();
  // Service and query commands go with their cluster (as the seed's objects in its namespace).
  auto services = std::move(o->services_);
  o->services_.clear();
  for (auto& [uuid, s] : services) {
    s->orphan();
    s->remove();
  }
  auto queries = std::move(o->queries_);
  o->queries_.clear();
  for (auto& [raw, q] : queries) {
    q->orphan();
    q->remove();
  }
  // `my` and HookBody may have been renamed out of the namespace: they hold a raw pointer.
  for (Tcl_Command* t : {&o->my_token_, &o->body_token_})
    if (Tcl_Command c = std::exchange(*t, nullptr)) Tcl_DeleteCommandFromToken(o->interp_, c);
  if (!Tcl_InterpDeleted(o->interp_))
    if (Tcl_Namespace* ns = Tcl_FindNamespace(o->interp_, o->name_.c_str(), nullptr, 0)) Tcl_DeleteNamespace(ns);
  Tcl_EventuallyFree(o, free_object);
}

// A helper deleted by the script (or the interpreter): its token must not be used again.
void ClusterObject::on_my_deleted(ClientData data) { static_cast<ClusterObject*>(data)->my_token_ = nullptr; }
void ClusterObject::on_body_deleted(ClientData data) { static_cast<ClusterObject*>(data)->body_token_ = nullptr; }

void ClusterObject::free_object(char* data) { delete reinterpret_cast<ClusterObject*>(data); }

// ---- services ----

std::string ClusterObject::make_service(const std::string& uuid, ServicePtr ptr, const ServiceInfo& info) {
  auto it = services_.find(uuid);
  if (it != services_.end()) {
    if (!it->second->handle() && ptr) it->second->attach(std::move(ptr));
    return it->second->name();
  }
  ServiceObject* s = ServiceObject::create(*this, name_ + "::services::" + uuid, uuid, std::move(ptr), info);
  services_.emplace(uuid, s);
  return s->name();
}

std::string ClusterObject::service_command(const ServiceInfo& info) {
  auto it = services_.find(info.uuid);
  if (it != services_.end() && it->second->handle()) return it->second->name();
  ServicePtr ptr;
  for (auto& s : cluster_->resolve(std::vector<std::string>{info.uuid}))
    if (s->uuid() == info.uuid) ptr = s;
  return make_service(info.uuid, std::move(ptr), info);
}

std::string ClusterObject::service_command(const ServicePtr& s) {
  if (!s) return {};
  return make_service(s->uuid(), s, s->info());
}

ServicePtr ClusterObject::service_by_command(const std::string& name) const {
  for (const auto& [uuid, s] : services_)
    if (s->name() == name || s->name() == "::" + name) return s->handle();
  return nullptr;
}

void ClusterObject::forget_service(ServiceObject* s) {
  auto it = services_.find(s->uuid());
  if (it != services_.end() && it->second == s) services_.erase(it);
}

void ClusterObject::drop_service(const std::string& uuid) {
  auto it = services_.find(uuid);
  if (it == services_.end()) return;
  ServiceObject* s = it->second;
  services_.erase(it);
  s->orphan();
  s->remove();
}

// ---- queries ----

void ClusterObject::add_query(const std::shared_ptr<QueryObject>& q) { queries_.emplace(q.get(), q); }
void ClusterObject::forget_query(QueryObject* q) { queries_.erase(q); }
std::string ClusterObject::next_query_name() { return name_ + "::queries::q" + std::to_string(++next_query_); }

}  // namespace cluster::tclbind
