// `$cluster hook <path...> <body>`: the seed's hook points on the core's HookPoints, and the
// evaluation of a body the way the seed runs it (in a frame of its own with $cluster, $service,
// $payload, $data, ... and `my`), its outcome turned into a Verdict.
#include <optional>

#include "cluster_object.hpp"
#include "payload_dict.hpp"
#include "service_object.hpp"

namespace cluster::tclbind {

struct ClusterObject::HookScript {
  HookPoint point;
  ObjRef body;
  std::string path;
};

namespace {

enum class Kind { filter, query, notification };

Kind kind_of(HookPoint p) {
  switch (p) {
    case HookPoint::query:
      return Kind::query;
    case HookPoint::event:
    case HookPoint::broadcast:
    case HookPoint::tags_changed:
    case HookPoint::service_discovered:
    case HookPoint::service_lost:
      return Kind::notification;
    default:
      return Kind::filter;
  }
}

// Hooks the seed runs from a service's method: there `my` is the service.
bool service_context(HookPoint p) {
  return p == HookPoint::query || p == HookPoint::event || p == HookPoint::tags_changed ||
         p == HookPoint::service_discovered;
}

struct Target {
  HookPoint point;
  std::string scope;  ///< channel number or protocol id; "" = all
  std::string path;   ///< canonical, the key of the hook
};

// Accepts the README's spelling and the original code's: `channel receive 5` and `channel 5
// receive`, `protocol t send` and `protocol send t`, `service evaluate` and `evaluate service`.
std::vector<Target> parse_path(const std::vector<std::string>& w) {
  const auto join = [&] {
    std::string s;
    for (const auto& x : w) s += (s.empty() ? "" : " ") + x;
    return s;
  };
  const auto is_dir = [](const std::string& s) { return s == "receive" || s == "send"; };
  const std::string all = join();
  if (w.size() == 1) {
    if (w[0] == "query") return {{HookPoint::query, "", "query"}};
    if (w[0] == "event") return {{HookPoint::event, "", "event"}};
    if (w[0] == "broadcast") return {{HookPoint::broadcast, "", "broadcast"}};
  }
  if (w.size() == 2) {
    if (all == "evaluate receive") return {{HookPoint::evaluate_receive, "", all}};
    if (all == "evaluate send") return {{HookPoint::evaluate_send, "", all}};
    if (all == "evaluate service" || all == "service evaluate")
      return {{HookPoint::service_evaluate, "", "service evaluate"}};
    if (all == "service validate") return {{HookPoint::service_validate, "", all}};
    if (all == "service discovered") return {{HookPoint::service_discovered, "", all}};
    if (all == "service lost") return {{HookPoint::service_lost, "", all}};
    if (all == "tags changed") return {{HookPoint::tags_changed, "", all}};
  }
  if ((w.size() == 2 || w.size() == 3) && (w[0] == "channel" || w[0] == "protocol")) {
    std::string dir, scopes;
    if (is_dir(w[1])) {
      dir = w[1];
      if (w.size() == 3) scopes = w[2];
    } else if (w.size() == 3 && is_dir(w[2])) {
      dir = w[2];
      scopes = w[1];
    }
    if (!dir.empty()) {
      const bool channel = w[0] == "channel";
      const HookPoint p = channel ? (dir == "receive" ? HookPoint::channel_receive : HookPoint::channel_send)
                                  : (dir == "receive" ? HookPoint::protocol_receive : HookPoint::protocol_send);
      std::vector<std::string> list;
      Tcl_Obj* o = str(scopes);
      Tcl_IncrRefCount(o);
      int n = 0;
      Tcl_Obj** v = nullptr;
      const int ok = Tcl_ListObjGetElements(nullptr, o, &n, &v);
      for (int i = 0; ok == TCL_OK && i < n; ++i) list.push_back(text(v[i]));
      Tcl_DecrRefCount(o);
      if (ok != TCL_OK) fail("hook " + all + ": not a list of " + (channel ? "channels" : "protocols"), {"HOOK", "PATH"});
      std::vector<Target> out;
      if (list.empty()) out.push_back({p, "", w[0] + " " + dir});
      for (const auto& s : list) {
        if (channel && (s.empty() || s.find_first_not_of("0123456789") != std::string::npos))
          fail("hook " + all + ": \"" + s + "\" is not a channel number", {"HOOK", "PATH"});
        out.push_back({p, s, w[0] + " " + dir + " " + s});
      }
      return out;
    }
  }
  fail("unknown hook \"" + all +
           "\": should be evaluate receive|send, channel receive|send ?channels?, protocol receive|send ?protocols?, "
           "query, event, broadcast, tags changed, service evaluate|validate|discovered|lost",
       {"HOOK", "UNKNOWN"});
}

}  // namespace

void ClusterObject::set_hook(const std::vector<std::string>& path, Tcl_Obj* body) {
  const std::vector<Target> targets = parse_path(path);
  const bool remove = text(body).find_first_not_of(" \t\r\n") == std::string::npos;
  for (const auto& t : targets) {
    auto it = hooks_.find(t.path);
    if (it != hooks_.end()) {
      for (HookId id : it->second.second) cluster_->unhook(id);
      hooks_.erase(it);
    }
    if (remove) continue;
    auto script = std::make_shared<HookScript>(HookScript{t.point, ObjRef(body), t.path});
    const HookId id = cluster_->hook(
        t.point, "tcl:" + t.path, [this, script](HookContext& ctx) { return run_hook(*script, ctx); }, hook_order::user,
        t.scope);
    hooks_[t.path] = {ObjRef(body), {id}};
  }
}

Tcl_Obj* ClusterObject::hook_list() const {
  Tcl_Obj* l = Tcl_NewListObj(0, nullptr);
  for (const auto& [path, h] : hooks_) {
    Tcl_ListObjAppendElement(nullptr, l, str(path));
    Tcl_ListObjAppendElement(nullptr, l, h.first.get());
  }
  return l;
}

// A hook body runs inside the proc <cluster>::HookFrame, whose arguments are the seed's variables
// ($cluster $service $protocol $channel $local $payload $data $type $reason); the proc's body,
// the C command <cluster>::HookBody, evaluates the script in that frame and records its raw
// code (a `return` is TCL_RETURN there, before the proc turns it into TCL_OK) and what became
// of $payload and $data.
void ClusterObject::define_hook_frame() {
  my_token_ = Tcl_CreateObjCommand(interp_, (name_ + "::my").c_str(), my_command, this, on_my_deleted);
  body_token_ = Tcl_CreateObjCommand(interp_, (name_ + "::HookBody").c_str(), body_command, this, on_body_deleted);
  const std::string proc = "proc " + name_ + "::HookFrame {cluster service protocol channel local payload data type reason} HookBody";
  if (Tcl_Eval(interp_, proc.c_str()) != TCL_OK) fail("cannot define the hook frame: " + text(Tcl_GetObjResult(interp_)), {"INTERNAL"});
}

int ClusterObject::body_command(ClientData data, Tcl_Interp* ip, int, Tcl_Obj* const[]) {
  auto* o = static_cast<ClusterObject*>(data);
  return guard(ip, [&] {
    if (o->frames.empty() || o->frames.back().body == nullptr) fail("HookBody: only the cluster calls it", {"ARGS"});
    const std::size_t at = o->frames.size() - 1;
    const ObjRef body(o->frames[at].body);
    const int code = Tcl_EvalObjEx(ip, body.get(), 0);
    HookFrame& f = o->frames[at];  // nested hooks may have grown the vector meanwhile
    f.code = code;
    f.result = ObjRef(Tcl_GetObjResult(ip));
    if (code == TCL_ERROR) f.options = ObjRef(Tcl_GetReturnOptions(ip, code));
    f.payload = ObjRef(Tcl_GetVar2Ex(ip, "payload", nullptr, 0));
    f.data = ObjRef(Tcl_GetVar2Ex(ip, "data", nullptr, 0));
    Tcl_ResetResult(ip);
    return TCL_OK;
  });
}

namespace {

// Pops the hook's frame however the evaluation ends.
class FramePush {
 public:
  FramePush(std::vector<HookFrame>& frames, const HookFrame& f) : frames_(frames) { frames_.push_back(f); }
  ~FramePush() { frames_.pop_back(); }
  FramePush(const FramePush&) = delete;
  FramePush& operator=(const FramePush&) = delete;

 private:
  std::vector<HookFrame>& frames_;
};

}  // namespace

Verdict ClusterObject::run_hook(const HookScript& script, HookContext& ctx) {
  if (doomed_) return Verdict::pass;
  Tcl_Interp* ip = interp_;
  // The C++ values first (they may throw); then the object and the interpreter state are held
  // by guards, released whatever happens.
  HookFrame hf;
  hf.service_context = service_context(script.point);
  hf.body = script.body.get();
  if (ctx.service != nullptr) hf.service = service_command(*ctx.service);
  ObjRef payload_in(ctx.payload != nullptr ? payload_to_dict(*ctx.payload) : Tcl_NewObj());
  ObjRef data_in(str(ctx.payload != nullptr ? ctx.payload->data.value_or("") : std::string()));
  std::vector<ObjRef> words = {
      ObjRef(str(name_ + "::HookFrame")),
      ObjRef(str(command_name())),  // renamed: the name it has now
      ObjRef(str(hf.service)),
      ObjRef(str(ctx.protocol)),
      ObjRef(Tcl_NewWideIntObj(static_cast<Tcl_WideInt>(ctx.channel))),
      ObjRef(Tcl_NewBooleanObj(ctx.local ? 1 : 0)),
      payload_in,
      data_in,
      ObjRef(ctx.payload != nullptr ? Tcl_NewWideIntObj(static_cast<Tcl_WideInt>(ctx.payload->type.value_or(0)))
                                    : Tcl_NewObj()),
      ObjRef(str(ctx.reason))};
  std::vector<Tcl_Obj*> objv;
  for (const auto& w : words) objv.push_back(w.get());
  const Preserve keep_interp(ip);
  const Preserve keep(this);
  const SavedState saved(ip);
  int pcode = TCL_OK;
  HookFrame done;
  {
    const FramePush frame(frames, hf);
    pcode = Tcl_EvalObjv(ip, static_cast<int>(objv.size()), objv.data(), TCL_EVAL_GLOBAL);
    done = frames.back();
  }
  if (pcode != TCL_OK) {  // the frame itself failed (its proc was renamed away...)
    done.code = pcode;
    done.result = ObjRef(Tcl_GetObjResult(ip));
    if (pcode == TCL_ERROR) done.options = ObjRef(Tcl_GetReturnOptions(ip, pcode));
  }
  const int code = done.code;
  const std::string result = done.result.get() != nullptr ? text(done.result.get()) : std::string();
  Verdict v = Verdict::pass;
  const Kind kind = kind_of(script.point);
  // A rewritten $payload or $data rewrites the packet (where the point lets hooks mutate).
  std::optional<std::string> bad_payload;
  if (ctx.payload != nullptr && kind != Kind::query && pcode == TCL_OK && (code == TCL_OK || kind == Kind::notification)) {
    Tcl_Obj* p = done.payload.get();
    Tcl_Obj* d = done.data.get();
    try {
      Payload changed = *ctx.payload;
      bool modified = false;
      if (p != nullptr && p != payload_in.get() && text(p) != text(payload_in.get())) {
        payload_from_dict(ip, p, changed);
        modified = true;
      }
      if (d != nullptr && d != data_in.get() && text(d) != text(data_in.get())) {
        changed.data = text(d);
        modified = true;
      }
      if (modified) {
        *ctx.payload = std::move(changed);
        v = Verdict::modified;
      }
    } catch (const TclError& e) {
      bad_payload = e.message;
    }
  }
  switch (kind) {
    case Kind::filter:
      if (bad_payload) {
        ctx.reason = "hook " + script.path + ": " + *bad_payload;
        v = Verdict::drop;
      } else if (code != TCL_OK) {
        // error, return, break, continue: the seed stops handling the packet for all of them
        ctx.reason = code == TCL_ERROR ? "hook " + script.path + ": " + result : "dropped by hook " + script.path;
        v = Verdict::drop;
      }
      break;
    case Kind::query:
      if (code == TCL_OK || code == TCL_RETURN) {
        ctx.answer = result;
        v = Verdict::modified;
      } else {
        ctx.reason = code == TCL_ERROR ? result : "invoked \"" + std::string(code == TCL_BREAK ? "break" : "continue") + "\" outside of a loop";
        v = Verdict::drop;
      }
      break;
    case Kind::notification:
      if (code == TCL_ERROR) {
        Tcl_SetObjResult(ip, done.result.get() != nullptr ? done.result.get() : Tcl_NewObj());
        if (done.options.get() != nullptr) Tcl_SetReturnOptions(ip, done.options.get());
        Tcl_BackgroundException(ip, TCL_ERROR);
      }
      break;
  }
  // A member not admitted (service evaluate refused it) has no handle: its command goes now.
  if (!doomed_ && ctx.service != nullptr) {
    auto it = services_.find(ctx.service->uuid);
    if (it != services_.end() && !it->second->handle()) drop_service(ctx.service->uuid);
  }
  return v;
}

int ClusterObject::my_command(ClientData data, Tcl_Interp* interp, int objc, Tcl_Obj* const objv[]) {
  auto* o = static_cast<ClusterObject*>(data);
  return guard(interp, [&] {
    if (o->frames.empty()) fail("my: only inside a hook body", {"ARGS", "MY"});
    const HookFrame& f = o->frames.back();
    const ObjRef target(str(f.service_context && !f.service.empty() ? f.service : o->command_name()));
    std::vector<Tcl_Obj*> words;
    words.push_back(target.get());
    for (int i = 1; i < objc; ++i) words.push_back(objv[i]);
    return Tcl_EvalObjv(interp, static_cast<int>(words.size()), words.data(), 0);
  });
}

}  // namespace cluster::tclbind
