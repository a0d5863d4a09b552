// At most one log line per period for an event that may repeat fast (a dead route fails every
// multicast; forged newcomers arrive by the thousand): the line that is due says how many were
// held back since the last one, so nothing goes unreported and the log does not flood.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace cluster {

class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LogThrottle(Clock::duration period = std::chrono::seconds(1)) : period_(period) {}

  /// Counts one occurrence at `now`; true when a line is due, with `suffix` set to
  /// " (and N more since the last report)" (or "" when none was held back).
  bool due(Clock::time_point now, std::string& suffix) {
    ++held_;
    if (logged_once_ && now - last_ < period_) return false;
    const std::uint64_t more = held_ - 1;
    suffix = more > 0 ? " (and " + std::to_string(more) + " more since the last report)" : std::string();
    last_ = now;
    logged_once_ = true;
    held_ = 0;
    return true;
  }

 private:
  Clock::duration period_;
  Clock::time_point last_{};
  std::uint64_t held_ = 0;
  bool logged_once_ = false;
};

}  // namespace cluster
