// The one socket of the udp transport: opened on an address and port (dual stack when it is
// "every address"), and destinations put in the socket's family, so the same socket sends to
// IPv4 and IPv6 members alike where it can.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace cluster::transport {

/// The largest UDP payload over IPv4 (65535 - 20 - 8); over IPv6 it would be 65527, but one
/// limit for both keeps the behaviour independent of the peer's family.
inline constexpr std::size_t kMaxUdpPayload = 65507;

struct UdpSocket {
  int fd = -1;
  int family = AF_UNSPEC;
  bool dual_stack = false;  ///< AF_INET6 with IPV6_V6ONLY off: IPv4 peers as ::ffff:a.b.c.d
  std::uint16_t port = 0;   ///< the port actually bound
  std::string address;      ///< the address bound ("::", "0.0.0.0", "10.0.0.5"), for logs

  /// Opens a non-blocking socket on `bind`:`port`. `bind` "" or "::" is every address, IPv4
  /// and IPv6 (IPv4 only where the system has no IPv6); "0.0.0.0" every IPv4 address; else one
  /// numeric address (names are resolved by the caller). No SO_REUSEADDR: a second member on
  /// the same fixed port must fail, not silently steal the first one's datagrams.
  /// "" on success, else what failed.
  std::string open(const std::string& bind, std::uint16_t wanted_port);
  void close() noexcept;

  /// `ip`:`port` as a destination of this socket (an IPv4 address v4-mapped on a dual-stack
  /// socket). "" on success, else why this socket cannot send there.
  std::string destination(const std::string& ip, std::uint16_t port, sockaddr_storage& out, socklen_t& len) const;
};

}  // namespace cluster::transport
