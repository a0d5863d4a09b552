// Lifeguard's local health awareness (LHA, memberlist awareness.go): a score in
// [0, max - 1], raised by signs that we are the slow one (failed probes with missing nacks,
// having to refute), lowered by successful probes; it stretches our probe interval and timeout.
#pragma once

#include <algorithm>
#include <chrono>

namespace cluster::swim {

class Awareness {
 public:
  explicit Awareness(int max) : max_(std::max(1, max)) {}
  /// Adds `delta`, clamped to [0, max - 1]; true when the score changed.
  bool apply(int delta) noexcept {
    const int before = score_;
    score_ = std::clamp(score_ + delta, 0, max_ - 1);
    return score_ != before;
  }
  int score() const noexcept { return score_; }
  /// `d` x (score + 1).
  template <class Duration>
  Duration scale(Duration d) const noexcept {
    return d * (score_ + 1);
  }

 private:
  int max_;
  int score_ = 0;
};

}  // namespace cluster::swim
