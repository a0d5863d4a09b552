#include "tcl_util.hpp"

#include <stdexcept>

#include "cluster/ini.hpp"
#include "cluster/plugin_manager.hpp"

namespace cluster::tclbind {

void fail(std::string message, std::vector<std::string> code) { throw TclError{std::move(message), std::move(code)}; }

namespace {

int set_error(Tcl_Interp* interp, const std::string& message, std::vector<std::string> code) {
  code.insert(code.begin(), "CLUSTER");
  Tcl_SetObjResult(interp, str(message));
  Tcl_SetObjErrorCode(interp, list(code));
  return TCL_ERROR;
}

}  // namespace

int guard(Tcl_Interp* interp, const std::function<int()>& body) noexcept {
  try {
    try {
      return body();
    } catch (const TclError& e) {
      return set_error(interp, e.message, e.code);
    } catch (const PluginError& e) {
      return set_error(interp, e.what(), {"PLUGIN", std::string(plugin_errc_name(e.code()))});
    } catch (const ConfigError& e) {
      return set_error(interp, e.what(), {"CONFIG"});
    } catch (const std::invalid_argument& e) {
      return set_error(interp, e.what(), {"ARGS"});
    } catch (const std::exception& e) {
      return set_error(interp, e.what(), {"INTERNAL"});
    } catch (...) {
      return set_error(interp, "unknown C++ exception", {"INTERNAL"});
    }
  } catch (...) {  // allocation failed while reporting: never let it reach Tcl's C frames
    return TCL_ERROR;
  }
}

Tcl_Obj* str(std::string_view s) { return Tcl_NewStringObj(s.data(), static_cast<int>(s.size())); }

Tcl_Obj* list(const std::vector<std::string>& items) {
  Tcl_Obj* l = Tcl_NewListObj(0, nullptr);
  for (const auto& i : items) Tcl_ListObjAppendElement(nullptr, l, str(i));
  return l;
}

std::string text(Tcl_Obj* o) {
  int n = 0;
  const char* s = Tcl_GetStringFromObj(o, &n);
  return std::string(s, static_cast<std::size_t>(n));
}

std::vector<std::string> elements(Tcl_Interp* interp, Tcl_Obj* o) {
  const ObjRef hold(o);  // `o` may be a fresh object (refcount 0)
  int n = 0;
  Tcl_Obj** v = nullptr;
  if (Tcl_ListObjGetElements(interp, o, &n, &v) != TCL_OK) fail("not a list: " + text(o), {"ARGS"});
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(text(v[i]));
  return out;
}

long long integer(Tcl_Interp* interp, Tcl_Obj* o, const char* what) {
  Tcl_WideInt w = 0;
  if (Tcl_GetWideIntFromObj(interp, o, &w) != TCL_OK)
    fail(std::string(what) + ": expected an integer but got \"" + text(o) + "\"", {"ARGS"});
  return static_cast<long long>(w);
}

long long non_negative(Tcl_Interp* interp, Tcl_Obj* o, const char* what) {
  const long long v = integer(interp, o, what);
  if (v < 0) fail(std::string(what) + ": expected a number >= 0 but got \"" + text(o) + "\"", {"ARGS", "VALUE"});
  return v;
}

bool boolean(Tcl_Interp* interp, Tcl_Obj* o, const char* what) {
  int b = 0;
  if (Tcl_GetBooleanFromObj(interp, o, &b) != TCL_OK)
    fail(std::string(what) + ": expected a boolean but got \"" + text(o) + "\"", {"ARGS"});
  return b != 0;
}

void usage(Tcl_Interp* interp, int objc, Tcl_Obj* const objv[], int first, const char* args) {
  (void)objc;
  Tcl_WrongNumArgs(interp, first, objv, args);
  fail(text(Tcl_GetObjResult(interp)), {"ARGS"});
}

std::vector<Option> options(int objc, Tcl_Obj* const objv[], int from, const std::vector<std::string>& flags,
                            const std::vector<std::string>& known, const char* command) {
  std::vector<Option> out;
  const auto listed = [](const std::vector<std::string>& v, const std::string& s) {
    for (const auto& e : v)
      if (e == s) return true;
    return false;
  };
  for (int i = from; i < objc; ++i) {
    const std::string name = text(objv[i]);
    if (listed(flags, name)) {
      out.push_back({name, nullptr});
      continue;
    }
    if (!listed(known, name)) {
      std::string all;
      for (const auto& k : known) all += (all.empty() ? "" : ", ") + k;
      for (const auto& k : flags) all += (all.empty() ? "" : ", ") + k;
      fail(std::string(command) + ": unknown option \"" + name + "\", should be one of " + all, {"ARGS", "OPTION"});
    }
    if (i + 1 >= objc) fail(std::string(command) + ": option \"" + name + "\" needs a value", {"ARGS", "VALUE"});
    out.push_back({name, objv[++i]});
  }
  return out;
}

}  // namespace cluster::tclbind
