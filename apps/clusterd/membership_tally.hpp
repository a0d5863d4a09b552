// Members discovered and lost since clusterd started, by how they were found and why they went:
// the cluster_discovered_total / cluster_lost_total families of /metrics. Filled by hooks on
// the loop thread, read by the metrics server's threads: a mutex.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <deque>
#include <string>
#include <vector>

#include "cluster/cluster.hpp"

namespace clusterd {

class MembershipTally {
 public:
  /// Adds the service discovered/lost hooks (call it from join's prepare, so no member is missed).
  void attach(cluster::Cluster& c);
  std::map<std::string, std::uint64_t> discovered() const;  ///< by found_by ("multicast", "seeds", ...)
  std::map<std::string, std::uint64_t> lost() const;        ///< by reason ("left", "expired", ...)

  struct Event {
    std::int64_t at_ms = 0;  ///< wall clock, ms since the epoch
    std::string what;        ///< "discovered" or "lost"
    std::string uuid;
    std::string detail;      ///< how it was found, or why it was lost
  };
  /// The last kRecent membership events, the oldest first (the status page shows them).
  std::vector<Event> recent() const;
  static constexpr std::size_t kRecent = 50;

 private:
  mutable std::mutex m_;
  std::map<std::string, std::uint64_t> discovered_, lost_;
  std::deque<Event> recent_;
  void remember(std::string what, const std::string& uuid, const std::string& detail);
};

}  // namespace clusterd
