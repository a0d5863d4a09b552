// Prometheus text exposition (format 0.0.4) of a member's state: what clusterd serves at
// /metrics ([metrics] listen). Names follow Prometheus conventions: `cluster_` prefix, `_total`
// for counters, base units, one family per meaning with labels for its parts.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "cluster/cluster.hpp"
#include "cluster/stats.hpp"

namespace clusterapp {

struct MetricsSnapshot {
  cluster::Counters counters;
  cluster::Stats stats;             ///< per protocol, query latency, hook time
  std::uint64_t members = 0;        ///< known members (not counting us)
  std::uint64_t local_members = 0;  ///< of them, on this host
  std::string version;              ///< build version, for cluster_build_info
  std::string uuid;                 ///< our uuid, a label of cluster_build_info
  std::map<std::string, std::uint64_t> discovered;  ///< members discovered, by how they were found
  std::map<std::string, std::uint64_t> lost;        ///< members lost, by reason
};

/// The exposition text of `s`, every family with its HELP and TYPE lines.
std::string prometheus_text(const MetricsSnapshot& s);

/// A label value escaped as the format wants (backslash, double quote, newline).
std::string escape_label_value(const std::string& v);

}  // namespace clusterapp
