// The udp-multicast transport ("c"): one UDP socket bound to the cluster group and port, shared
// by every member on the host (SO_REUSEADDR + SO_REUSEPORT), joined on the configured interface
// or on every multicast-capable interface that is up. Everything it sends is one datagram to
// the group, direct sends included (the core adds a filter so only the target processes it).
// Interface rules and failure behaviour: docs/transports.md.
#include <arpa/inet.h>
#include <linux/filter.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "cluster/sdk.hpp"
#include "net.hpp"
#include "reassembly.hpp"

namespace {

using cluster::Dict;
using cluster::ServiceInfo;
using cluster::sdk::ConfigKey;
using cluster::sdk::ConfigType;
using cluster::sdk::LogLevel;
using cluster::sdk::ProtocolHost;
using cluster::sdk::ProtocolTraits;
using cluster::sdk::Result;
using cluster::sdk::SendOptions;
namespace net = cluster::transport;

constexpr ConfigKey kKeys[] = {
    {"receive_buffer", ConfigType::integer, "1048576",
     "receive buffer of the multicast socket in bytes (SO_RCVBUF; beyond net.core.rmem_max only "
     "with CAP_NET_ADMIN, else capped there); 0 = the system default"},
};

constexpr std::size_t kDatagramBuffer = 65536;
constexpr int kDatagramsPerWakeup = 256;  // then let other sockets run (epoll is level-triggered)
constexpr std::chrono::milliseconds kBusyGap{2};

constexpr cluster::sdk::ConfigRange kRanges[] = {
    {"receive_buffer", 0, 1 << 30},
};

struct Interface {
  std::string name;
  unsigned index = 0;
  in_addr address{};  ///< its first IPv4 address (0.0.0.0 if none): the source of what we send
};

/// The IPv4 address of an interface address entry.
in_addr ipv4(const net::InterfaceAddress& a) {
  sockaddr_in sin;
  std::memcpy(&sin, &a.address, sizeof sin);
  return sin.sin_addr;
}

/// The first IPv4 address of interface `name`, 0.0.0.0 when it has none.
in_addr ipv4_of(const std::string& name) {
  for (const net::InterfaceAddress& a : net::interface_addresses(AF_INET))
    if (a.name == name) return ipv4(a);
  return in_addr{};
}

/// Interfaces that are up and multicast-capable, with an IPv4 address, each once.
std::vector<Interface> multicast_interfaces() {
  std::vector<Interface> out;
  for (const net::InterfaceAddress& a : net::interface_addresses(AF_INET)) {
    if ((a.flags & IFF_UP) == 0 || (a.flags & IFF_MULTICAST) == 0) continue;
    if (std::any_of(out.begin(), out.end(), [&](const Interface& i) { return i.name == a.name; })) continue;
    const unsigned index = ::if_nametoindex(a.name.c_str());
    if (index != 0) out.push_back({a.name, index, ipv4(a)});
  }
  return out;
}

/// An interface by name, or by one of its IPv4 addresses. index 0 when there is none.
Interface find_interface(const std::string& spec) {
  Interface found{spec, ::if_nametoindex(spec.c_str()), {}};
  if (found.index != 0) {
    found.address = ipv4_of(spec);
    return found;
  }
  in_addr wanted{};
  if (::inet_pton(AF_INET, spec.c_str(), &wanted) != 1) return found;
  for (const net::InterfaceAddress& a : net::interface_addresses(AF_INET))
    if (ipv4(a).s_addr == wanted.s_addr) return {a.name, ::if_nametoindex(a.name.c_str()), wanted};
  return found;
}

class UdpMulticastProtocol final : public cluster::sdk::Protocol {
 public:
  /// `receive_buffer`: the [udp-multicast] key, read once at init.
  UdpMulticastProtocol(ProtocolHost& host, int receive_buffer) : host_(host), receive_buffer_(receive_buffer) {}
  ~UdpMulticastProtocol() override { stop(); }

  std::string_view id() const noexcept override { return "c"; }
  ProtocolTraits traits() const noexcept override { return ProtocolTraits{false, true, true}; }

  Result start() noexcept override {
    if (fd_ >= 0) return Result::failure("udp-multicast: already started");
    Result r = cluster::sdk::guard("udp-multicast: start", [this] { return open(); });
    if (!r) close_socket();
    return r;
  }

  Dict props() const noexcept override { return {}; }

  /// A direct send over "c" is a multicast too: the core's filter makes only the peer process it.
  Result send(const ServiceInfo& /*peer*/, std::string_view packet, const SendOptions& /*options*/) noexcept override {
    return multicast(packet);
  }

  Result multicast(std::string_view packet) noexcept override {
    return cluster::sdk::guard("udp-multicast: send", [&] {
      if (send_fd_ < 0) return Result::failure("udp-multicast: not started");
      for (;;) {
        const ssize_t n = ::sendto(send_fd_, packet.data(), packet.size(), 0,
                                   reinterpret_cast<const sockaddr*>(&group_), sizeof group_);
        if (n >= 0 && static_cast<std::size_t>(n) == packet.size()) return Result::success();
        if (n < 0 && errno == EINTR) continue;
        if (n >= 0) return Result::failure("udp-multicast: short send");
        return Result::failure("udp-multicast: send " + std::to_string(packet.size()) + " bytes to " + where_ +
                               ": " + net::errno_text(errno));
      }
    });
  }

  /// Joins interfaces that came up since (when no interface is configured); hands on the
  /// pieces of packets that never completed.
  void check() noexcept override {
    cluster::sdk::guard_log(host_, "udp-multicast: check", [this] {
      if (fd_ < 0) return;
      if (reassembler_.pending() != 0) {
        current_origin_ = nullptr;
        reassembler_.expire(host_.loop().now(), deliver_);
      }
      if (!host_.settings().interface.empty()) return;
      join_all(false);
    });
  }

  void stop() noexcept override { close_socket(); }

 private:
  Result open() {
    const cluster::sdk::ClusterSettings& s = host_.settings();
    const int receive_buffer = receive_buffer_;
    const std::string address = s.address.empty() ? "230.230.230.230" : s.address;
    group_ = sockaddr_in{};
    group_.sin_family = AF_INET;
    if (::inet_pton(AF_INET, address.c_str(), &group_.sin_addr) != 1 || !IN_MULTICAST(ntohl(group_.sin_addr.s_addr)))
      return Result::failure("udp-multicast: '" + address + "' is not an IPv4 multicast address");
    if (s.port == 0) return Result::failure("udp-multicast: no port");
    group_.sin_port = htons(s.port);
    where_ = address + ":" + std::to_string(s.port);

    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return Result::failure("udp-multicast: " + net::sys_error("socket"));
    // Every member on the host binds the same port; each socket gets its own copy.
    if (!net::set_int_option(fd_, SOL_SOCKET, SO_REUSEADDR, 1) ||
        !net::set_int_option(fd_, SOL_SOCKET, SO_REUSEPORT, 1))
      return Result::failure("udp-multicast: " + net::sys_error("SO_REUSEADDR/SO_REUSEPORT"));
    // SO_RCVBUFFORCE may exceed net.core.rmem_max (needs CAP_NET_ADMIN); else SO_RCVBUF, capped.
    if (receive_buffer > 0 && !net::set_int_option(fd_, SOL_SOCKET, SO_RCVBUFFORCE, receive_buffer) &&
        !net::set_int_option(fd_, SOL_SOCKET, SO_RCVBUF, receive_buffer))
      host_.log(LogLevel::warning, "udp-multicast: " + net::sys_error("SO_RCVBUF"));
    // Bound to the group address: only datagrams for this group arrive, not those of other
    // groups that someone on the host joined on the same port.
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&group_), sizeof group_) != 0)
      return Result::failure("udp-multicast: bind " + where_ + ": " + net::errno_text(errno));
#ifdef IP_MULTICAST_ALL
    net::set_int_option(fd_, IPPROTO_IP, IP_MULTICAST_ALL, 0);
#endif
    // We send from a socket of our own (an ephemeral port): the kernel loops our datagrams back
    // to every member on this host, and a filter on our receiving socket drops the ones from
    // that port, so we do not read and decode our own traffic (see drop_own_datagrams).
    send_fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (send_fd_ < 0) return Result::failure("udp-multicast: " + net::sys_error("socket"));
    sockaddr_in any{};
    any.sin_family = AF_INET;
    socklen_t any_len = sizeof any;
    if (::bind(send_fd_, reinterpret_cast<const sockaddr*>(&any), sizeof any) != 0 ||
        ::getsockname(send_fd_, reinterpret_cast<sockaddr*>(&any), &any_len) != 0)
      return Result::failure("udp-multicast: " + net::sys_error("bind the sending socket"));
    drop_own_datagrams(ntohs(any.sin_port));
    const int ttl = static_cast<int>(std::min(s.remote, 255u));
    if (!net::set_int_option(send_fd_, IPPROTO_IP, IP_MULTICAST_TTL, ttl))
      return Result::failure("udp-multicast: " + net::sys_error("IP_MULTICAST_TTL"));
    if (!net::set_int_option(send_fd_, IPPROTO_IP, IP_MULTICAST_LOOP, 1))
      return Result::failure("udp-multicast: " + net::sys_error("IP_MULTICAST_LOOP"));

    if (!s.interface.empty()) {
      const Interface itf = find_interface(s.interface);
      if (itf.index == 0) return Result::failure("udp-multicast: no interface '" + s.interface + "'");
      if (!set_send_interface(itf))
        return Result::failure("udp-multicast: " + net::sys_error("IP_MULTICAST_IF " + itf.name));
      if (!join(itf))
        return Result::failure("udp-multicast: join " + address + " on " + itf.name + ": " + net::errno_text(errno));
    } else if (!join_all(true)) {
      return Result::failure("udp-multicast: cannot join " + address + " on any interface (not even lo)");
    }
    Result r = check_route();
    if (!r) return r;

    watch_ = host_.loop().watch(fd_, cluster::sdk::readable, [this](std::uint32_t) noexcept {
      cluster::sdk::guard_log(host_, "udp-multicast: receive", [this] { on_readable(); });
    });
    if (watch_ == 0) return Result::failure("udp-multicast: cannot watch the socket");
    std::string joined_names;
    for (const Interface& i : joined_) joined_names += (joined_names.empty() ? "" : ", ") + i.name;
    host_.log(LogLevel::info, "udp-multicast: " + where_ + " ttl " + std::to_string(ttl) + ", joined on " +
                                  joined_names + (fallback_lo_ ? " (fallback: no multicast interface is up)" : ""));
    return Result::success();
  }

  /// Whether anything we multicast can leave: a UDP connect() to the group does the kernel's
  /// route lookup without sending. Without this a member with no usable route (lo down in a
  /// fresh namespace, no multicast route) would start and fail every send forever.
  Result check_route() {
    const int probe = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (probe < 0) return Result::failure("udp-multicast: " + net::sys_error("socket"));
    bool ok = true;
    if (send_via_.index != 0) {
      ip_mreqn m{};
      m.imr_ifindex = static_cast<int>(send_via_.index);
      m.imr_address = send_via_.address;
      ok = ::setsockopt(probe, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m) == 0;
    }
    ok = ok && ::connect(probe, reinterpret_cast<const sockaddr*>(&group_), sizeof group_) == 0;
    const int err = errno;
    ::close(probe);
    if (ok) return Result::success();
    return Result::failure("udp-multicast: cannot send to " + where_ +
                           (send_via_.index != 0 ? " through " + send_via_.name : std::string()) + ": " +
                           net::errno_text(err) +
                           " (is the interface up, with a multicast route, e.g. 224.0.0.0/4?)");
  }

  /// Sends through `itf`, from its address: without one (imr_address 0.0.0.0) the kernel may
  /// pick source 0.0.0.0 (e.g. on lo without a route that names a src), and receivers cannot
  /// tell the sender is local.
  bool set_send_interface(const Interface& itf) noexcept {
    ip_mreqn m{};
    m.imr_ifindex = static_cast<int>(itf.index);
    m.imr_address = itf.address;
    send_via_ = itf;
    return ::setsockopt(send_fd_, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m) == 0;
  }

  /// A classic BPF filter on the receiving socket: drop IPv4 datagrams whose UDP source port is
  /// our sending socket's. Without it (no filter support) the core drops them by sid, later.
  void drop_own_datagrams(std::uint16_t port) noexcept {
    sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, static_cast<std::uint32_t>(SKF_NET_OFF)),       // version, ihl
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x0f),                                          // ihl
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 5, 0, 2),                                       // options: keep
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, static_cast<std::uint32_t>(SKF_NET_OFF + 20)),  // udp source port
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),  // keep
        BPF_STMT(BPF_RET | BPF_K, 0),            // drop
    };
    sock_fprog prog{static_cast<unsigned short>(std::size(code)), code};
    if (::setsockopt(fd_, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0)
      host_.log(LogLevel::debug, "udp-multicast: " + net::sys_error("SO_ATTACH_FILTER") +
                                     " (our own datagrams are dropped by sid instead)");
  }

  bool join(const Interface& itf) {
    if (std::any_of(joined_.begin(), joined_.end(), [&](const Interface& i) { return i.index == itf.index; }))
      return true;
    ip_mreqn m{};
    m.imr_multiaddr = group_.sin_addr;
    m.imr_ifindex = static_cast<int>(itf.index);
    if (::setsockopt(fd_, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) != 0 && errno != EADDRINUSE) return false;
    joined_.push_back(itf);
    return true;
  }

  /// Joins every multicast-capable interface that is up; with none, falls back to lo (also for
  /// sending, as there is no other way out). Returns false when nothing could be joined.
  bool join_all(bool first) {
    const std::vector<Interface> all = multicast_interfaces();
    bool any = false;
    bool real = false;  // an interface other than lo
    for (const Interface& itf : all) {
      const bool was_joined =
          std::any_of(joined_.begin(), joined_.end(), [&](const Interface& i) { return i.index == itf.index; });
      if (join(itf)) {
        any = true;
        real = real || itf.name != "lo";
        if (!first && !was_joined) host_.log(LogLevel::info, "udp-multicast: joined " + where_ + " on " + itf.name);
      } else {
        host_.log(LogLevel::warning, "udp-multicast: join on " + itf.name + ": " + net::errno_text(errno));
      }
    }
    if (fallback_lo_ && real) {
      // A real interface is up now: send through the default multicast route again.
      set_send_interface(Interface{});
      fallback_lo_ = false;
    }
    if (any || !joined_.empty()) return true;
    const Interface lo{"lo", ::if_nametoindex("lo"), ipv4_of("lo")};
    if (lo.index == 0 || !join(lo)) return false;
    set_send_interface(lo);
    fallback_lo_ = true;
    return true;
  }

  /// What identifies the sender of a datagram for reassembly: IPv4 address and port.
  static std::uint64_t source_key(const sockaddr_storage& from, socklen_t len) {
    if (from.ss_family != AF_INET || len < static_cast<socklen_t>(sizeof(sockaddr_in))) return 0;
    sockaddr_in sin;
    std::memcpy(&sin, &from, sizeof sin);
    return std::uint64_t{ntohl(sin.sin_addr.s_addr)} << 16 | ntohs(sin.sin_port);
  }

  /// Hands bytes from `source` to the core (reassembly.hpp delivers through this).
  void deliver(std::uint64_t source, std::string_view bytes) {
    if (current_origin_ != nullptr && source == current_source_) {
      host_.received(bytes, *current_origin_);
      return;
    }
    // Pieces left over from another sender (abandoned): their own origin, built aside so the
    // cache behind current_origin_ stays the current datagram's.
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(static_cast<std::uint32_t>(source >> 16));
    sin.sin_port = htons(static_cast<std::uint16_t>(source & 0xffff));
    cluster::sdk::Origin origin;
    origin.ip = net::address_text(reinterpret_cast<const sockaddr*>(&sin), sizeof sin);
    origin.local = locals_.is_local(origin.ip);
    host_.received(bytes, origin);
  }

  /// The Origin of a datagram. Formatting the address and looking it up among ours cost more
  /// than the rest of the receive path, so the last IPv4 source is remembered for a second.
  const cluster::sdk::Origin& origin_of(const sockaddr_storage& from, socklen_t len) {
    const auto now = host_.loop().now();
    if (from.ss_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
      in_addr a;
      std::memcpy(&a, &reinterpret_cast<const sockaddr_in*>(&from)->sin_addr, sizeof a);
      if (cached_valid_ && a.s_addr == cached_addr_.s_addr && now - cached_at_ < std::chrono::seconds(1))
        return cached_origin_;
      cached_addr_ = a;
      cached_valid_ = true;
    } else {
      cached_valid_ = false;
    }
    cached_at_ = now;
    cached_origin_.ip = net::address_text(reinterpret_cast<const sockaddr*>(&from), len);
    cached_origin_.local = locals_.is_local(cached_origin_.ip);
    cached_origin_.conn = 0;
    return cached_origin_;
  }

  void on_readable() {
    if (buffer_.size() != kDatagramBuffer) buffer_.resize(kDatagramBuffer);
    // Reading until EAGAIN costs one extra system call per wake-up; when datagrams trickle in
    // (an idle member's heartbeats) one per wake-up is enough, and the level-triggered loop
    // comes back for any other. Wake-ups closer than kBusyGap mean a burst: read them all.
    const auto now = host_.loop().now();
    const int limit = now - last_wakeup_ < kBusyGap ? kDatagramsPerWakeup : 1;
    last_wakeup_ = now;
    for (int i = 0; i < limit && fd_ >= 0; ++i) {
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      const ssize_t n = ::recvfrom(fd_, buffer_.data(), buffer_.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
          host_.log(LogLevel::warning, "udp-multicast: " + net::sys_error("recvfrom"));
        return;
      }
      // A reference member's packet over 4096 bytes comes in pieces (reassembly.hpp).
      current_source_ = source_key(from, len);
      current_origin_ = &origin_of(from, len);
      reassembler_.feed(current_source_, std::string_view(buffer_.data(), static_cast<std::size_t>(n)), now, deliver_);
    }
    current_origin_ = nullptr;
  }

  void close_socket() noexcept {
    if (watch_ != 0) {
      host_.loop().unwatch(watch_);
      watch_ = 0;
    }
    net::close_fd(fd_);  // leaves the groups
    net::close_fd(send_fd_);
    joined_.clear();
    send_via_ = Interface{};
    fallback_lo_ = false;
  }

  ProtocolHost& host_;
  const int receive_buffer_;
  int fd_ = -1;       ///< bound to the group: receives
  int send_fd_ = -1;  ///< an ephemeral port: sends (see drop_own_datagrams)
  cluster::sdk::WatchId watch_ = 0;
  sockaddr_in group_{};
  std::string where_;
  std::vector<Interface> joined_;
  Interface send_via_;  ///< IP_MULTICAST_IF of send_fd_ (index 0: the default route)
  bool fallback_lo_ = false;
  cluster::sdk::Origin cached_origin_;  ///< see origin_of()
  in_addr cached_addr_{};
  bool cached_valid_ = false;
  cluster::sdk::EventLoop::Clock::time_point cached_at_{};
  std::vector<char> buffer_;
  net::LocalAddresses locals_;
  cluster::sdk::EventLoop::Clock::time_point last_wakeup_{};
  net::DatagramReassembler reassembler_;
  std::uint64_t current_source_ = 0;                     ///< of the datagram being fed
  const cluster::sdk::Origin* current_origin_ = nullptr;  ///< its Origin (origin_of's cache)
  const net::DatagramReassembler::Deliver deliver_ = [this](std::uint64_t source, std::string_view bytes) {
    deliver(source, bytes);
  };
};

bool init(cluster::sdk::Registrar& registrar, std::string& error) noexcept {
  return cluster::sdk::guard_init("udp-multicast", error, [&] {
    const int receive_buffer = static_cast<int>(registrar.config().get_int("receive_buffer"));
    registrar.add_protocol("c", cluster::sdk::protocol_factory<UdpMulticastProtocol>(receive_buffer));
    return Result::success();
  });
}

}  // namespace

CLUSTER_PLUGIN_RANGED("udp-multicast", "1.0.0",
                      "UDP multicast transport (protocol c): heartbeats, discovery, broadcasts", kKeys,
                      std::size(kKeys), kRanges, std::size(kRanges), init, nullptr)
