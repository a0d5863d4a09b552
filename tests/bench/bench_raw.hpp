// Raw-socket floors: the same socket types as the transports with no product code at all,
// measured in the same run as the product figures. Like the product's members, the two ends are
// separate processes (the far end is `cluster_bench raw-server ...`, blocking sockets, no
// epoll), so both pay the same context and address-space switches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bench::raw {

enum class Kind { tcp, unix_stream };

struct Env {
  std::string self;  ///< path of cluster_bench (re-executed as `raw-server`)
  std::string tmp;   ///< scratch folder (socket files, stderr)
};

/// Request/response round trips from this process to `servers` echo processes: each round
/// writes `request` bytes to every server, then reads `response` bytes from every one. Returns
/// the round-trip times in microseconds (after `warmup` rounds).
std::vector<double> ping_pong(const Env& env, Kind kind, int servers, std::size_t request, std::size_t response,
                              std::size_t rounds, std::size_t warmup);

/// Round trips of `size`-byte datagrams over UDP multicast on lo to an echo process (group,
/// ports `port` and `port + 1`): one multicast hop is half of it. Microseconds.
std::vector<double> multicast_ping_pong(const Env& env, const std::string& group, std::uint16_t port, std::size_t size,
                                        std::size_t rounds, std::size_t warmup);

struct Throughput {
  std::uint64_t sent = 0, received = 0;
  double seconds = 0;   ///< first write to last read
  double rate() const { return seconds > 0 ? static_cast<double>(received) / seconds : 0; }
};

/// This process writes `size`-byte messages, one write(2) each, to a reader process that reads
/// 64 KiB at a time and counts bytes (messages = bytes / size). Stops after `count` or `seconds`.
Throughput stream(const Env& env, Kind kind, std::size_t size, std::uint64_t count, double seconds);

/// This process sends `size`-byte datagrams (sendto each) to group:port on lo; a receiver
/// process (socket bound to the group, joined on lo, system default receive buffer) reads each
/// with recv(2) and counts them. Losses are the receiver's drops.
Throughput multicast(const Env& env, const std::string& group, std::uint16_t port, std::size_t size,
                     std::uint64_t count, double seconds);

}  // namespace bench::raw

namespace bench {
/// `cluster_bench raw-server ...`: the far ends of the floors above (see bench_raw.cpp).
int raw_server_main(int argc, char** argv);
/// `cluster_bench udp-sink GROUP PORT`: the idle floor next to clusterd (receives and drops).
int udp_sink_main(int argc, char** argv);
}  // namespace bench
