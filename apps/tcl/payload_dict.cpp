#include "payload_dict.hpp"

#include <string>

#include "tcl_util.hpp"

namespace cluster::tclbind {
namespace {

void put(Tcl_Obj* d, const char* key, Tcl_Obj* value) { Tcl_DictObjPut(nullptr, d, Tcl_NewStringObj(key, -1), value); }

Tcl_Obj* wide(std::uint64_t v) { return Tcl_NewWideIntObj(static_cast<Tcl_WideInt>(v)); }

std::uint64_t unsigned_value(Tcl_Interp* interp, Tcl_Obj* o, const std::string& key) {
  const long long v = integer(interp, o, ("payload " + key).c_str());
  if (v < 0) fail("payload " + key + ": must not be negative", {"PAYLOAD"});
  return static_cast<std::uint64_t>(v);
}

}  // namespace

Tcl_Obj* payload_to_dict(const Payload& p) {
  Tcl_Obj* d = Tcl_NewDictObj();
  if (p.type.has()) put(d, "type", wide(*p.type));
  if (p.channel.has()) put(d, "channel", wide(*p.channel));
  if (p.hid.has()) put(d, "hid", str(*p.hid));
  if (p.sid.has()) put(d, "sid", str(*p.sid));
  if (p.known.has()) put(d, "known", wide(*p.known));
  if (p.timestamp.has()) put(d, "timestamp", wide(*p.timestamp));
  if (p.protocols.has()) put(d, "protocols", list(*p.protocols));
  if (p.ruid.has()) put(d, "ruid", str(*p.ruid));
  if (p.op.has()) put(d, "op", str(*p.op));
  if (p.data.has()) put(d, "data", str(*p.data));
  if (p.raw.has()) put(d, "raw", Tcl_NewByteArrayObj(reinterpret_cast<const unsigned char*>(p.raw->data()),
                                                       static_cast<int>(p.raw->size())));
  if (p.tags.has()) put(d, "tags", list(*p.tags));
  if (p.keepalive.has()) put(d, "keepalive", Tcl_NewBooleanObj(*p.keepalive ? 1 : 0));
  if (p.filter.has()) put(d, "filter", list(*p.filter));
  if (p.error.has()) put(d, "error", str(*p.error));
  return d;
}

void payload_from_dict(Tcl_Interp* interp, Tcl_Obj* dict, Payload& p) {
  Tcl_DictSearch search;
  Tcl_Obj* key = nullptr;
  Tcl_Obj* value = nullptr;
  int done = 0;
  if (Tcl_DictObjFirst(interp, dict, &search, &key, &value, &done) != TCL_OK)
    fail("payload is not a dict: " + text(dict), {"PAYLOAD"});
  Payload out;
  try {
    for (; done == 0; Tcl_DictObjNext(&search, &key, &value, &done)) {
      const std::string k = text(key);
      if (k == "type") out.type = unsigned_value(interp, value, k);
      else if (k == "channel") out.channel = unsigned_value(interp, value, k);
      else if (k == "hid") out.hid = text(value);
      else if (k == "sid") out.sid = text(value);
      else if (k == "known") out.known = unsigned_value(interp, value, k);
      else if (k == "timestamp") out.timestamp = unsigned_value(interp, value, k);
      else if (k == "protocols") out.protocols = elements(interp, value);
      else if (k == "ruid") out.ruid = text(value);
      else if (k == "op") out.op = text(value);
      else if (k == "data") out.data = text(value);
      else if (k == "raw") {
        int n = 0;
        const unsigned char* b = Tcl_GetByteArrayFromObj(value, &n);
        out.raw = std::string(reinterpret_cast<const char*>(b), static_cast<std::size_t>(n));
      } else if (k == "tags") out.tags = elements(interp, value);
      else if (k == "keepalive") out.keepalive = boolean(interp, value, "payload keepalive");
      else if (k == "filter") out.filter = elements(interp, value);
      else if (k == "error") out.error = text(value);
      else fail("payload: unknown field \"" + k + "\" (type channel hid sid known timestamp protocols ruid op data raw tags keepalive filter error)", {"PAYLOAD"});
    }
  } catch (...) {
    Tcl_DictObjDone(&search);
    throw;
  }
  Tcl_DictObjDone(&search);
  p = std::move(out);
}

}  // namespace cluster::tclbind
