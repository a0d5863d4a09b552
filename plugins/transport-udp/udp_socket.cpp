#include "udp_socket.hpp"

#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include "net.hpp"

namespace cluster::transport {

std::string UdpSocket::open(const std::string& bind, std::uint16_t wanted_port) {
  close();
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (bind.empty() || bind == "::") {
    fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
      // Dual stack explicitly (not the net.ipv6.bindv6only default): one socket for every member.
      if (!set_int_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0)) {
        std::string e = sys_error("IPV6_V6ONLY");
        close();
        return e;
      }
      dual_stack = true;
      make_address("::", wanted_port, ss, len);
    } else if (bind.empty() && errno == EAFNOSUPPORT) {
      make_address("0.0.0.0", wanted_port, ss, len);  // a kernel without IPv6: IPv4 only
    } else {
      return sys_error("socket");
    }
  } else if (!make_address(bind, wanted_port, ss, len)) {
    return "'" + bind + "' is not a numeric IP address";
  }
  if (fd < 0) {
    fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return sys_error("socket");
  }
  family = ss.ss_family;
  address = address_text(reinterpret_cast<const sockaddr*>(&ss), len);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
    std::string e = "bind " + host_port(address, wanted_port) + ": " + errno_text(errno);
    close();
    return e;
  }
  socklen_t got = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &got) != 0) {
    std::string e = sys_error("getsockname");
    close();
    return e;
  }
  port = address_port(reinterpret_cast<const sockaddr*>(&ss));
  return {};
}

void UdpSocket::close() noexcept {
  close_fd(fd);
  family = AF_UNSPEC;
  dual_stack = false;
  port = 0;
}

std::string UdpSocket::destination(const std::string& ip, std::uint16_t to_port, sockaddr_storage& out,
                                   socklen_t& len) const {
  if (!make_address(ip, to_port, out, len)) return "'" + ip + "' is not a numeric IP address";
  if (out.ss_family == family) return {};
  if (family == AF_INET6 && dual_stack) {  // IPv4 through the dual-stack socket: ::ffff:a.b.c.d
    sockaddr_in sin;
    std::memcpy(&sin, &out, sizeof sin);
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = sin.sin_port;
    sin6.sin6_addr.s6_addr[10] = 0xff;
    sin6.sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&sin6.sin6_addr.s6_addr[12], &sin.sin_addr, sizeof sin.sin_addr);
    out = sockaddr_storage{};
    std::memcpy(&out, &sin6, sizeof sin6);
    len = sizeof sin6;
    return {};
  }
  return std::string(out.ss_family == AF_INET ? "an IPv4" : "an IPv6") + " address, and our socket is bound to " +
         address + " (set [udp] bind to :: for both families)";
}

}  // namespace cluster::transport
