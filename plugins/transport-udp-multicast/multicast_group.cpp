#include "multicast_group.hpp"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <net/if.h>

#include <algorithm>
#include <cstring>
#include <iterator>

#include "net.hpp"

namespace cluster::transport {
namespace {

in_addr ipv4(const InterfaceAddress& a) {
  sockaddr_in sin;
  std::memcpy(&sin, &a.address, sizeof sin);
  return sin.sin_addr;
}

sockaddr_in6 ipv6(const sockaddr_storage& ss) {
  sockaddr_in6 sin6;
  std::memcpy(&sin6, &ss, sizeof sin6);
  return sin6;
}

}  // namespace

bool MulticastGroup::parse(const std::string& group, std::uint16_t port) {
  address = sockaddr_storage{};
  if (!make_address(group, port, address, length) || group.find('%') != std::string::npos) return false;
  family = address.ss_family;
  if (family == AF_INET) {
    sockaddr_in sin;
    std::memcpy(&sin, &address, sizeof sin);
    if (!IN_MULTICAST(ntohl(sin.sin_addr.s_addr))) return false;
    needs_interface = false;
  } else {
    const sockaddr_in6 sin6 = ipv6(address);
    if (!IN6_IS_ADDR_MULTICAST(&sin6.sin6_addr)) return false;
    needs_interface = IN6_IS_ADDR_MC_LINKLOCAL(&sin6.sin6_addr) || IN6_IS_ADDR_MC_NODELOCAL(&sin6.sin6_addr);
  }
  text = host_port(group, port);
  return true;
}

std::string MulticastGroup::group_text() const {
  std::string t = address_text(sa(), length);
  const std::size_t percent = t.find('%');
  return percent == std::string::npos ? t : t.substr(0, percent);
}

void MulticastGroup::set_scope(unsigned index) {
  if (family != AF_INET6) return;
  sockaddr_in6 sin6 = ipv6(address);
  sin6.sin6_scope_id = index;
  std::memcpy(&address, &sin6, sizeof sin6);
}

bool MulticastGroup::join(int fd, const Interface& itf) const {
  if (family == AF_INET) {
    ip_mreqn m{};
    std::memcpy(&m.imr_multiaddr, &reinterpret_cast<const sockaddr_in*>(&address)->sin_addr, sizeof m.imr_multiaddr);
    m.imr_ifindex = static_cast<int>(itf.index);
    return ::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) == 0;
  }
  ipv6_mreq m{};
  m.ipv6mr_multiaddr = ipv6(address).sin6_addr;
  m.ipv6mr_interface = itf.index;
  return ::setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof m) == 0;
}

bool MulticastGroup::send_through(int fd, const Interface& itf) const {
  if (family == AF_INET) {
    // With the interface's address as the source: without one (0.0.0.0) the kernel may pick
    // source 0.0.0.0 (lo without a route naming a src), and receivers cannot tell it is local.
    ip_mreqn m{};
    m.imr_ifindex = static_cast<int>(itf.index);
    m.imr_address = itf.address;
    return ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m) == 0;
  }
  const int index = static_cast<int>(itf.index);
  return ::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, sizeof index) == 0;
}

bool MulticastGroup::set_hops(int fd, int hops) const {
  return family == AF_INET ? set_int_option(fd, IPPROTO_IP, IP_MULTICAST_TTL, hops)
                           : set_int_option(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, hops);
}

bool MulticastGroup::set_loop(int fd) const {
  return family == AF_INET ? set_int_option(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 1)
                           : set_int_option(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 1);
}

void MulticastGroup::only_joined_groups(int fd) const {
#ifdef IP_MULTICAST_ALL
  if (family == AF_INET) set_int_option(fd, IPPROTO_IP, IP_MULTICAST_ALL, 0);
#endif
#ifdef IPV6_MULTICAST_ALL
  if (family == AF_INET6) set_int_option(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0);
#endif
  (void)fd;
}

bool MulticastGroup::drop_from_port(int fd, std::uint16_t port) const {
  constexpr auto net = static_cast<std::uint32_t>(SKF_NET_OFF);
  // IPv4: the UDP header follows a header of ihl words (with options: keep, rare).
  sock_filter v4[] = {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, net),          // version, ihl
      BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x0f),        // ihl
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 5, 0, 2),     // options: keep
      BPF_STMT(BPF_LD | BPF_H | BPF_ABS, net + 20),     // udp source port
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),  // keep
      BPF_STMT(BPF_RET | BPF_K, 0),            // drop
  };
  // IPv6: a fixed 40-byte header; UDP right after it (extension headers: keep, rare).
  sock_filter v6[] = {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, net + 6),             // next header
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 2),  // not UDP: keep
      BPF_STMT(BPF_LD | BPF_H | BPF_ABS, net + 40),            // udp source port
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),  // keep
      BPF_STMT(BPF_RET | BPF_K, 0),            // drop
  };
  sock_fprog prog = family == AF_INET ? sock_fprog{static_cast<unsigned short>(std::size(v4)), v4}
                                      : sock_fprog{static_cast<unsigned short>(std::size(v6)), v6};
  return ::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) == 0;
}

std::vector<Interface> multicast_interfaces(int family) {
  std::vector<Interface> out;
  for (const InterfaceAddress& a : interface_addresses(family)) {
    if ((a.flags & IFF_UP) == 0 || (a.flags & IFF_MULTICAST) == 0) continue;
    if (family == AF_INET6 && (a.flags & IFF_LOOPBACK) != 0) continue;
    if (std::any_of(out.begin(), out.end(), [&](const Interface& i) { return i.name == a.name; })) continue;
    const unsigned index = ::if_nametoindex(a.name.c_str());
    if (index != 0) out.push_back({a.name, index, family == AF_INET ? ipv4(a) : ipv4_of(a.name)});
  }
  return out;
}

Interface find_interface(const std::string& spec) {
  Interface found{spec, ::if_nametoindex(spec.c_str()), {}};
  if (found.index != 0) {
    found.address = ipv4_of(spec);
    return found;
  }
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (!make_address(spec.substr(0, spec.find('%')), 0, ss, len)) return found;
  const std::string wanted = address_text(reinterpret_cast<const sockaddr*>(&ss), len);  // canonical
  for (const InterfaceAddress& a : interface_addresses()) {
    std::string text = address_text(reinterpret_cast<const sockaddr*>(&a.address), a.length);
    if (text.substr(0, text.find('%')) != wanted) continue;
    const in_addr v4 = a.address.ss_family == AF_INET ? ipv4(a) : ipv4_of(a.name);
    return {a.name, ::if_nametoindex(a.name.c_str()), v4};
  }
  return found;
}

in_addr ipv4_of(const std::string& name) {
  for (const InterfaceAddress& a : interface_addresses(AF_INET))
    if (a.name == name) return ipv4(a);
  return in_addr{};
}

}  // namespace cluster::transport
