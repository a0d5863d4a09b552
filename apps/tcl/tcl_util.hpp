// Small helpers at the boundary between Tcl and C++: results, errors with -errorcode, lists.
#pragma once

#include <tcl.h>

#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace cluster::tclbind {

/// Owns one reference to a Tcl_Obj (Tcl objects are refcounted; this keeps the counts right).
class ObjRef {
 public:
  ObjRef() = default;
  explicit ObjRef(Tcl_Obj* o) : obj_(o) {
    if (obj_ != nullptr) Tcl_IncrRefCount(obj_);
  }
  ObjRef(const ObjRef& o) : ObjRef(o.obj_) {}
  ObjRef& operator=(const ObjRef& o) {
    ObjRef copy(o);
    std::swap(obj_, copy.obj_);
    return *this;
  }
  ~ObjRef() {
    if (obj_ != nullptr) Tcl_DecrRefCount(obj_);
  }
  Tcl_Obj* get() const noexcept { return obj_; }

 private:
  Tcl_Obj* obj_ = nullptr;
};

/// Tcl_Preserve for a scope (an object, or an interpreter), released however it ends.
class Preserve {
 public:
  explicit Preserve(ClientData o) : o_(o) { Tcl_Preserve(o_); }
  ~Preserve() { Tcl_Release(o_); }
  Preserve(const Preserve&) = delete;
  Preserve& operator=(const Preserve&) = delete;

 private:
  ClientData o_;
};

/// The interpreter's result and error state saved for a scope (a hook or callback runs inside
/// whoever runs the event loop), restored however it ends.
class SavedState {
 public:
  explicit SavedState(Tcl_Interp* ip) : ip_(ip), state_(Tcl_SaveInterpState(ip, TCL_OK)) {}
  ~SavedState() { Tcl_RestoreInterpState(ip_, state_); }
  SavedState(const SavedState&) = delete;
  SavedState& operator=(const SavedState&) = delete;

 private:
  Tcl_Interp* ip_;
  Tcl_InterpState state_;
};

/// A Tcl error with an -errorcode list: {CLUSTER <kind> ...}. Thrown inside command bodies;
/// guard() turns it (and every other exception) into TCL_ERROR.
struct TclError {
  std::string message;
  std::vector<std::string> code;  ///< after CLUSTER, e.g. {ARGS} or {HOOK UNKNOWN}
};
[[noreturn]] void fail(std::string message, std::vector<std::string> code);

/// Runs a command body: returns its code, or TCL_ERROR with the message and -errorcode of a
/// TclError, a ConfigError (CLUSTER CONFIG), a PluginError (CLUSTER PLUGIN <code>),
/// std::invalid_argument (CLUSTER ARGS) or any other exception (CLUSTER INTERNAL).
int guard(Tcl_Interp* interp, const std::function<int()>& body) noexcept;

Tcl_Obj* str(std::string_view s);
Tcl_Obj* list(const std::vector<std::string>& items);
std::string text(Tcl_Obj* o);
std::vector<std::string> elements(Tcl_Interp* interp, Tcl_Obj* o);
long long integer(Tcl_Interp* interp, Tcl_Obj* o, const char* what);
bool boolean(Tcl_Interp* interp, Tcl_Obj* o, const char* what);
/// An integer >= 0 (a channel, a timeout): a negative one is CLUSTER ARGS VALUE.
long long non_negative(Tcl_Interp* interp, Tcl_Obj* o, const char* what);

/// Wrong number of arguments: the usual Tcl message, with -errorcode {CLUSTER ARGS}.
[[noreturn]] void usage(Tcl_Interp* interp, int objc, Tcl_Obj* const objv[], int first, const char* args);

/// `-name value` pairs (and flags without value): splits objv[from..] into options.
struct Option {
  std::string name;
  Tcl_Obj* value = nullptr;  ///< null for a flag
};
std::vector<Option> options(int objc, Tcl_Obj* const objv[], int from, const std::vector<std::string>& flags,
                            const std::vector<std::string>& known, const char* command);

}  // namespace cluster::tclbind
