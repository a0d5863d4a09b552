// Members discovered and lost since clusterd started, by how they were found and why they went:
// the cluster_discovered_total / cluster_lost_total families of /metrics. Filled by hooks on
// the loop thread, read by the metrics server's threads: a mutex.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "cluster/cluster.hpp"

namespace clusterd {

class MembershipTally {
 public:
  /// Adds the service discovered/lost hooks (call it from join's prepare, so no member is missed).
  void attach(cluster::Cluster& c);
  std::map<std::string, std::uint64_t> discovered() const;  ///< by found_by ("multicast", "seeds", ...)
  std::map<std::string, std::uint64_t> lost() const;        ///< by reason ("left", "expired", ...)

 private:
  mutable std::mutex m_;
  std::map<std::string, std::uint64_t> discovered_, lost_;
};

}  // namespace clusterd
