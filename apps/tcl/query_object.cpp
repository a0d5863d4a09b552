// Query objects: the seed's DispatchEvent (the callback gets one argument, {event query}; what it
// returns for a response or error is collected; break ends the query) and its accessors.
#include "query_object.hpp"

#include <algorithm>

#include "cluster_object.hpp"

namespace cluster::tclbind {

QueryObject::QueryObject(ClusterObject& owner, std::string name, Tcl_Obj* command, bool collect)
    : owner_(&owner), interp_(owner.interp()), name_(std::move(name)), command_(command), collect_(collect) {}

std::shared_ptr<QueryObject> QueryObject::create(ClusterObject& owner, Tcl_Obj* command, bool collect) {
  std::shared_ptr<QueryObject> q(new QueryObject(owner, owner.next_query_name(), command, collect));
  q->token_ = Tcl_CreateObjCommand(owner.interp(), q->name_.c_str(), QueryObject::command, q.get(), deleted);
  owner.add_query(q);
  return q;
}

QueryCallback QueryObject::callback() {
  std::weak_ptr<QueryObject> weak = shared_from_this();
  // The core keeps the callback until the query ends; the owner's map keeps the object while its
  // command exists. Weak: a finished, deleted query is simply not called.
  return [weak](QueryEvent e, Query& q) {
    if (auto self = weak.lock()) self->on_event(e, q);
  };
}

void QueryObject::remove() {
  if (token_ == nullptr) return;
  Tcl_Command t = token_;
  token_ = nullptr;
  Tcl_DeleteCommandFromToken(interp_, t);
}

void QueryObject::deleted(ClientData data) {
  auto* q = static_cast<QueryObject*>(data);
  q->token_ = nullptr;
  q->closed_ = true;
  if (q->owner_ != nullptr) q->owner_->forget_query(q);  // may free q: nothing after this
}

void QueryObject::on_event(QueryEvent e, Query& q) {
  if (owner_ == nullptr || owner_->doomed() || closed_) return;
  auto keep = shared_from_this();  // the callback may delete our command
  dispatch(e, &q);
  if (e == QueryEvent::done && !closed_) {
    closed_ = true;
    // As the seed, the object goes after done; without -command nobody would have seen the
    // answers yet, so it stays until `$query destroy` (or its cluster goes).
    if (command_.get() != nullptr) remove();
  }
}

namespace {

// current_ for the accessors during a callback, reset however the callback ends.
class Current {
 public:
  Current(Query*& slot, Query* q) : slot_(slot) { slot_ = q; }
  ~Current() { slot_ = nullptr; }
  Current(const Current&) = delete;
  Current& operator=(const Current&) = delete;

 private:
  Query*& slot_;
};

}  // namespace

void QueryObject::dispatch(QueryEvent e, Query* q) {
  Tcl_Interp* ip = interp_;
  const std::string service =
      (e == QueryEvent::response || e == QueryEvent::error) && q != nullptr && q->service() ? owner_->service_command(q->service()) : std::string();
  int code = TCL_OK;
  ObjRef result;
  {
    const Current current(current_, q);
    const SavedState saved(ip);
    if (command_.get() != nullptr) {
      const ObjRef call(Tcl_DuplicateObj(command_.get()));
      Tcl_Obj* ev = Tcl_NewListObj(0, nullptr);
      Tcl_ListObjAppendElement(nullptr, ev, str(query_event_name(e)));
      Tcl_ListObjAppendElement(nullptr, ev, str(name_));
      if (Tcl_ListObjAppendElement(ip, call.get(), ev) != TCL_OK) {
        // -command is not a list: it cannot take its argument, so it is not run.
        Tcl_IncrRefCount(ev);  // frees it (refcount 0, not appended)
        Tcl_DecrRefCount(ev);
        Tcl_AppendObjToErrorInfo(ip, str("\n    (query " + name_ + ": -command is not a list)"));
        code = TCL_ERROR;
      } else {
        code = Tcl_EvalObjEx(ip, call.get(), TCL_EVAL_GLOBAL);
      }
      result = ObjRef(Tcl_GetObjResult(ip));
      if (code == TCL_ERROR) Tcl_BackgroundException(ip, code);
    } else if (q != nullptr) {
      result = ObjRef(str(q->result()));  // no callback: collect the answers themselves
    }
  }
  if ((code == TCL_OK || code == TCL_BREAK || code == TCL_CONTINUE) && collect_ &&
      (e == QueryEvent::response || e == QueryEvent::error) && !service.empty()) {
    auto it = std::find_if(results_.begin(), results_.end(), [&](const auto& r) { return r.first == service; });
    if (it != results_.end()) it->second = result;
    else results_.emplace_back(service, result);
  }
  if (code == TCL_BREAK && e != QueryEvent::done && !closed_) {  // the seed: break ends the query
    closed_ = true;
    dispatch(QueryEvent::done, nullptr);
    remove();
  }
}

int QueryObject::command(ClientData data, Tcl_Interp* interp, int objc, Tcl_Obj* const objv[]) {
  auto self = static_cast<QueryObject*>(data)->shared_from_this();
  if (self->owner_ == nullptr) return guard(interp, [&] { return self->call(interp, objc, objv); });
  return self->owner_->enter([&] { return self->call(interp, objc, objv); });
}

int QueryObject::call(Tcl_Interp* ip, int objc, Tcl_Obj* const objv[]) {
  if (objc < 2) usage(ip, objc, objv, 1, "method");
  const std::string m = text(objv[1]);
  const Query* q = view();
  Tcl_Obj* r = nullptr;
  if (m == "destroy") {
    if (!closed_) {
      closed_ = true;
      dispatch(QueryEvent::done, nullptr);
    }
    remove();
    return TCL_OK;
  }
  if (m == "results") {
    if (!collect_)
      fail("You may only get \"results\" of a cluster query if the -collect argument is specified", {"QUERY", "NO_COLLECT"});
    r = Tcl_NewDictObj();
    for (const auto& [s, v] : results_) Tcl_DictObjPut(nullptr, r, str(s), v.get());
  } else if (q == nullptr) {
    fail("query " + name_ + " has not started", {"QUERY", "STATE"});
  } else if (m == "result" || m == "data" || m == "payload") {
    r = str(q->result());
  } else if (m == "error") {
    r = str(q->error());
  } else if (m == "id") {
    r = str(q->id());
  } else if (m == "query") {
    r = str(q->query());
  } else if (m == "channel") {
    r = Tcl_NewWideIntObj(static_cast<Tcl_WideInt>(q->channel()));
  } else if (m == "remaining") {
    r = Tcl_NewWideIntObj(static_cast<Tcl_WideInt>(q->remaining()));
  } else if (m == "service") {
    r = str(q->service() && owner_ != nullptr ? owner_->service_command(q->service()) : std::string());
  } else if (m == "payloads") {
    r = list(q->payloads());
  } else if (m == "done") {
    r = Tcl_NewBooleanObj(q->done() ? 1 : 0);
  } else if (m == "timed_out") {
    r = Tcl_NewBooleanObj(q->timed_out() ? 1 : 0);
  } else if (m == "props") {
    r = Tcl_NewObj();
  } else {
    fail("unknown method \"" + m +
             "\": must be channel, data, destroy, done, error, id, payload, payloads, props, query, remaining, result, "
             "results, service or timed_out",
         {"ARGS", "METHOD"});
  }
  Tcl_SetObjResult(ip, r);
  return TCL_OK;
}

}  // namespace cluster::tclbind
