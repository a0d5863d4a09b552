// Updates waiting to be spread (memberlist's TransmitLimitedQueue): each is piggybacked on our
// probe traffic and gossip messages until it went out retransmit_limit() times; least-sent first,
// newest first among equals; a newer update about a member replaces the older one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "codec.hpp"

namespace cluster::swim {

/// retransmit_mult x ceil(log10(n + 1)) (memberlist util.go retransmitLimit), at least 1.
int retransmit_limit(int mult, std::size_t n);

class GossipQueue {
 public:
  explicit GossipQueue(std::size_t max_entries) : max_(max_entries) {}

  /// Queues `u`, dropping what was queued about the same member.
  void push(Update u);
  /// Takes updates for one message: in order (least sent, then newest), every one whose encoded
  /// form still fits `budget` bytes (each costs its encoded size + 3: braces and a space), except those about
  /// `skip_uuid` (already in the message: the buddy system's suspect). Counts a transmission for
  /// each taken; one sent `limit` times leaves the queue. Returns them encoded (encode_update).
  std::vector<std::string> take(std::size_t budget, int limit, const std::string& skip_uuid = {});
  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  /// The queued update about `uuid`, or nullptr.
  const Update* find(const std::string& uuid) const noexcept;
  void clear() noexcept { entries_.clear(); }

 private:
  struct Entry {
    Update update;
    std::string encoded;
    int transmits = 0;
    std::uint64_t id = 0;  ///< larger = newer
  };
  std::size_t max_;
  std::uint64_t next_id_ = 0;
  std::vector<Entry> entries_;
};

}  // namespace cluster::swim
