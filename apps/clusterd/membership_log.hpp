// Logs members as they come and go:
//   discovered UUID ip IP tags {TAGS} [local]
//   lost UUID (REASON) ip IP tags {TAGS}
//   tags of UUID are now {TAGS}
// rate-limited: a burst of forged members (thousands a second, without the auth hook set) must
// not become a flood of log lines. The first lines of a window are logged one by one; the rest
// are counted and summarised when the window ends.
#pragma once

#include <Poco/Logger.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "cluster/cluster.hpp"

namespace clusterd {

/// The rate limit, apart from logging and time so it can be tested: per kind of line, the first
/// `burst` lines of a window pass; the others are held and summarised by flush() once the
/// window (opened by the first line after the previous one ended) is over:
///   "412 members discovered in the last 10 s were not logged one by one (first A, last B)".
class MembershipLogLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  enum Kind { discovered, lost, tags_changed, kinds };

  explicit MembershipLogLimiter(std::size_t burst = 20, Clock::duration window = std::chrono::seconds(10))
      : burst_(burst), window_(window) {}

  /// Whether a line of this kind about `uuid` may be logged now; if not, it is held.
  bool admit(Kind kind, const std::string& uuid, Clock::time_point now);
  /// The summaries of windows that have ended by `now`; empty when none ended holding lines.
  /// Call it before admit() so a summary precedes the lines of the next window.
  std::vector<std::string> flush(Clock::time_point now);
  /// When the open window ends, if it holds lines to summarise.
  std::optional<Clock::time_point> summary_due() const;

 private:
  struct Held {
    std::size_t logged = 0;
    std::size_t held = 0;
    std::string first, last;
  };
  void close_window();

  std::size_t burst_;
  Clock::duration window_;
  bool open_ = false;
  Clock::time_point start_{};
  std::array<Held, kinds> per_kind_{};
  std::vector<std::string> ready_;  ///< summaries of closed windows, not yet flushed
};

/// Adds the logging hooks. Call before the cluster runs (Cluster::join's prepare) or on its loop.
void log_membership(cluster::Cluster& c, Poco::Logger& log);

}  // namespace clusterd
