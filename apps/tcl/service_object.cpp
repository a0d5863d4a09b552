// The methods of $service (the seed's "$service Commands Reference").
#include "service_object.hpp"

#include <algorithm>
#include <chrono>
#include <map>

#include "cluster_object.hpp"
#include "query_object.hpp"
#include "resolve.hpp"
#include "tcl_util.hpp"

namespace cluster::tclbind {
namespace {

Tcl_Obj* dict_obj(const Dict& d) {
  Tcl_Obj* o = Tcl_NewDictObj();
  for (const auto& [k, v] : d) Tcl_DictObjPut(nullptr, o, str(k), str(v));
  return o;
}

Tcl_Obj* props_obj(const ServiceInfo& i) {
  Tcl_Obj* o = Tcl_NewDictObj();
  for (const auto& [proto, d] : i.props) Tcl_DictObjPut(nullptr, o, str(proto), dict_obj(d));
  return o;
}

// Seconds since the member was last heard from, as the seed's last_seen.
Tcl_Obj* last_seen_obj(const ServiceInfo& i) {
  const auto ago = std::chrono::steady_clock::now() - i.last_seen;
  return Tcl_NewWideIntObj(static_cast<Tcl_WideInt>(std::chrono::duration_cast<std::chrono::seconds>(ago).count()));
}

}  // namespace

ServiceObject::ServiceObject(ClusterObject& owner, std::string name, std::string uuid, ServicePtr ptr,
                             ServiceInfo snapshot)
    : owner_(&owner), interp_(owner.interp()), name_(std::move(name)), uuid_(std::move(uuid)), ptr_(std::move(ptr)),
      snapshot_(std::move(snapshot)) {}

ServiceObject* ServiceObject::create(ClusterObject& owner, std::string name, std::string uuid, ServicePtr ptr,
                                     ServiceInfo snapshot) {
  auto* s = new ServiceObject(owner, std::move(name), std::move(uuid), std::move(ptr), std::move(snapshot));
  s->token_ = Tcl_CreateObjCommand(owner.interp(), s->name_.c_str(), command, s, deleted);
  return s;
}

void ServiceObject::remove() {
  if (token_ == nullptr) return;
  Tcl_Command t = token_;
  token_ = nullptr;
  Tcl_DeleteCommandFromToken(interp_, t);
}

void ServiceObject::deleted(ClientData data) {
  auto* s = static_cast<ServiceObject*>(data);
  if (s->owner_ != nullptr) s->owner_->forget_service(s);
  delete s;
}

int ServiceObject::command(ClientData data, Tcl_Interp* interp, int objc, Tcl_Obj* const objv[]) {
  auto* s = static_cast<ServiceObject*>(data);
  if (s->owner_ == nullptr) return guard(interp, [&] { return s->call(interp, objc, objv); });
  return s->owner_->enter([&] { return s->call(interp, objc, objv); });
}

int ServiceObject::call(Tcl_Interp* ip, int objc, Tcl_Obj* const objv[]) {
  if (objc < 2) usage(ip, objc, objv, 1, "method ?arg ...?");
  const std::string m = text(objv[1]);
  const ServiceInfo i = info();
  Tcl_Obj* r = nullptr;
  const auto none = [&] {
    if (objc != 2) usage(ip, objc, objv, 2, "");
  };
  if (m == "sid") none(), r = str(i.sid);
  else if (m == "hid") none(), r = str(i.hid);
  else if (m == "uuid") none(), r = str(i.uuid);
  else if (m == "ip") none(), r = str(i.ip);
  else if (m == "tags") none(), r = list(i.tags);
  else if (m == "local") none(), r = Tcl_NewBooleanObj(i.local ? 1 : 0);
  else if (m == "protocols") none(), r = list(i.protocols);
  else if (m == "props") none(), r = props_obj(i);
  else if (m == "last_seen") none(), r = last_seen_obj(i);
  else if (m == "alive") none(), r = Tcl_NewBooleanObj(ptr_ && ptr_->alive() ? 1 : 0);
  else if (m == "found_by") none(), r = str(i.found_by);
  else if (m == "proto_props") {
    if (objc != 3) usage(ip, objc, objv, 2, "protocol");
    const Dict* d = i.props_for(text(objv[2]));
    r = d != nullptr ? dict_obj(*d) : Tcl_NewObj();
  } else if (m == "info") {
    none();
    r = Tcl_NewDictObj();
    const auto put = [&](const char* k, Tcl_Obj* v) { Tcl_DictObjPut(nullptr, r, Tcl_NewStringObj(k, -1), v); };
    put("last_seen", last_seen_obj(i));
    put("address", str(i.ip));
    put("props", props_obj(i));
    put("system_id", str(i.hid));
    put("service_id", str(i.sid));
    put("tags", list(i.tags));
    put("protocols", list(i.protocols));
    put("local", Tcl_NewBooleanObj(i.local ? 1 : 0));
    put("uuid", str(i.uuid));
  } else if (m == "resolve") {
    if (objc < 3 || objc > 4) usage(ip, objc, objv, 2, "tag ?modifier?");
    Resolver res;
    res.terms = {text(objv[2])};
    if (objc == 4) res.match = match_of(text(objv[3]));
    r = Tcl_NewBooleanObj(res.matches(i) ? 1 : 0);
  } else if (m == "resolver") {
    if (objc < 3 || objc > 5) usage(ip, objc, objv, 2, "tags ?modifier? ?operator?");
    Resolver res;
    res.terms = elements(ip, objv[2]);
    res.mode = Resolver::Mode::has;
    if (objc >= 4) res.match = match_of(text(objv[3]));
    if (objc == 5) res.mode = mode_of(text(objv[4]));
    r = Tcl_NewBooleanObj(res.matches(i) ? 1 : 0);
  } else if (m == "send") {
    if (objc < 3 || objc > 4) usage(ip, objc, objv, 2, "data ?channel?");
    if (!ptr_) fail("service " + uuid_ + " was never admitted", {"SERVICE", "GONE"});
    const long long ch = objc == 4 ? non_negative(ip, objv[3], "channel") : 0;
    const sdk::Result res = ptr_->send(text(objv[2]), static_cast<std::uint64_t>(ch));
    if (!res) fail(res.message(), {"SERVICE", "SEND"});
    r = Tcl_NewIntObj(1);
  } else if (m == "query") {
    if (objc < 3) usage(ip, objc, objv, 2, "?-command cmd? ?-timeout ms? ?-id id? ?-collect? ?-channel n? ?-protocols list? query");
    if (owner_ == nullptr || !ptr_) fail("service " + uuid_ + ": the cluster is gone", {"SERVICE", "GONE"});
    const auto opts = options(objc - 1, objv, 2, {"-collect"},
                              {"-id", "-command", "-timeout", "-channel", "-protocols"}, "query");
    QueryOptions q;
    Tcl_Obj* command = nullptr;
    bool collect = false;
    for (const auto& op : opts) {
      if (op.name == "-collect") collect = true;
      else if (op.name == "-id") q.id = text(op.value);
      else if (op.name == "-command") command = op.value;
      else if (op.name == "-timeout") q.timeout = std::chrono::milliseconds(non_negative(ip, op.value, "-timeout"));
      else if (op.name == "-channel") q.channel = static_cast<std::uint64_t>(non_negative(ip, op.value, "-channel"));
      else if (op.name == "-protocols") q.protocols = elements(ip, op.value);
    }
    q.collect = collect;
    auto qo = QueryObject::create(*owner_, command, collect);
    q.command = qo->callback();
    qo->started(ptr_->query(text(objv[objc - 1]), std::move(q)));
    r = str(qo->name());
  } else {
    fail("unknown method \"" + m +
             "\": must be alive, found_by, hid, info, ip, last_seen, local, props, proto_props, protocols, query, "
             "resolve, resolver, send, sid, tags or uuid",
         {"ARGS", "METHOD"});
  }
  Tcl_SetObjResult(ip, r);
  return TCL_OK;
}

}  // namespace cluster::tclbind
