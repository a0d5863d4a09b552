// The socket options of a multicast group, for IPv4 and IPv6 alike: the udp-multicast plugin
// says what it wants (join here, send through there, this many hops) and this picks the
// family's option (IP_ADD_MEMBERSHIP or IPV6_JOIN_GROUP, ...). Also the interfaces a group can
// be joined on, found by name or by one of their addresses.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cluster::transport {

struct Interface {
  std::string name;
  unsigned index = 0;  ///< 0 = none (the default multicast route)
  in_addr address{};   ///< IPv4: the source of what we send (its first IPv4 address, or the bind)
};

/// A multicast group and port of either family.
struct MulticastGroup {
  int family = AF_INET;
  sockaddr_storage address{};  ///< the group and port (IPv6: with the scope id once it has one)
  socklen_t length = 0;
  bool needs_interface = false;  ///< IPv6 interface- or link-local scope (ff01::/16, ff02::/16)
  std::string text;              ///< "230.230.230.230:23000", "[ff15::1]:23000"

  /// Parses a numeric multicast address (224.0.0.0/4 or ff00::/8); false when it is not one.
  bool parse(const std::string& group, std::uint16_t port);
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&address); }
  /// The group without the port ("ff15::1").
  std::string group_text() const;
  /// IPv6: the interface a scoped group lives on.
  void set_scope(unsigned index);

  // Socket options; each returns false with errno set.
  bool join(int fd, const Interface& itf) const;
  /// Sends through `itf` (index 0: the default multicast route).
  bool send_through(int fd, const Interface& itf) const;
  bool set_hops(int fd, int hops) const;
  bool set_loop(int fd) const;
  /// Delivers only the groups this socket joined (Linux; best effort).
  void only_joined_groups(int fd) const;
  /// A classic BPF filter on a receiving socket: drop UDP datagrams from source port `port`.
  bool drop_from_port(int fd, std::uint16_t port) const;
};

/// Interfaces that are up and multicast-capable with an address of `family`, each once. IPv6
/// leaves out lo: Linux delivers no IPv6 multicast over it.
std::vector<Interface> multicast_interfaces(int family);

/// An interface by name, or by one of its addresses (IPv4 or IPv6, numeric). index 0 when
/// there is none. Found by an IPv4 address, that address is its `address`.
Interface find_interface(const std::string& spec);

/// The first IPv4 address of interface `name`, 0.0.0.0 when it has none.
in_addr ipv4_of(const std::string& name);

}  // namespace cluster::transport
