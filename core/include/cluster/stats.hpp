// What a member measures about itself beyond Counters: traffic per protocol, query latency and
// time spent in hooks. Read with Cluster::stats(); clusterd serves it as Prometheus metrics.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "cluster/export.hpp"
#include "cluster/sdk/hooks.hpp"

namespace cluster {

/// One of our protocols: bytes as its transport delivered or accepted them (frames and
/// envelopes included), packets that decoded (in) or were handed to it successfully (out).
struct ProtocolTraffic {
  std::string protocol;
  std::uint64_t bytes_received = 0;
  std::uint64_t packets_received = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t packets_sent = 0;
};

/// A latency histogram with fixed buckets, in seconds (Prometheus' default buckets refined
/// below 5 ms: a query to a member on this host takes tens of microseconds).
struct CLUSTER_API LatencyHistogram {
  static constexpr std::array<double, 16> kBounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                  0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10};
  std::array<std::uint64_t, kBounds.size() + 1> counts{};  ///< per bucket (not cumulative); the last: above 10 s
  std::uint64_t count = 0;
  double sum_seconds = 0;

  void record(std::chrono::nanoseconds d) noexcept;
};

/// The hooks of one hook point: how often they ran and the time they took (including what they
/// caused: a hook that sends runs the send hooks inside its own time). The time is estimated:
/// runs 0, k, 2k, ... (k = kHookTimeSample) are timed and each counts for k runs, so it only
/// grows, and is high by up to k - 1 runs' worth (a clock read costs ~0.1 us on some VMs, a fifth
/// of a small packet's whole receive, hence not every run); runs are counted exactly.
struct HookTime {
  HookPoint point{};
  std::uint64_t runs = 0;
  double seconds = 0;
};
inline constexpr std::uint64_t kHookTimeSample = 32;

struct Stats {
  std::uint64_t members_suspect = 0;       ///< known members the failure detector is in doubt of
  std::vector<ProtocolTraffic> protocols;  ///< in our priority order
  LatencyHistogram queries_completed;      ///< start to the last answer (or its early end)
  LatencyHistogram queries_timed_out;      ///< start to the timeout
  std::vector<HookTime> hooks;             ///< hook points that have run, in HookPoint order
};

}  // namespace cluster
