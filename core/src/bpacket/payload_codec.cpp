#include "cluster/bpacket/payload_codec.hpp"

#include "cluster/bpacket/writer.hpp"

namespace cluster::bpacket {
namespace {

constexpr std::uint32_t id(FieldId f) { return static_cast<std::uint32_t>(f); }

void assign_list(Field<StringList>& dst, const ListView& src) {
  StringList& v = dst.set();
  v.resize(static_cast<std::size_t>(src.size()));  // keeps element storage for reuse
  std::size_t i = 0;
  for (auto s : src) v[i++].assign(s.data(), s.size());
}

}  // namespace

void encode_payload(const Payload& p, std::string& out) {
  Writer w(out);
  if (p.filter.has()) w.list(id(FieldId::filter), *p.filter);
  if (p.type.has()) w.varint(id(FieldId::type), *p.type);
  if (p.channel.has()) w.varint(id(FieldId::channel), *p.channel);
  if (p.hid.has()) w.string(id(FieldId::hid), *p.hid);
  if (p.sid.has()) w.string(id(FieldId::sid), *p.sid);
  if (p.known.has()) w.varint(id(FieldId::known), *p.known);
  if (p.timestamp.has()) w.varint(id(FieldId::timestamp), *p.timestamp);
  if (p.protocols.has()) w.list(id(FieldId::protocols), *p.protocols);
  if (p.ruid.has()) w.string(id(FieldId::ruid), *p.ruid);
  if (p.op.has()) w.string(id(FieldId::op), *p.op);
  if (p.data.has()) w.string(id(FieldId::data), *p.data);
  if (p.raw.has()) w.raw(id(FieldId::raw), *p.raw);
  if (p.tags.has()) w.list(id(FieldId::tags), *p.tags);
  if (p.keepalive.has()) w.boolean(id(FieldId::keepalive), *p.keepalive);
  if (p.error.has()) w.string(id(FieldId::error), *p.error);
  w.finish();
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

Status decode_payload(std::string_view body, Payload& p) {
  return decode_payload(body, p, [](const Payload&, FieldId) { return true; });
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
