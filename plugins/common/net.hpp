// Small POSIX socket helpers shared by the transport plugins (compiled into each plugin .so;
// nothing here is exported or part of the core).
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cluster::transport {

/// strerror_r text for an errno value ("Connection refused").
std::string errno_text(int err);

/// "<what>: <strerror(errno)>" for the current errno.
std::string sys_error(std::string_view what);

/// Closes fd (if >= 0) and sets it to -1, keeping errno intact.
void close_fd(int& fd) noexcept;

/// Sets an integer socket option; false (errno set) on failure.
bool set_int_option(int fd, int level, int name, int value) noexcept;

/// Numeric text of an IPv4/IPv6 address; a v4-mapped IPv6 address is returned as IPv4. A
/// link-local IPv6 address carries its scope as an interface index ("fe80::1%2"): it cannot be
/// reached without one. "" for other families.
std::string address_text(const sockaddr* sa, socklen_t len);

/// "ip:port", or "[ip]:port" for IPv6.
std::string host_port(std::string_view ip, std::uint16_t port);

/// True for "", 0.0.0.0 and :: (every address).
bool is_any_address(std::string_view ip) noexcept;

/// True for numeric loopback addresses (127.0.0.0/8, ::1).
bool is_loopback_address(std::string_view ip) noexcept;

/// The numeric text of `host`: itself when numeric, else its first address from getaddrinfo.
/// Resolving may block: call it when a transport starts, never per packet. "" with `error` set
/// when it cannot be resolved.
std::string resolve_address(const std::string& host, std::string& error);

/// The port of an AF_INET/AF_INET6 address, 0 otherwise.
std::uint16_t address_port(const sockaddr* sa) noexcept;

/// Parses a numeric IPv4 or IPv6 address (IPv6 with an optional %scope: an interface index or
/// name) plus port into `out`; false when `ip` is not numeric.
bool make_address(std::string_view ip, std::uint16_t port, sockaddr_storage& out, socklen_t& len);

/// Parses a decimal port 1..65535; 0 when invalid.
std::uint16_t parse_port(std::string_view text) noexcept;

/// One address of a network interface (an entry of getifaddrs).
struct InterfaceAddress {
  std::string name;           ///< interface name ("eth0")
  unsigned flags = 0;         ///< IFF_UP, IFF_MULTICAST, ...
  sockaddr_storage address{};  ///< AF_INET (sockaddr_in) or AF_INET6 (sockaddr_in6)
  socklen_t length = 0;
};

/// The IPv4 and IPv6 addresses of every interface, in getifaddrs' order; only `family` when it is
/// AF_INET or AF_INET6. Empty when getifaddrs fails. The one getifaddrs loop of the plugins.
std::vector<InterfaceAddress> interface_addresses(int family = AF_UNSPEC);

/// The addresses of this host, from getifaddrs, cached. A miss refreshes the cache, at most once
/// per second, so a new address is picked up without a syscall storm from foreign senders.
class LocalAddresses {
 public:
  using Clock = std::chrono::steady_clock;

  /// True for loopback addresses (127.0.0.0/8, ::1) and every address of a local interface.
  bool is_local(std::string_view ip);
  /// Forces the next lookup to re-read the interfaces.
  void invalidate() noexcept { loaded_ = false; }

 private:
  void refresh();

  std::vector<std::string> addresses_;
  Clock::time_point last_refresh_{};
  bool loaded_ = false;
};

}  // namespace cluster::transport
