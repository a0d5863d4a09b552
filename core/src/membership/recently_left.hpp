// Members that said goodbye, remembered for a few seconds so that their stragglers do not bring
// them back. A packet the member sent just before its disconnect can arrive after it: over
// another socket (a stream packet beside the multicast goodbye), or later in a burst. Without
// this it re-created the member as a ghost that no heartbeat kept alive and that expired a ttl
// later (seen by the Tcl binding's destroy test: lost "left", then known again).
//
// A member that rejoins has a new sid, so a departed uuid never speaks legitimately again; the
// window is short anyway (a forged goodbye should not mute a live member for long). Bounded in
// entries (oldest forgotten first) and in time. Loop thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cluster {

class RecentlyLeft {
 public:
  using Clock = std::chrono::steady_clock;
  RecentlyLeft(std::size_t capacity, Clock::duration keep) : capacity_(capacity), keep_(keep) {}

  /// Remembers that `uuid` left at `now`, until now + keep.
  void remember(const std::string& uuid, Clock::time_point now);
  /// True while `uuid` left less than keep ago.
  bool contains(const std::string& uuid, Clock::time_point now);

 private:
  void forget_old(Clock::time_point now);

  std::size_t capacity_;
  Clock::duration keep_;
  struct Entry {
    std::string uuid;
    Clock::time_point until;
  };
  std::deque<Entry> order_;  ///< oldest first; a uuid remembered again has a newer entry too
  std::unordered_map<std::string, Clock::time_point> until_;
};

}  // namespace cluster
