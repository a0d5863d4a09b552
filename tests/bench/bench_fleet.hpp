// The driver's view of its member processes (`cluster_bench member`, bench_member.cpp): spawns
// them, sends commands, and collects their J/D/L/A event lines into per-instance tables.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bench_util.hpp"

namespace bench {

struct FleetConfig {
  std::string self;        ///< path of cluster_bench (re-executed as `member`)
  std::string plugin_dir;  ///< the build's plugins folder
  std::string tmp;         ///< scratch folder: socket files, member stderr
  std::string group = "239.255.91.1";
  std::string rcvbuf = "default";  ///< [udp-multicast] receive_buffer of the members ("default": not set)
  std::string keyring;  ///< [encrypt] keyring of the members ("": the encrypt plugin is not loaded)
};

class Fleet {
 public:
  struct Proc {
    std::string name;
    std::unique_ptr<Child> child;
    std::map<int, std::string> uuid_by_idx;
    std::vector<std::string> live;  ///< uuids of its joined instances, in join order
    std::deque<std::string> replies;
  };

  Fleet(const FleetConfig& cfg, std::uint16_t port);
  ~Fleet();

  /// Starts a member process and waits for its "ready"; returns its index.
  std::size_t spawn(const std::string& name);
  Proc& proc(std::size_t i) { return *procs_.at(i); }
  std::size_t size() const { return procs_.size(); }

  /// Multicast group, port and the common options for "join".
  std::string join_options(const std::string& extra) const;

  void send(std::size_t p, const std::string& line);
  /// The next reply line of process p (waits up to timeout_ms; throws on timeout or "error").
  std::string reply(std::size_t p, int timeout_ms = 15000);
  std::string cmd(std::size_t p, const std::string& line, int timeout_ms = 15000) {
    send(p, line);
    return reply(p, timeout_ms);
  }
  /// Reads every process' output until pred() or timeout; returns pred().
  bool pump(const std::function<bool()>& pred, int timeout_ms);
  void sleep_pumping(int ms) { pump([] { return false; }, ms); }

  /// SIGKILL to process p (at once; reaped when the Fleet goes).
  void kill9(std::size_t p);

  // ---- what the members reported ----
  std::unordered_map<std::string, std::int64_t> join_t;       ///< uuid -> just before Cluster::join
  std::unordered_map<std::string, std::int64_t> join_done_t;  ///< uuid -> when Cluster::join returned
  /// observer uuid -> peer uuid -> time of service_discovered (first one)
  std::unordered_map<std::string, std::unordered_map<std::string, std::int64_t>> disc;
  /// observer uuid -> peer uuid -> (time, reason) of service_lost
  std::unordered_map<std::string, std::unordered_map<std::string, std::pair<std::int64_t, std::string>>> lost;
  /// uuid -> when its discovered-minus-lost count first reached the join option `await=N`
  /// (the A lines of quiet instances: one line per instance instead of one per pair)
  std::unordered_map<std::string, std::int64_t> reached;
  void clear_events() {
    disc.clear();
    lost.clear();
    reached.clear();
  }
  /// Every live instance uuid (all processes).
  std::vector<std::string> live() const;
  /// Whether every live instance discovered every other live one.
  bool mesh_complete() const;
  std::string stderr_tail(std::size_t p) const;

 private:
  void on_line(std::size_t p, const std::string& line);
  std::vector<Child*> children() const;

  FleetConfig cfg_;
  std::uint16_t port_;
  std::vector<std::unique_ptr<Proc>> procs_;
};

/// Writes a throwaway keyring (one fresh base64 32-byte key, mode 0600) to `path`; false on error.
bool write_keyring(const std::string& path);

/// Udp RcvbufErrors of this network namespace (/proc/net/snmp): datagrams dropped because a
/// socket's receive buffer was full.
std::uint64_t udp_rcvbuf_errors();

}  // namespace bench
