// The cluster payload as a plain value type: what hooks and plugins see.
// Header-only and free of protobuf so plugins never depend on generated code; the schema of
// record is core/proto/cluster.proto, and a unit test checks the two agree field by field.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cluster {

/// Payload types (PROTOCOL.md section 3). Unknown values may arrive; they are dropped at dispatch.
enum class PayloadType : std::uint64_t {
  disconnect = 0, heartbeat = 1, discovery = 2, ping = 3, query = 4,
  response = 5, event = 6, flush = 7, failed = 8,
  /// Ours, not the reference's (which ignores types it does not know): a failure detector's own
  /// messages (SWIM probes, acks, gossip), sent directly and only to members that advertise the
  /// detector (docs/wire-format.md). `op` names the message, `raw` carries it.
  detector = 9,
};

/// Field ids of the cluster template; equal to the field numbers of cluster.proto.
enum class FieldId : std::uint32_t {
  type = 1, channel = 2, hid = 3, sid = 4, known = 5, timestamp = 6, protocols = 7, ruid = 8,
  op = 9, data = 10, raw = 11, tags = 12, keepalive = 13, filter = 14, error = 15,
};
inline constexpr std::uint32_t kMaxClusterFieldId = 15;

/// A payload field that may be absent. Unlike std::optional, reset() keeps the storage, so a
/// Payload reused for decoding does not allocate again for fields it saw before.
template <class T>
class Field {
 public:
  Field() = default;
  Field(const T& v) : value_(v), present_(true) {}  // NOLINT: implicit, like std::optional
  Field(T&& v) : value_(std::move(v)), present_(true) {}  // NOLINT
  Field& operator=(T v) {
    value_ = std::move(v);
    present_ = true;
    return *this;
  }
  bool has() const noexcept { return present_; }
  /// The value; meaningful only when has() (a default value otherwise).
  const T& operator*() const noexcept { return value_; }
  const T* operator->() const noexcept { return &value_; }
  /// Marks the field present and gives write access to its value.
  T& set() noexcept {
    present_ = true;
    return value_;
  }
  void reset() noexcept { present_ = false; }
  T value_or(T fallback) const { return present_ ? value_ : fallback; }
  bool operator==(const Field& o) const {
    return present_ == o.present_ && (!present_ || value_ == o.value_);
  }
  bool operator!=(const Field& o) const { return !(*this == o); }

 private:
  T value_{};
  bool present_ = false;
};

using StringList = std::vector<std::string>;

/// One cluster packet's fields (PROTOCOL.md section 2). Strings are bytes; text is UTF-8.
struct Payload {
  Field<std::uint64_t> type;
  Field<std::uint64_t> channel;
  Field<std::string> hid;
  Field<std::string> sid;
  Field<std::uint64_t> known;
  Field<std::uint64_t> timestamp;
  Field<StringList> protocols;
  Field<std::string> ruid;
  Field<std::string> op;
  Field<std::string> data;
  Field<std::string> raw;
  Field<StringList> tags;
  Field<bool> keepalive;
  Field<StringList> filter;
  Field<std::string> error;

  /// Marks every field absent (storage is kept for reuse).
  void clear() noexcept {
    type.reset(); channel.reset(); hid.reset(); sid.reset(); known.reset(); timestamp.reset();
    protocols.reset(); ruid.reset(); op.reset(); data.reset(); raw.reset(); tags.reset();
    keepalive.reset(); filter.reset(); error.reset();
  }
  bool is(PayloadType t) const noexcept {
    return type.has() && *type == static_cast<std::uint64_t>(t);
  }
  bool operator==(const Payload& o) const {
    return type == o.type && channel == o.channel && hid == o.hid && sid == o.sid &&
           known == o.known && timestamp == o.timestamp && protocols == o.protocols &&
           ruid == o.ruid && op == o.op && data == o.data && raw == o.raw && tags == o.tags &&
           keepalive == o.keepalive && filter == o.filter && error == o.error;
  }
  bool operator!=(const Payload& o) const { return !(*this == o); }
};

/// "heartbeat", "query", ...; "unknown" for values outside 0..8.
inline std::string_view payload_type_name(std::uint64_t t) noexcept {
  constexpr std::string_view names[] = {"disconnect", "heartbeat", "discovery", "ping", "query",
                                        "response",   "event",     "flush",     "failed",  "detector"};
  return t < 10 ? names[t] : std::string_view("unknown");
}

}  // namespace cluster
