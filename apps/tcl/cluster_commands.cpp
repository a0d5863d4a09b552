// The methods of $cluster (the seed's API reference, "$cluster Commands Reference").
#include <algorithm>
#include <map>

#include "cluster_object.hpp"
#include "payload_dict.hpp"
#include "query_object.hpp"
#include "resolve.hpp"
#include "service_object.hpp"

namespace cluster::tclbind {
namespace {

using Args = Tcl_Obj* const*;
using Method = int (*)(ClusterObject&, Tcl_Interp*, int, Args);

Tcl_Obj* services_list(ClusterObject& o, const std::vector<ServicePtr>& set) {
  Tcl_Obj* l = Tcl_NewListObj(0, nullptr);
  for (const auto& s : set) Tcl_ListObjAppendElement(nullptr, l, str(o.service_command(s)));
  return l;
}

std::vector<std::string> words(int objc, Args objv, int from) {
  std::vector<std::string> w;
  for (int i = from; i < objc; ++i) w.push_back(text(objv[i]));
  return w;
}

void no_more(Tcl_Interp* ip, int objc, Args objv, int max, const char* args) {
  if (objc > max) usage(ip, objc, objv, 2, args);
}

// -services/-resolve/-resolver of send and query, as the seed combines them (deduplicated).
std::vector<ServicePtr> targets(ClusterObject& o, Tcl_Interp* ip, const std::vector<Option>& opts) {
  std::vector<ServicePtr> out;
  const auto add = [&](const std::vector<ServicePtr>& more) {
    for (const auto& s : more)
      if (std::none_of(out.begin(), out.end(), [&](const ServicePtr& x) { return x->uuid() == s->uuid(); }))
        out.push_back(s);
  };
  for (const auto& op : opts) {
    if (op.name == "-services") {
      for (const auto& name : elements(ip, op.value)) {
        ServicePtr s = o.service_by_command(name);
        if (!s) fail("not a service of this cluster: " + name, {"ARGS", "SERVICE"});
        add({s});
      }
    } else if (op.name == "-resolve") {
      add(resolve_all(o, elements(ip, op.value)));
    } else if (op.name == "-resolver") {
      add(resolver(o, ip, elements(ip, op.value)));
    }
  }
  return out;
}

int m_heartbeat(ClusterObject& o, Tcl_Interp* ip, int objc, Args objv) {
  no_more(ip, objc, objv, 5, "?props? ?tags? ?channel?");
  // The seed's props/tags arguments ask for a full heartbeat; we send props and tags together.
  bool full = false;
  if (objc > 2 && !elements(ip, objv[2]).empty()) full = true;
  if (objc > 3 && boolean(ip, objv[3], "tags")) full = true;
  o.cluster().heartbeat(full);
  return TCL_OK;
}

int m_discover(ClusterObject& o, Tcl_Interp* ip, int objc, Args objv) {
  no_more(ip, objc, objv, 2, "");
  o.cluster().discover();
  Tcl_SetObjResult(ip, Tcl_NewIntObj(1));
  return TCL_OK;
}

int m_broadcast(ClusterObject& o, Tcl_Interp* ip, int objc, Args objv) {
  if (objc != 3) usage(ip, objc, objv, 2, "payload");
  Payload p;
  payload_from_dict(ip, objv[2], p);
  const sdk::Result r = o.cluster().broadcast(std::move(p));
  Tcl_SetObjResult(ip, Tcl_NewIntObj(r ? 1 : 0));
  return TCL_OK;
}

int m_send(ClusterObject& o, Tcl_Interp* ip, int objc, Args objv) {
  const auto opts = options(objc, objv, 2, {},
                            {"-services", "-resolve", "-resolver", "-protocols", "-channel", "-data", "-broadcast"},
                            "send");
  SendFlags flags;
  std::string data;
  for (const auto& op : opts) {
    if (op.name == "-protocols") flags.protocols = elements(ip, op.value);
    else if (op.name == "-channel") flags.channel = static_cast<std::uint64_t>(non_negative(ip, op.value, "-channel"));
    else if (op.name == "-data") data = text(op.value);
    else if (op.name == "-broadcast" && !text(op.value).empty()) flags.allow_multicast = boolean(ip, op.value, "-broadcast");
  }
  const auto to = targets(o, ip, opts);
  const std::size_t n = to.empty() ? 0 : o.cluster().send(to, data, flags);
  Tcl_SetObjResult(ip, Tcl_NewWideIntObj(static_cast<Tcl_WideInt>(n)));
  return TCL_OK;
}

int m_query(ClusterObject& o, Tcl_Interp* ip, int objc, Args objv) {
  const auto opts = options(objc, objv, 2, {"-collect"},
                            {"-id", "-resolve", "-resolver", "-services", "-command", "-query", "-timeout", "-broadcast",
                             "-channel", "-protocols", "-props"},
                            "query");
  QueryOptions q;
  Tcl_Obj* command = nullptr;
  bool collect = false, has_query = false, has_targets = false;
  for (const auto& op : opts) {
    if (op.name == "-collect") collect = true;
    else if (op.name == "-id") q.id = text(op.value);
    else if (op.name == "-command") command = op.value;
    else if (op.name == "-query") q.query = text(op.value), has_query = true;
    else if (op.name == "-timeout") q.timeout = std::chrono::milliseconds(non_negative(ip, op.value, "-timeout"));
    else if (op.name == "-broadcast") q.broadcast = boolean(ip, op.value, "-broadcast");
    else if (op.name == "-channel") q.channel = static_cast<std::uint64_t>(non_negative(ip, op.value, "-channel"));
    else if (op.name == "-protocols") q.protocols = elements(ip, op.value);
    else has_targets = has_targets || op.name != "-props";
  }
  if (!has_targets) fail("query: you must provide -resolve or -resolver", {"QUERY", "NO_RESOLVE"});
  if (!has_query) fail("query: no -query was given", {"QUERY", "NO_QUERY"});
  const auto to = targets(o, ip, opts);
  if (to.empty()) return TCL_OK;  // as the seed: no services, no query object (empty result)
  for (const auto& s : to) q.resolve.push_back(s->uuid());
  auto qo = QueryObject::create(o, command, collect);
  q.collect = collect;
  q.command = qo->callback();
  qo->started(o.cluster().query(std::move(q)));
  Tcl_SetObjResult(ip, str(qo->name()));
  return TCL_OK;
}

int m_resolve(ClusterObject& o, Tcl_Interp* ip, int objc, Args objv) {
  std::vector<std::string> terms;
  for (int i = 2; i < objc; ++i)
    for (auto& t : elements(ip, objv[i])) terms.push_back(t);
  Tcl_SetObjResult(ip, services_list(o, terms.empty() ? std::vector<ServicePtr>{} : resolve_all(o, terms)));
  return TCL_OK;
}

int m_resolver(ClusterObject& o, Tcl_Interp* ip, int objc, Args objv) {
  Tcl_SetObjResult(ip, services_list(o, resolver(o, ip, words(objc, objv, 2))));
  return TCL_OK;
}

int m_resolve_self(ClusterObject& o, Tcl_Interp* ip, int objc, Args objv) {
  if (objc < 3 || objc > 4) usage(ip, objc, objv, 2, "tag ?modifier?");
  Resolver r;
  r.terms = {text(objv[2])};
  if (objc == 4) r.match = match_of(text(objv[3]));
  Tcl_SetObjResult(ip, Tcl_NewIntObj(o.cluster().resolve_self(r) ? 1 : 0));
  return TCL_OK;
}

int m_tags(ClusterObject& o, Tcl_Interp* ip, int objc, Args objv) {
  Cluster& c = o.cluster();
  std::string action = "append";
  for (int i = 2; i < objc; ++i) {
    const std::string a = text(objv[i]);
    if (!a.empty() && a[0] == '-') {
      action = a.substr(1);
      if (action != "append" && action != "lappend" && action != "remove" && action != "replace" && action != "map" &&
          action != "mappend")
        fail("tags: unknown action \"" + a + "\": should be -append, -remove, -replace, -map or -mappend",
             {"ARGS", "TAGS"});
      continue;
    }
    try {
      if (action == "append" || action == "lappend") {
        if (!a.empty()) c.tags_append({a});
      } else if (action == "remove") {
        c.tags_remove({a});
      } else if (action == "replace") {
        c.tags_replace(elements(ip, objv[i]));
        action = "append";  // as the seed: tags after the replacement are appended
      } else {
        const auto pair = elements(ip, objv[i]);
        if (pair.size() != 2) fail("tags -" + action + ": expects {from to}, got \"" + a + "\"", {"ARGS", "TAGS"});
        if (action == "map") {
          if (!pair[1].empty()) c.tags_map({{pair[0], pair[1]}});  // the seed ignores an empty target
        } else {
          c.tags_mappend({{pair[0], pair[1]}});
        }
      }
    } catch (const std::invalid_argument& e) {
      fail(std::string("tags: ") + e.what(), {"TAGS", "INVALID"});
    }
  }
  Tcl_SetObjResult(ip, list(c.tags()));
  return TCL_OK;
}

int m_channel(ClusterObject& o, Tcl_Interp* ip, int objc, Args objv) {
  if (objc != 4) usage(ip, objc, objv, 2, "subscribe|unsubscribe channels");
  const std::string action = text(objv[2]);
  int n = 0;
  Tcl_Obj** v = nullptr;
  if (Tcl_ListObjGetElements(ip, objv[3], &n, &v) != TCL_OK) fail("channel: not a list", {"ARGS"});
  const bool join = action == "subscribe" || action == "enter" || action == "join" || action == "add";
  const bool leave = action == "unsubscribe" || action == "exit" || action == "leave" || action == "remove";
  if (!join && !leave) fail("channel: unknown action \"" + action + "\": should be subscribe or unsubscribe", {"ARGS"});
  for (int i = 0; i < n; ++i) {
    const long long ch = non_negative(ip, v[i], "channel");
    if (join) o.cluster().subscribe(static_cast<std::uint64_t>(ch));
    else if (!o.cluster().unsubscribe(static_cast<std::uint64_t>(ch)))
      fail("You may not leave the default channels 0-2", {"CHANNEL", "DEFAULT"});
  }
  return TCL_OK;
}

int m_channels(ClusterObject& o, Tcl_Interp* ip, int, Args) {
  Tcl_Obj* l = Tcl_NewListObj(0, nullptr);
  for (auto ch : o.cluster().channels()) Tcl_ListObjAppendElement(nullptr, l, Tcl_NewWideIntObj(static_cast<Tcl_WideInt>(ch)));
  Tcl_SetObjResult(ip, l);
  return TCL_OK;
}

int m_services(ClusterObject& o, Tcl_Interp* ip, int, Args) {
  Tcl_SetObjResult(ip, services_list(o, o.cluster().services()));
  return TCL_OK;
}

int m_known_services(ClusterObject& o, Tcl_Interp* ip, int, Args) {
  Tcl_SetObjResult(ip, Tcl_NewWideIntObj(static_cast<Tcl_WideInt>(o.cluster().known_services())));
  return TCL_OK;
}

int m_config(ClusterObject& o, Tcl_Interp* ip, int objc, Args objv) {
  const Options& c = o.cluster().config();
  Tcl_Obj* d = Tcl_NewDictObj();
  const auto put = [&](const char* k, Tcl_Obj* v) { Tcl_DictObjPut(nullptr, d, Tcl_NewStringObj(k, -1), v); };
  put("address", str(c.address));
  put("port", Tcl_NewIntObj(c.port));
  put("ttl", Tcl_NewWideIntObj(static_cast<Tcl_WideInt>(std::chrono::duration_cast<std::chrono::seconds>(c.ttl).count())));
  put("heartbeat", Tcl_NewWideIntObj(static_cast<Tcl_WideInt>(c.heartbeat.count())));
  put("protocols", list(c.protocols));
  Tcl_Obj* ch = Tcl_NewListObj(0, nullptr);
  for (auto n : c.channels) Tcl_ListObjAppendElement(nullptr, ch, Tcl_NewWideIntObj(static_cast<Tcl_WideInt>(n)));
  put("channels", ch);
  put("remote", Tcl_NewIntObj(static_cast<int>(c.remote)));
  put("tags", list(o.cluster().tags()));
  put("hid", str(o.cluster().hid()));
  put("label", str(c.label));
  Tcl_Obj* result = d;
  Tcl_IncrRefCount(d);
  for (int i = 2; i < objc; ++i) {
    Tcl_Obj* v = nullptr;
    if (Tcl_DictObjGet(ip, result, objv[i], &v) != TCL_OK || v == nullptr) {
      Tcl_DecrRefCount(d);
      fail("config: no key \"" + text(objv[i]) + "\"", {"ARGS", "CONFIG"});
    }
    result = v;
  }
  Tcl_SetObjResult(ip, result);
  Tcl_DecrRefCount(d);
  return TCL_OK;
}

int m_ttl(ClusterObject& o, Tcl_Interp* ip, int, Args) {
  Tcl_SetObjResult(ip, Tcl_NewWideIntObj(static_cast<Tcl_WideInt>(
                           std::chrono::duration_cast<std::chrono::seconds>(o.cluster().ttl()).count())));
  return TCL_OK;
}

int m_uuid(ClusterObject& o, Tcl_Interp* ip, int, Args) {
  Tcl_SetObjResult(ip, str(o.cluster().uuid()));
  return TCL_OK;
}
int m_hid(ClusterObject& o, Tcl_Interp* ip, int, Args) {
  Tcl_SetObjResult(ip, str(o.cluster().hid()));
  return TCL_OK;
}
int m_sid(ClusterObject& o, Tcl_Interp* ip, int, Args) {
  Tcl_SetObjResult(ip, str(o.cluster().sid()));
  return TCL_OK;
}
int m_protocols(ClusterObject& o, Tcl_Interp* ip, int, Args) {
  Tcl_SetObjResult(ip, list(o.cluster().config().protocols));
  return TCL_OK;
}

int m_hook(ClusterObject& o, Tcl_Interp* ip, int objc, Args objv) {
  if (objc < 4) usage(ip, objc, objv, 2, "point ?...? body");
  std::vector<std::string> path = words(objc - 1, objv, 2);
  o.set_hook(path, objv[objc - 1]);
  return TCL_OK;
}

int m_hooks(ClusterObject& o, Tcl_Interp* ip, int, Args) {
  Tcl_SetObjResult(ip, o.hook_list());
  return TCL_OK;
}

int m_counters(ClusterObject& o, Tcl_Interp* ip, int, Args) {
  const Counters c = o.cluster().counters();
  Tcl_Obj* d = Tcl_NewDictObj();
  const auto put = [&](const char* k, std::uint64_t v) {
    Tcl_DictObjPut(nullptr, d, Tcl_NewStringObj(k, -1), Tcl_NewWideIntObj(static_cast<Tcl_WideInt>(v)));
  };
  put("received", c.received);
  put("sent", c.sent);
  put("dropped_hook", c.dropped_hook);
  put("dropped_channel", c.dropped_channel);
  put("dropped_remote", c.dropped_remote);
  put("dropped_departed", c.dropped_departed);
  put("send_failures", c.send_failures);
  Tcl_SetObjResult(ip, d);
  return TCL_OK;
}

int m_destroy(ClusterObject& o, Tcl_Interp*, int, Args) {
  o.destroy();  // leaves once nothing of it runs any more
  return TCL_OK;
}

const std::map<std::string, Method>& methods() {
  static const std::map<std::string, Method> m = {
      {"heartbeat", m_heartbeat},   {"discover", m_discover},       {"broadcast", m_broadcast},
      {"send", m_send},             {"query", m_query},             {"resolve", m_resolve},
      {"resolver", m_resolver},     {"resolve_self", m_resolve_self}, {"tags", m_tags},
      {"channel", m_channel},       {"channels", m_channels},       {"services", m_services},
      {"known_services", m_known_services}, {"config", m_config},   {"ttl", m_ttl},
      {"uuid", m_uuid},             {"hid", m_hid},                 {"sid", m_sid},
      {"protocols", m_protocols},   {"hook", m_hook},               {"hooks", m_hooks},
      {"counters", m_counters},     {"destroy", m_destroy},         {"leave", m_destroy}};
  return m;
}

}  // namespace

int cluster_method(ClusterObject& o, Tcl_Interp* interp, int objc, Tcl_Obj* const objv[]) {
  if (objc < 2) usage(interp, objc, objv, 1, "method ?arg ...?");
  if (o.doomed()) fail("cluster " + o.name() + " is being deleted", {"GONE"});
  const std::string name = text(objv[1]);
  auto it = methods().find(name);
  if (it == methods().end()) {
    std::string all;
    for (const auto& [k, v] : methods()) all += (all.empty() ? "" : ", ") + k;
    fail("unknown method \"" + name + "\": must be " + all, {"ARGS", "METHOD"});
  }
  return it->second(o, interp, objc, objv);
}

}  // namespace cluster::tclbind
