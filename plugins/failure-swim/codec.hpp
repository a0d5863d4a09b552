// The detector's messages on the wire (docs/wire-format.md, "Type 9: failure detector (swim)"):
// a packet of type detector (9) whose `op` names the message and whose `raw` is a Tcl list
//   1 <seq> <target-uuid> <sender-incarnation> {<update> ...}
// with each update a list {a|s|d <uuid> <incarnation> <from-uuid>} (alive, suspect, dead).
// Decoding is defensive: anything malformed gives nullopt (and why), never an exception other
// than std::bad_alloc; sizes are bounded (swim_config.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cluster::swim {

enum class Op : std::uint8_t { ping, ack, ping_req, nack, gossip };

enum class Kind : char { alive = 'a', suspect = 's', dead = 'd' };

/// A membership change to spread: `uuid` is alive/suspect/dead at incarnation `inc`, as `from`
/// said (the suspicion's originator, the member declaring it dead, the member itself for alive).
struct Update {
  Kind kind = Kind::alive;
  std::string uuid;
  std::uint64_t inc = 0;
  std::string from;
  bool operator==(const Update& o) const {
    return kind == o.kind && uuid == o.uuid && inc == o.inc && from == o.from;
  }
};

struct Message {
  Op op = Op::ping;
  std::uint32_t seq = 0;  ///< the probe's sequence number (0 in gossip)
  std::string target;     ///< ping: whom the sender means (us); ping-req: whom to probe; ack: who answered
  std::uint64_t inc = 0;  ///< the sender's own incarnation
  std::vector<Update> updates;
};

std::string_view op_name(Op op) noexcept;
std::optional<Op> parse_op(std::string_view name) noexcept;
const char* kind_name(Kind k) noexcept;  ///< "alive", "suspect", "dead"

/// One update as a list element ({s uuid 3 from}), before quoting into the updates list.
std::string encode_update(const Update& u);
/// `raw` for `m` with the given encoded updates (encode_update) instead of m.updates.
std::string encode_raw(const Message& m, const std::vector<std::string>& encoded_updates);
/// `raw` for `m`, its updates included.
std::string encode_raw(const Message& m);

/// Parses op + raw; nullopt (and `why`, when given) for anything malformed.
std::optional<Message> decode(std::string_view op, std::string_view raw, std::string* why = nullptr);

}  // namespace cluster::swim
