#include "cluster/bpacket/status.hpp"

namespace cluster::bpacket {

std::string Status::message() const {
  std::string m;
  switch (code_) {
    case Errc::ok: return "ok";
    case Errc::stopped: m = "stopped by visitor"; break;
    case Errc::bad_header: m = "bad header (expected c0 8d)"; break;
    case Errc::bad_footer: m = "bad footer (expected 00 00)"; break;
    case Errc::incomplete: m = "incomplete packet"; break;
    case Errc::truncated_varint: m = "truncated varint"; break;
    case Errc::varint_overflow: m = "varint overflow"; break;
    case Errc::length_overrun: m = "length overrun"; break;
    case Errc::unknown_field: return "unknown field id " + std::to_string(detail_);
    case Errc::too_large:
      return "packet too large (limit " + std::to_string(detail_) + " bytes)";
    case Errc::bad_value: m = "bad value"; break;
  }
  if (field_ != 0) m += " (field " + std::to_string(field_) + ")";
  return m;
}

}  // namespace cluster::bpacket
