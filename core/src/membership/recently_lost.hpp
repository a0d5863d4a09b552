// What we knew of members that expired (or another detector verdict), kept for a while: a member that went silent for a few
// heartbeats (loss, a paused process) and comes back with a bare heartbeat gets its tags and
// props back at once, instead of staying untagged (invisible to every resolve by tag) until a
// request for them gets through the same loss. Measured before this: at 30 % loss rediscovered
// members stayed untagged for a median 1.3-2.1 s and up to 61 s.
//
// Bounded in entries (oldest forgotten first) and in time. Members that left (disconnect) are
// not kept: a member that rejoins has a new sid. Loop thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cluster/sdk/service_info.hpp"

namespace cluster {

class RecentlyLost {
 public:
  using Clock = std::chrono::steady_clock;
  RecentlyLost(std::size_t capacity, Clock::duration keep) : capacity_(capacity), keep_(keep) {}

  /// Remembers `info` (tags, props, protocols) until now + keep.
  void remember(const ServiceInfo& info, Clock::time_point now);
  /// What we knew of `uuid`, if remembered and not too old; forgets it either way.
  std::optional<ServiceInfo> take(std::string_view uuid, Clock::time_point now);
  std::size_t size() const noexcept { return by_uuid_.size(); }

 private:
  struct Entry {
    ServiceInfo info;
    Clock::time_point until;
  };
  using List = std::list<Entry>;  ///< oldest first
  std::size_t capacity_;
  Clock::duration keep_;
  List entries_;
  std::unordered_map<std::string_view, List::iterator> by_uuid_;  ///< keys view entries' uuids
};

}  // namespace cluster
