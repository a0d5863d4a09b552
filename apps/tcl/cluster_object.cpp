#include "cluster_object.hpp"

#include <chrono>
#include <mutex>
#include <set>
#include <thread>

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

int counter = 0;  // per process: command names stay unique across interpreters

// `exit` does not delete the interpreter: leave every live cluster from an exit handler, so
// members hear our disconnect at once (the seed's destructor meant to, and did not).
std::mutex live_mu;
std::set<ClusterObject*> live;

void leave_all(ClientData) {
  std::set<ClusterObject*> all;
  {
    std::lock_guard<std::mutex> lock(live_mu);
    all.swap(live);
  }
  for (ClusterObject* o : all) o->leave_now();
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
  Tcl_CreateNamespace(interp, o->name_.c_str(), nullptr, nullptr);
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
      for (int i = 0; i < 3; ++i) loop_->run_once(std::chrono::milliseconds(0));
    }
  } catch (...) {
  }
}

int ClusterObject::enter(const std::function<int()>& body) {
  Tcl_Preserve(this);
  const int code = guard(interp_, body);
  if (!doomed_ && driver_) driver_->rearm();
  Tcl_Release(this);
  return code;
}

void ClusterObject::turn(void* data) {
  auto* o = static_cast<ClusterObject*>(data);
  if (o->turning_) {  // a hook re-entered Tcl's event loop: resume after this turn
    o->driver_->suspend();
    return;
  }
  Tcl_Preserve(o);
  o->turning_ = true;
  try {
    o->loop_->run_once(std::chrono::milliseconds(0));
  } catch (...) {  // callbacks catch their own; never let anything reach Tcl's notifier
  }
  o->turning_ = false;
  if (!o->doomed_) {
    o->driver_->resume();
    o->driver_->rearm();
  }
  Tcl_Release(o);
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
  if (!Tcl_InterpDeleted(o->interp_))
    if (Tcl_Namespace* ns = Tcl_FindNamespace(o->interp_, o->name_.c_str(), nullptr, 0)) Tcl_DeleteNamespace(ns);
  Tcl_EventuallyFree(o, free_object);
}

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
