// fuzz_decoder: the input is one datagram. Every intact frame's body goes through the generic
// decoder (decode_body / decode_fields with Template::cluster()) and the hand-written fast path
// (decode_payload); the raw input is also decoded as a body on its own. Properties checked,
// beyond "no crash, no UB":
//   - the fast decoder matches the generic one (decode_body + assign_field): same status (code,
//     field, detail) and the same Payload, also when it fails half way or a gate stops it;
//   - decoding into a reused Payload gives the same result as into a fresh one;
//   - a payload that decodes re-encodes (encode_payload) to exactly the bytes the generic
//     Writer produces, as one intact frame whose body decodes to an equal Payload;
//   - the fields that decode re-encode (encode_fields) to a body that decodes to equal fields.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cluster/bpacket/fields.hpp"
#include "cluster/bpacket/frame.hpp"
#include "cluster/bpacket/payload_codec.hpp"
#include "cluster/bpacket/reader.hpp"
#include "cluster/bpacket/template.hpp"
#include "cluster/bpacket/writer.hpp"
#include "fuzz_check.hpp"

namespace bp = cluster::bpacket;
using cluster::fuzz::check;

namespace {

// The single intact frame of an encoder's output (which must be exactly one packet).
std::string_view only_frame_body(const std::string& encoded) {
  std::size_t frames = 0;
  std::string_view body;
  const std::uint64_t skipped = bp::for_each_frame(encoded, encoded.size(), [&](const bp::Frame& f) {
    ++frames;
    check(f.packet.size() == encoded.size(), "encoder output is not exactly one packet");
    body = f.body;
  });
  check(frames == 1 && skipped == 0, "encoder output does not frame as one intact packet");
  return body;
}

// The generic path the fast decoder must agree with: every field through read_field and
// assign_field; `limit` fields at most (then stopped, as a gate returning false would).
bp::Status reference_decode(std::string_view body, cluster::Payload& p, std::size_t limit) {
  p.clear();
  std::size_t n = 0;
  return bp::decode_body(body, bp::Template::cluster(), [&](const bp::FieldView& f) {
    bp::assign_field(p, f);
    return ++n < limit;
  });
}

// The generic encoder: Writer, filter first, then the other fields in ascending id order.
std::string reference_encode(const cluster::Payload& p) {
  using cluster::FieldId;
  auto id = [](FieldId f) { return static_cast<std::uint32_t>(f); };
  std::string out;
  bp::Writer w(out);
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
  return out;
}

bool same_status(const bp::Status& a, const bp::Status& b) {
  return a.code() == b.code() && a.field() == b.field() && a.detail() == b.detail();
}

void check_payload_round_trip(const cluster::Payload& p) {
  std::string encoded = "prefix";  // encode_payload appends
  bp::encode_payload(p, encoded);
  check(encoded.compare(0, 6, "prefix") == 0, "encode_payload changed what was in the buffer");
  encoded.erase(0, 6);
  check(encoded == reference_encode(p), "encode_payload differs from the Writer encoding");
  const std::string_view body = only_frame_body(encoded);
  cluster::Payload again;
  check(static_cast<bool>(bp::decode_payload(body, again)), "re-encoded payload does not decode");
  check(again == p, "payload round trip changed the payload");
}

void check_fields_round_trip(const bp::FieldList& fields) {
  std::string encoded;
  bp::encode_fields(fields, encoded);  // values come from the decoder: they always match
  const std::string_view body = only_frame_body(encoded);
  bp::FieldList again;
  check(static_cast<bool>(bp::decode_fields(body, bp::Template::cluster(), again)),
        "re-encoded fields do not decode");
  check(again.size() == fields.size(), "fields round trip changed the field count");
  for (std::size_t i = 0; i < fields.size(); ++i)
    check(again[i].spec == fields[i].spec && again[i].value == fields[i].value,
          "fields round trip changed a field");
}

void decode_body(std::string_view body, cluster::Payload& reused) {
  const bp::Template& t = bp::Template::cluster();

  bp::FieldList fields;
  const bp::Status fs = bp::decode_fields(body, t, fields);

  cluster::Payload expected;
  const bp::Status es = reference_decode(body, expected, static_cast<std::size_t>(-1));
  check(same_status(fs, es), "decode_fields and decode_body disagree");

  cluster::Payload fresh;
  const bp::Status ps = bp::decode_payload(body, fresh);
  check(same_status(ps, es), "decode_payload status differs from the generic decoder");
  check(fresh == expected, "decode_payload result differs from the generic decoder");

  const bp::Status rs = bp::decode_payload(body, reused);
  check(same_status(rs, es), "reused Payload changes the status");
  check(reused == expected, "reused Payload decodes differently");

  // The gate: stop after `limit` fields (1..3, chosen by the body's size).
  const std::size_t limit = 1 + body.size() % 3;
  cluster::Payload gated_expected;
  const bp::Status gx = reference_decode(body, gated_expected, limit);
  std::size_t seen = 0;
  cluster::Payload gated;
  const bp::Status gs = bp::decode_payload(body, gated, [&](const cluster::Payload& so_far,
                                                            cluster::FieldId) {
    check(&so_far == &gated, "gate sees another Payload");
    return ++seen < limit;
  });
  check(seen <= limit, "gate called after it asked to stop");
  check(same_status(gs, gx), "gated decode_payload status differs from the generic decoder");
  check(gated == gated_expected, "gated decode_payload result differs from the generic decoder");

  if (ps.ok()) {
    check_payload_round_trip(fresh);
    check_fields_round_trip(fields);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = cluster::fuzz::as_view(data, size);
  cluster::Payload reused;  // storage carried from frame to frame, as a receiver does

  std::size_t frames = 0;
  const std::uint64_t skipped = bp::for_each_frame(input, bp::kDatagramLimit, [&](const bp::Frame& f) {
    ++frames;
    check(f.packet.size() >= f.body.size() + 5, "frame shorter than its body plus framing");
    check(static_cast<std::uint8_t>(f.packet.front()) == bp::kHeader0 &&
              static_cast<std::uint8_t>(f.packet[1]) == bp::kHeader1,
          "frame does not start with c0 8d");
    check(f.packet[f.packet.size() - 2] == 0 && f.packet.back() == 0, "frame does not end with 00 00");
    check(f.body.data() + f.body.size() + 2 == f.packet.data() + f.packet.size(),
          "body does not end just before the footer");
    decode_body(f.body, reused);
  });
  check(skipped <= size, "skipped more bytes than the datagram holds");

  // The first intact frame, through the convenience entry point.
  cluster::Payload first;
  const bp::Status ds = bp::decode_datagram(input, first);
  if (frames == 0) check(ds.code() == bp::Errc::incomplete, "decode_datagram found a frame where none is");

  decode_body(input, reused);  // the whole input as a body
  return 0;
}
