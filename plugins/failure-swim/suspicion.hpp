// Lifeguard's suspicion timeouts (LHA-Suspicion), as hashicorp/memberlist computes them
// (util.go suspicionTimeout / remainingSuspicionTime, suspicion.go). Pure: no host, no clock.
#pragma once

#include <chrono>
#include <cstddef>
#include <set>
#include <string>

namespace cluster::swim {

using Millis = std::chrono::milliseconds;

struct SuspicionBounds {
  Millis min{0};  ///< the timeout once k confirmations came
  Millis max{0};  ///< the timeout without any
  int k = 0;      ///< confirmations expected
};

/// For a cluster of `n` members (us included): min = mult x max(1, log10(max(1, n))) x interval
/// (the scale kept to 3 decimals, as memberlist does), max = max_mult x min, k = mult - 2, or 0
/// when n - 2 < k (not enough members to confirm).
SuspicionBounds suspicion_bounds(int mult, int max_mult, std::size_t n, Millis interval);

/// The whole timeout (from the suspicion's start) after `confirmations` independent ones:
/// max - log(c + 1) / log(k + 1) x (max - min), whole ms, never below min; max with no
/// confirmation, min when k < 1.
Millis suspicion_timeout(const SuspicionBounds& b, int confirmations);

/// One member's suspicion: who started it, who confirmed it, when it ends.
class Suspicion {
 public:
  using Clock = std::chrono::steady_clock;
  Suspicion(std::string originator, SuspicionBounds bounds, Clock::time_point start);

  /// A suspect message about the member from `from`: true when it is a new, independent
  /// confirmation (not the originator, not seen before, fewer than k so far); the deadline
  /// moved then (re-gossip it).
  bool confirm(const std::string& from);
  int confirmations() const noexcept { return confirmations_; }
  Clock::time_point start() const noexcept { return start_; }
  Clock::time_point deadline() const noexcept { return start_ + suspicion_timeout(bounds_, confirmations_); }
  const SuspicionBounds& bounds() const noexcept { return bounds_; }

 private:
  SuspicionBounds bounds_;
  Clock::time_point start_;
  std::set<std::string> seen_;  ///< the originator and every confirmer
  int confirmations_ = 0;
};

}  // namespace cluster::swim
