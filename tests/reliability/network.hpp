// Simulated hosts for the reliability suite: named network namespaces ("hosts"), each joined by
// a veth pair to one segment inside the test's private namespace (tests/plugins/netns-run), so
// nothing reaches a real network.
//
// Host i is the namespace cl-rel-<pid>-<k>: lo up, its end of the veth pair named eth0 (so a
// member's default hid, eth0's MAC, differs per host), 10.232.<n>.<i+1>/24, multicast on, and
// the route 224.0.0.0/4 via eth0. The other end (crv<k>) is either
//   - a port of a bridge crbr<n> with multicast snooping off (Mode::bridge), optionally with
//     `tc qdisc ... netem` on every port (Mode::netem: each frame delivered to a host crosses
//     exactly one netem, the one on that host's port), or
//   - a port of an impairing hub run by the test in a thread (Mode::hub): AF_PACKET sockets on
//     the veth ends, every frame copied to the other ports (Impairment::learn: unicast frames only
//     to the port of their destination MAC, once known), each copy dropped with probability
//     `loss` or delayed by delay +- jitter (uniform, so frames may be reordered, as with netem).
//     It stands in for netem where the kernel has no sch_netem (PACKET_VNET_HDR keeps checksum
//     offload and GSO metadata, so TCP segments pass unchanged).
// Everything is deleted by the destructor (members must be gone first).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace rel {

struct Impairment {
  double loss = 0.0;  ///< 0..1 per frame delivered to a host
  std::chrono::milliseconds delay{0};
  std::chrono::milliseconds jitter{0};
  bool hub = false;  ///< use the hub even without loss or delay (for Network::block_output)
  /// Hub only: learn which port each source MAC is on and send a unicast frame to a known MAC
  /// out of that port alone, like a switch (broadcast, multicast and unknown MACs still go to
  /// every port). Off: every frame is copied to every other port, as a hub does.
  bool learn = false;
  bool any() const { return loss > 0.0 || delay.count() > 0 || jitter.count() > 0; }
};

class ImpairHub;

class Network {
 public:
  enum class Mode { bridge, netem, hub };

  struct Host {
    std::string ns;       ///< the namespace name
    std::string outer;    ///< our end of the veth pair (in the test's namespace)
    std::string address;  ///< eth0's IPv4 address
  };

  Network();
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  /// Deletes leftovers of earlier runs whose process is gone (cl-rel-<pid>-*).
  static void sweep_stale();
  /// Whether `tc ... netem` works here; `why` gets the error text when it does not.
  static bool netem_available(std::string& why);

  /// Builds `hosts` hosts. With an impairment: netem when available (or CLUSTER_RELIABILITY_IMPAIR
  /// = netem), else the hub (CLUSTER_RELIABILITY_IMPAIR=hub forces it). Returns "" on success,
  /// else what failed (the caller skips when namespaces cannot be made at all: `cannot_create`).
  std::string build(int hosts, const Impairment& impairment, std::uint32_t seed);
  bool cannot_create() const { return cannot_create_; }

  const std::vector<Host>& hosts() const { return hosts_; }
  Mode mode() const { return mode_; }
  std::string describe() const;
  /// argv prefix that runs a program inside host i.
  std::vector<std::string> wrapper(std::size_t i) const;
  /// Runs `cmd` inside host i (sh -c); returns its exit code.
  int run_in(std::size_t i, const std::string& cmd) const;
  /// Hub mode only: drops every frame host i sends (from now on, or no longer).
  void block_output(std::size_t i, bool blocked);
  /// Frames the hub forwarded / dropped (0 in the other modes).
  std::uint64_t hub_forwarded() const;
  std::uint64_t hub_dropped() const;

  void teardown();

 private:
  std::vector<Host> hosts_;
  std::string bridge_;
  Mode mode_ = Mode::bridge;
  Impairment impairment_;
  std::string netem_error_;
  bool cannot_create_ = false;
  std::unique_ptr<ImpairHub> hub_;
};

}  // namespace rel
