#include "cluster/bpacket/payload_codec.hpp"

#include <cassert>
#include <cstring>

#include "cluster/bpacket/varint.hpp"

// The cluster template is fixed (cluster.proto, PROTOCOL.md section 2; a unit test checks the
// two agree), so this file knows each field's type by its id: no template lookups, no generic
// field views, one pass over the bytes. Errors are the ones read_field reports for the same
// input, and a field is stored only once it has been read whole, as decode_body +
// assign_field would (the fuzzers compare this decoder with the generic one).

namespace cluster::bpacket {
namespace {

static_assert(kMaxClusterFieldId < 0x80, "every cluster field key must be one byte");


// ---------------------------------------------------------------- encoding

inline std::size_t bytes_size(const std::string& s) noexcept {
  return varint_size(s.size()) + s.size();
}

inline std::size_t list_size(const StringList& v) noexcept {
  std::size_t n = varint_size(v.size());
  for (const auto& s : v) n += bytes_size(s);
  return n;
}

// Body size of p as encode_payload writes it; each key is one byte.
std::size_t body_size(const Payload& p) noexcept {
  std::size_t n = 0;
  if (p.filter.has()) n += 1 + list_size(*p.filter);
  if (p.type.has()) n += 1 + varint_size(*p.type);
  if (p.channel.has()) n += 1 + varint_size(*p.channel);
  if (p.hid.has()) n += 1 + bytes_size(*p.hid);
  if (p.sid.has()) n += 1 + bytes_size(*p.sid);
  if (p.known.has()) n += 1 + varint_size(*p.known);
  if (p.timestamp.has()) n += 1 + varint_size(*p.timestamp);
  if (p.protocols.has()) n += 1 + list_size(*p.protocols);
  if (p.ruid.has()) n += 1 + bytes_size(*p.ruid);
  if (p.op.has()) n += 1 + bytes_size(*p.op);
  if (p.data.has()) n += 1 + bytes_size(*p.data);
  if (p.raw.has()) n += 1 + bytes_size(*p.raw);
  if (p.tags.has()) n += 1 + list_size(*p.tags);
  if (p.keepalive.has()) n += 2;
  if (p.error.has()) n += 1 + bytes_size(*p.error);
  return n;
}

inline std::uint8_t* put_key(std::uint8_t* w, FieldId f) noexcept {
  *w++ = static_cast<std::uint8_t>(f);
  return w;
}

inline std::uint8_t* put_bytes(std::uint8_t* w, const std::string& s) noexcept {
  w = write_varint(w, s.size());
  std::memcpy(w, s.data(), s.size());
  return w + s.size();
}

inline std::uint8_t* put_list(std::uint8_t* w, const StringList& v) noexcept {
  w = write_varint(w, v.size());
  for (const auto& s : v) w = put_bytes(w, s);
  return w;
}

// ---------------------------------------------------------------- decoding

// A length-prefixed byte run at p; errors as reader.cpp's read_bytes.
inline Status take_bytes(const std::uint8_t*& p, const std::uint8_t* end, std::uint32_t fid,
                         std::string_view& out) noexcept {
  std::uint64_t n = 0;
  if (Status s = read_varint(p, end, n); !s) return Status(s.code(), 0, fid);
  if (n > static_cast<std::uint64_t>(end - p)) return Status(Errc::length_overrun, n, fid);
  out = std::string_view(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
  p += n;
  return {};
}

inline Status take_varint(const std::uint8_t*& p, const std::uint8_t* end, std::uint32_t fid,
                          Field<std::uint64_t>& dst) noexcept {
  std::uint64_t v = 0;
  if (Status s = read_varint(p, end, v); !s) return Status(s.code(), 0, fid);
  dst = v;
  return {};
}

inline Status take_string(const std::uint8_t*& p, const std::uint8_t* end, std::uint32_t fid,
                          Field<std::string>& dst) {
  std::string_view v;
  if (Status s = take_bytes(p, end, fid, v); !s) return s;
  dst.set().assign(v.data(), v.size());
  return {};
}

inline Status take_list(const std::uint8_t*& p, const std::uint8_t* end, std::uint32_t fid,
                        Field<StringList>& dst) {
  std::uint64_t count = 0;
  if (Status s = read_varint(p, end, count); !s) return Status(s.code(), 0, fid);
  // Each element needs at least one byte: a count past the end is rejected up front.
  if (count > static_cast<std::uint64_t>(end - p)) return Status(Errc::length_overrun, count, fid);
  // Validate every element before touching dst: a broken list leaves the field as it was.
  const std::uint8_t* q = p;
  std::string_view item;
  for (std::uint64_t i = 0; i < count; ++i)
    if (Status s = take_bytes(q, end, fid, item); !s) return s;
  StringList& v = dst.set();
  v.resize(static_cast<std::size_t>(count));  // keeps element storage for reuse
  for (auto& s : v) {
    (void)take_bytes(p, end, fid, item);  // validated above
    s.assign(item.data(), item.size());
  }
  return {};
}

// Reads one field at p (advancing it) into `out`; `fid` is its id once known.
inline Status take_field(const std::uint8_t*& p, const std::uint8_t* end, Payload& out,
                         std::uint32_t& fid) {
  std::uint64_t raw_id = 0;
  if (Status s = read_varint(p, end, raw_id); !s) return s;
  if (raw_id == 0 || raw_id > kMaxClusterFieldId) return Status(Errc::unknown_field, raw_id);
  fid = static_cast<std::uint32_t>(raw_id);
  switch (static_cast<FieldId>(fid)) {
    case FieldId::type: return take_varint(p, end, fid, out.type);
    case FieldId::channel: return take_varint(p, end, fid, out.channel);
    case FieldId::hid: return take_string(p, end, fid, out.hid);
    case FieldId::sid: return take_string(p, end, fid, out.sid);
    case FieldId::known: return take_varint(p, end, fid, out.known);
    case FieldId::timestamp: return take_varint(p, end, fid, out.timestamp);
    case FieldId::protocols: return take_list(p, end, fid, out.protocols);
    case FieldId::ruid: return take_string(p, end, fid, out.ruid);
    case FieldId::op: return take_string(p, end, fid, out.op);
    case FieldId::data: return take_string(p, end, fid, out.data);
    case FieldId::raw: return take_string(p, end, fid, out.raw);
    case FieldId::tags: return take_list(p, end, fid, out.tags);
    case FieldId::keepalive:
      if (p == end) return Status(Errc::length_overrun, 1, fid);
      out.keepalive = *p++ != 0;
      return {};
    case FieldId::filter: return take_list(p, end, fid, out.filter);
    case FieldId::error: return take_string(p, end, fid, out.error);
  }
  return Status(Errc::unknown_field, raw_id);  // not reached: ids 1..15 are all handled
}

void assign_list(Field<StringList>& dst, const ListView& src) {
  StringList& v = dst.set();
  v.resize(static_cast<std::size_t>(src.size()));  // keeps element storage for reuse
  std::size_t i = 0;
  for (auto s : src) v[i++].assign(s.data(), s.size());
}

}  // namespace

void encode_payload(const Payload& p, std::string& out) {
  // Size first, then one resize and plain stores: no per-field appends, no length fix-up.
  const std::size_t body = body_size(p);
  const std::size_t start = out.size();
  out.resize(start + 2 + varint_size(body) + body + 2);
  auto* w = reinterpret_cast<std::uint8_t*>(&out[start]);
  *w++ = kHeader0;
  *w++ = kHeader1;
  w = write_varint(w, body);
  if (p.filter.has()) w = put_list(put_key(w, FieldId::filter), *p.filter);
  if (p.type.has()) w = write_varint(put_key(w, FieldId::type), *p.type);
  if (p.channel.has()) w = write_varint(put_key(w, FieldId::channel), *p.channel);
  if (p.hid.has()) w = put_bytes(put_key(w, FieldId::hid), *p.hid);
  if (p.sid.has()) w = put_bytes(put_key(w, FieldId::sid), *p.sid);
  if (p.known.has()) w = write_varint(put_key(w, FieldId::known), *p.known);
  if (p.timestamp.has()) w = write_varint(put_key(w, FieldId::timestamp), *p.timestamp);
  if (p.protocols.has()) w = put_list(put_key(w, FieldId::protocols), *p.protocols);
  if (p.ruid.has()) w = put_bytes(put_key(w, FieldId::ruid), *p.ruid);
  if (p.op.has()) w = put_bytes(put_key(w, FieldId::op), *p.op);
  if (p.data.has()) w = put_bytes(put_key(w, FieldId::data), *p.data);
  if (p.raw.has()) w = put_bytes(put_key(w, FieldId::raw), *p.raw);
  if (p.tags.has()) w = put_list(put_key(w, FieldId::tags), *p.tags);
  if (p.keepalive.has()) {
    w = put_key(w, FieldId::keepalive);
    *w++ = static_cast<std::uint8_t>(*p.keepalive ? 1 : 0);
  }
  if (p.error.has()) w = put_bytes(put_key(w, FieldId::error), *p.error);
  w[0] = 0;  // footer
  w[1] = 0;
  assert(reinterpret_cast<char*>(w + 2) == out.data() + out.size());
}

void assign_field(Payload& p, const FieldView& f) {
  switch (static_cast<FieldId>(f.id)) {
    case FieldId::type: p.type = f.number; break;
    case FieldId::channel: p.channel = f.number; break;
    case FieldId::hid: p.hid.set().assign(f.bytes); break;
    case FieldId::sid: p.sid.set().assign(f.bytes); break;
    case FieldId::known: p.known = f.number; break;
    case FieldId::timestamp: p.timestamp = f.number; break;
    case FieldId::protocols: assign_list(p.protocols, f.list); break;
    case FieldId::ruid: p.ruid.set().assign(f.bytes); break;
    case FieldId::op: p.op.set().assign(f.bytes); break;
    case FieldId::data: p.data.set().assign(f.bytes); break;
    case FieldId::raw: p.raw.set().assign(f.bytes); break;
    case FieldId::tags: assign_list(p.tags, f.list); break;
    case FieldId::keepalive: p.keepalive = f.boolean(); break;
    case FieldId::filter: assign_list(p.filter, f.list); break;
    case FieldId::error: p.error.set().assign(f.bytes); break;
  }
}

namespace detail {

Status read_payload_field(const std::uint8_t*& p, const std::uint8_t* end, Payload& out,
                          std::uint32_t& field) {
  return take_field(p, end, out, field);
}

}  // namespace detail

Status decode_payload(std::string_view body, Payload& p) {
  p.clear();
  const auto* q = reinterpret_cast<const std::uint8_t*>(body.data());
  const auto* end = q + body.size();
  std::uint32_t fid = 0;
  while (q < end)
    if (Status s = take_field(q, end, p, fid); !s) return s;
  return {};
}

Status decode_datagram(std::string_view datagram, Payload& p, std::size_t max_body) {
  Status result(Errc::incomplete);
  bool seen = false;
  for_each_frame(datagram, max_body, [&](const Frame& f) {
    if (seen) return;
    seen = true;
    result = decode_payload(f.body, p);
  });
  return result;
}

}  // namespace cluster::bpacket
