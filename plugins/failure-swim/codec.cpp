#include "codec.hpp"

#include <limits>

#include <cluster/sdk/text.hpp>

#include "swim_config.hpp"

namespace cluster::swim {

namespace text = sdk::text;

std::string_view op_name(Op op) noexcept {
  switch (op) {
    case Op::ping: return "ping";
    case Op::ack: return "ack";
    case Op::ping_req: return "ping-req";
    case Op::nack: return "nack";
    case Op::gossip: return "gossip";
  }
  return "?";
}

std::optional<Op> parse_op(std::string_view name) noexcept {
  for (Op op : {Op::ping, Op::ack, Op::ping_req, Op::nack, Op::gossip})
    if (op_name(op) == name) return op;
  return std::nullopt;
}

const char* kind_name(Kind k) noexcept {
  switch (k) {
    case Kind::alive: return "alive";
    case Kind::suspect: return "suspect";
    case Kind::dead: return "dead";
  }
  return "?";
}

std::string encode_update(const Update& u) {
  return text::tcl_list({std::string(1, static_cast<char>(u.kind)), u.uuid, std::to_string(u.inc), u.from});
}

std::string encode_raw(const Message& m, const std::vector<std::string>& encoded_updates) {
  return text::tcl_list(
      {kWireVersion, std::to_string(m.seq), m.target, std::to_string(m.inc), text::tcl_list(encoded_updates)});
}

std::string encode_raw(const Message& m) {
  std::vector<std::string> enc;
  enc.reserve(m.updates.size());
  for (const auto& u : m.updates) enc.push_back(encode_update(u));
  return encode_raw(m, enc);
}

namespace {

bool good_uuid(std::string_view u, bool may_be_empty) {
  if (u.empty()) return may_be_empty;
  return u.size() <= kMaxUuidBytes && !text::has_control(u);
}

}  // namespace

std::optional<Message> decode(std::string_view op, std::string_view raw, std::string* why) {
  auto bad = [why](const char* what) -> std::optional<Message> {
    if (why != nullptr) *why = what;
    return std::nullopt;
  };
  Message m;
  const auto o = parse_op(op);
  if (!o) return bad("unknown op");
  m.op = *o;
  if (raw.size() > kMaxRawBytes) return bad("raw too long");
  std::vector<std::string> top;
  if (!text::parse_tcl_list(raw, top)) return bad("raw is not a list");
  // Later elements are ignored: room for extensions within version 1.
  if (top.size() < 5) return bad("raw has fewer than 5 elements");
  if (top[0] != kWireVersion) return bad("unknown version");
  const auto seq = text::parse_uint(top[1], std::numeric_limits<std::uint32_t>::max());
  if (!seq) return bad("bad seq");
  m.seq = static_cast<std::uint32_t>(*seq);
  if (!good_uuid(top[2], m.op == Op::gossip || m.op == Op::nack)) return bad("bad target");
  m.target = std::move(top[2]);
  const auto inc = text::parse_uint(top[3], kMaxIncarnation);
  if (!inc) return bad("bad incarnation");
  m.inc = *inc;
  std::vector<std::string> items;
  if (!text::parse_tcl_list(top[4], items)) return bad("updates are not a list");
  if (items.size() > kMaxUpdatesPerMessage) return bad("too many updates");
  m.updates.reserve(items.size());
  std::vector<std::string> f;
  for (const auto& item : items) {
    if (!text::parse_tcl_list(item, f) || f.size() < 4) return bad("bad update");
    Update u;
    if (f[0] == "a") u.kind = Kind::alive;
    else if (f[0] == "s") u.kind = Kind::suspect;
    else if (f[0] == "d") u.kind = Kind::dead;
    else return bad("bad update kind");
    if (!good_uuid(f[1], false) || !good_uuid(f[3], false)) return bad("bad update uuid");
    const auto ui = text::parse_uint(f[2], kMaxIncarnation);
    if (!ui) return bad("bad update incarnation");
    u.uuid = std::move(f[1]);
    u.inc = *ui;
    u.from = std::move(f[3]);
    m.updates.push_back(std::move(u));
  }
  return m;
}

}  // namespace cluster::swim
