#include "suspicion.hpp"

#include <algorithm>
#include <cmath>

namespace cluster::swim {

SuspicionBounds suspicion_bounds(int mult, int max_mult, std::size_t n, Millis interval) {
  SuspicionBounds b;
  const double scale = std::max(1.0, std::log10(std::max(1.0, static_cast<double>(n))));
  // memberlist: time.Duration(mult) * time.Duration(scale*1000) * interval / 1000
  const auto milli_scale = static_cast<std::int64_t>(scale * 1000.0);
  b.min = Millis(static_cast<std::int64_t>(mult) * milli_scale * interval.count() / 1000);
  b.max = b.min * max_mult;
  b.k = mult - 2;
  if (static_cast<long long>(n) - 2 < b.k) b.k = 0;
  if (b.k < 0) b.k = 0;
  return b;
}

Millis suspicion_timeout(const SuspicionBounds& b, int confirmations) {
  if (b.k < 1) return b.min;
  if (confirmations <= 0) return b.max;
  const double frac = std::log(static_cast<double>(confirmations) + 1.0) / std::log(static_cast<double>(b.k) + 1.0);
  const double raw = static_cast<double>(b.max.count()) - frac * static_cast<double>((b.max - b.min).count());
  const Millis t(static_cast<std::int64_t>(std::floor(raw)));
  return std::max(t, b.min);
}

Suspicion::Suspicion(std::string originator, SuspicionBounds bounds, Clock::time_point start)
    : bounds_(bounds), start_(start) {
  seen_.insert(std::move(originator));
}

bool Suspicion::confirm(const std::string& from) {
  if (confirmations_ >= bounds_.k) return false;
  if (!seen_.insert(from).second) return false;
  ++confirmations_;
  return true;
}

}  // namespace cluster::swim
