#include "cluster/stats.hpp"

#include <algorithm>

namespace cluster {

void LatencyHistogram::record(std::chrono::nanoseconds d) noexcept {
  const double seconds = std::chrono::duration<double>(d).count();
  // The first bound at or above the value: Prometheus buckets are "le" (less or equal).
  const auto at = std::lower_bound(kBounds.begin(), kBounds.end(), seconds);
  ++counts[static_cast<std::size_t>(at - kBounds.begin())];
  ++count;
  sum_seconds += seconds;
}

}  // namespace cluster
