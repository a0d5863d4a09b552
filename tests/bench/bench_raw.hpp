// Raw-socket floors: the same socket types as the transports, with no product code at all
// (blocking sockets, one thread per end), measured in the same run as the product figures.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bench::raw {

enum class Kind { tcp, unix_stream };

/// Request/response round trips from one client to `servers` echo servers (threads): each
/// round writes `request` bytes to every server, then reads `response` bytes from every one.
/// Returns the round-trip times in microseconds (after `warmup` rounds).
std::vector<double> ping_pong(Kind kind, int servers, std::size_t request, std::size_t response, std::size_t rounds,
                              std::size_t warmup, const std::string& socket_dir);

struct Throughput {
  std::uint64_t sent = 0, received = 0;
  double seconds = 0;   ///< first write to last read
  double rate() const { return seconds > 0 ? static_cast<double>(received) / seconds : 0; }
};

/// One writer thread, one write(2) per message of `size` bytes, to one reader thread that reads
/// 64 KiB at a time and counts messages (bytes / size). Stops after `count` or `seconds`.
Throughput stream(Kind kind, std::size_t size, std::uint64_t count, double seconds, const std::string& socket_dir);

/// Round trips of `size`-byte datagrams between two threads over UDP multicast on lo (group,
/// ports `port` and `port + 1`): the floor of one multicast hop is half of it. Microseconds.
std::vector<double> multicast_ping_pong(const std::string& group, std::uint16_t port, std::size_t size,
                                        std::size_t rounds, std::size_t warmup);

/// One UDP socket sending `size`-byte datagrams (sendto per message) to group:port on lo; one
/// receiving socket bound to the group (SO_REUSEADDR/PORT, joined on lo) reading each with
/// recv(2). Losses are the receiver's drops (its receive buffer: the system default).
Throughput multicast(const std::string& group, std::uint16_t port, std::size_t size, std::uint64_t count,
                     double seconds);

}  // namespace bench::raw
