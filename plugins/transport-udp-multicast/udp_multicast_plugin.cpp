// The udp-multicast transport ("c"): one UDP socket bound to the cluster group and port (IPv4
// or IPv6), shared by every member on the host (SO_REUSEADDR + SO_REUSEPORT), joined on the
// configured interface (by name, or the one with the bind address) or on every
// multicast-capable interface that is up. Everything it sends is one datagram to
// the group, direct sends included (the core adds a filter so only the target processes it).
// Interface rules and failure behaviour: docs/transports.md.
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cluster/sdk.hpp"
#include "datagram_batch.hpp"
#include "multicast_group.hpp"
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

constexpr int kDatagramsPerWakeup = 256;  // then let other sockets run (epoll is level-triggered)
constexpr unsigned kSendBatch = 64;             // datagrams per sendmmsg
constexpr std::size_t kQueueBytes = 1 << 20;    // queued in one turn beyond this: sent at once
constexpr std::size_t kKeepBytes = 256 << 10;   // queue capacity kept between turns

constexpr cluster::sdk::ConfigRange kRanges[] = {
    {"receive_buffer", 0, 1 << 30},
};

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

  /// The first datagram of a loop turn is sent at once (its error goes back to the core); later
  /// ones of the same turn are queued and sent together by a zero-delay timer (sendmmsg).
  Result multicast(std::string_view packet) noexcept override {
    return cluster::sdk::guard("udp-multicast: send", [&] {
      if (send_fd_ < 0) return Result::failure("udp-multicast: not started");
      const auto now = host_.loop().now();  // the same for every call of one loop turn
      if (now == turn_ && turn_sent_ && queue(packet)) return Result::success();
      flush_queued();  // (empty unless queue() refused): keeps the order
      turn_ = now;
      Result r = send_now(packet);
      // After a failure, the rest of this turn goes out one by one too, so the core sees each error.
      turn_sent_ = r.ok();
      return r;
    });
  }

  /// Joins interfaces that came up since (when no interface is chosen); hands on the pieces
  /// of packets that never completed.
  void check() noexcept override {
    cluster::sdk::guard_log(host_, "udp-multicast: check", [this] {
      if (fd_ < 0) return;
      if (reassembler_.pending() != 0) {
        current_origin_ = nullptr;
        reassembler_.expire(host_.loop().now(), deliver_);
      }
      if (chosen_) return;
      join_all(false);
    });
  }

  void stop() noexcept override { close_socket(); }

 private:
  /// The interface [cluster] interface names (a name or an address), else the one that has
  /// the [cluster] bind address; index 0 when neither is set. `source` gets the bind address.
  Result choose_interface(net::Interface& itf, std::string& source) {
    const cluster::sdk::ClusterSettings& s = host_.settings();
    if (!s.interface.empty()) {
      itf = net::find_interface(s.interface);
      if (itf.index == 0) return Result::failure("udp-multicast: no interface '" + s.interface + "'");
      return Result::success();
    }
    if (net::is_any_address(s.bind)) return Result::success();
    std::string error;
    source = net::resolve_address(s.bind, error);
    if (source.empty()) return Result::failure("udp-multicast: [cluster] bind: " + error);
    itf = net::find_interface(source);
    if (itf.index == 0)
      return Result::failure("udp-multicast: no interface has the [cluster] bind address " + source);
    in_addr v4{};
    if (::inet_pton(AF_INET, source.c_str(), &v4) == 1) itf.address = v4;  // send from it
    return Result::success();
  }

  Result open() {
    const cluster::sdk::ClusterSettings& s = host_.settings();
    const int receive_buffer = receive_buffer_;
    const std::string address = s.address.empty() ? "230.230.230.230" : s.address;
    if (s.port == 0) return Result::failure("udp-multicast: no port");
    if (!group_.parse(address, s.port))
      return Result::failure("udp-multicast: '" + address + "' is not a multicast address (224.0.0.0/4, ff00::/8)");
    const bool v6 = group_.family == AF_INET6;

    net::Interface chosen;
    std::string source;
    Result r = choose_interface(chosen, source);
    if (!r) return r;
    chosen_ = chosen.index != 0;
    if (group_.needs_interface) {
      if (!chosen_)
        return Result::failure("udp-multicast: the interface- or link-local group " + group_.group_text() +
                               " needs [cluster] interface (or bind)");
      group_.set_scope(chosen.index);
    }

    fd_ = ::socket(group_.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
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
    // groups that someone on the host joined on the same port. (A scoped IPv6 group binds the
    // socket to its interface.)
    if (::bind(fd_, group_.sa(), group_.length) != 0)
      return Result::failure("udp-multicast: bind " + group_.text + ": " + net::errno_text(errno));
    group_.only_joined_groups(fd_);
    // We send from a socket of our own (an ephemeral port): the kernel loops our datagrams back
    // to every member on this host, and a filter on our receiving socket drops the ones from
    // that port, so we do not read and decode our own traffic.
    send_fd_ = ::socket(group_.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (send_fd_ < 0) return Result::failure("udp-multicast: " + net::sys_error("socket"));
    r = bind_sender(source);
    if (!r) return r;
    const int hops = static_cast<int>(std::min(s.remote, 255u));
    if (!group_.set_hops(send_fd_, hops))
      return Result::failure("udp-multicast: " + net::sys_error(v6 ? "IPV6_MULTICAST_HOPS" : "IP_MULTICAST_TTL"));
    if (!group_.set_loop(send_fd_))
      return Result::failure("udp-multicast: " + net::sys_error(v6 ? "IPV6_MULTICAST_LOOP" : "IP_MULTICAST_LOOP"));

    if (chosen_) {
      if (!set_send_interface(chosen))
        return Result::failure("udp-multicast: " + net::sys_error("multicast interface " + chosen.name));
      if (!join(chosen))
        return Result::failure("udp-multicast: join " + group_.group_text() + " on " + chosen.name + ": " +
                               net::errno_text(errno));
    } else if (!join_all(true)) {
      return Result::failure("udp-multicast: cannot join " + group_.group_text() + " on any interface " +
                             (v6 ? "(IPv6 needs one that is up, multicast-capable, with an IPv6 address; lo "
                                   "carries no IPv6 multicast)"
                                 : "(not even lo)"));
    }
    r = check_route();
    if (!r) return r;

    watch_ = host_.loop().watch(fd_, cluster::sdk::readable, [this](std::uint32_t) noexcept {
      cluster::sdk::guard_log(host_, "udp-multicast: receive", [this] { on_readable(); });
    });
    if (watch_ == 0) return Result::failure("udp-multicast: cannot watch the socket");
    std::string joined_names;
    for (const net::Interface& i : joined_) joined_names += (joined_names.empty() ? "" : ", ") + i.name;
    host_.log(LogLevel::info, "udp-multicast: " + group_.text + (v6 ? " hops " : " ttl ") + std::to_string(hops) +
                                  ", joined on " + joined_names +
                                  (fallback_lo_ ? " (fallback: no multicast interface is up)" : ""));
    return Result::success();
  }

  /// Binds the sending socket to an ephemeral port (and, for IPv6, to the [cluster] bind
  /// address when it is one: the source receivers see, and reach us at) and filters that port
  /// out of what we receive.
  Result bind_sender(const std::string& source) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (group_.family != AF_INET6 || !net::make_address(source, 0, ss, len) || ss.ss_family != AF_INET6) {
      ss = sockaddr_storage{};
      ss.ss_family = static_cast<sa_family_t>(group_.family);
      len = group_.family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    }
    socklen_t got = sizeof ss;
    if (::bind(send_fd_, reinterpret_cast<const sockaddr*>(&ss), len) != 0 ||
        ::getsockname(send_fd_, reinterpret_cast<sockaddr*>(&ss), &got) != 0)
      return Result::failure("udp-multicast: " + net::sys_error("bind the sending socket"));
    if (!group_.drop_from_port(fd_, net::address_port(reinterpret_cast<const sockaddr*>(&ss))))
      host_.log(LogLevel::debug, "udp-multicast: " + net::sys_error("SO_ATTACH_FILTER") +
                                     " (our own datagrams are dropped by sid instead)");
    return Result::success();
  }

  /// Whether anything we multicast can leave: a UDP connect() to the group does the kernel's
  /// route lookup without sending. Without this a member with no usable route (lo down in a
  /// fresh namespace, no multicast route) would start and fail every send forever.
  Result check_route() {
    const int probe = ::socket(group_.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (probe < 0) return Result::failure("udp-multicast: " + net::sys_error("socket"));
    bool ok = send_via_.index == 0 || group_.send_through(probe, send_via_);
    ok = ok && ::connect(probe, group_.sa(), group_.length) == 0;
    const int err = errno;
    ::close(probe);
    if (ok) return Result::success();
    return Result::failure("udp-multicast: cannot send to " + group_.text +
                           (send_via_.index != 0 ? " through " + send_via_.name : std::string()) + ": " +
                           net::errno_text(err) + " (is the interface up, with a multicast route, e.g. " +
                           (group_.family == AF_INET ? "224.0.0.0/4" : "ff00::/8") + "?)");
  }

  bool set_send_interface(const net::Interface& itf) noexcept {
    send_via_ = itf;
    return group_.send_through(send_fd_, itf);
  }

  bool join(const net::Interface& itf) {
    if (std::any_of(joined_.begin(), joined_.end(), [&](const net::Interface& i) { return i.index == itf.index; }))
      return true;
    if (!group_.join(fd_, itf) && errno != EADDRINUSE) return false;
    joined_.push_back(itf);
    return true;
  }

  /// Joins every multicast-capable interface that is up; with none, falls back to lo (IPv4
  /// only; also for sending, as there is no other way out). False when nothing could be joined.
  bool join_all(bool first) {
    const std::vector<net::Interface> all = net::multicast_interfaces(group_.family);
    bool any = false;
    bool real = false;  // an interface other than lo
    for (const net::Interface& itf : all) {
      const bool was_joined =
          std::any_of(joined_.begin(), joined_.end(), [&](const net::Interface& i) { return i.index == itf.index; });
      if (join(itf)) {
        any = true;
        real = real || itf.name != "lo";
        if (!first && !was_joined)
          host_.log(LogLevel::info, "udp-multicast: joined " + group_.text + " on " + itf.name);
      } else {
        host_.log(LogLevel::warning, "udp-multicast: join on " + itf.name + ": " + net::errno_text(errno));
      }
    }
    if (fallback_lo_ && real) {
      // A real interface is up now: send through the default multicast route again.
      set_send_interface(net::Interface{});
      fallback_lo_ = false;
    }
    if (any || !joined_.empty()) return true;
    if (group_.family != AF_INET) return false;
    const net::Interface lo{"lo", ::if_nametoindex("lo"), net::ipv4_of("lo")};
    if (lo.index == 0 || !join(lo)) return false;
    set_send_interface(lo);
    fallback_lo_ = true;
    return true;
  }

  /// What identifies the sender of a datagram for reassembly: IPv4 address << 16 | port, or
  /// for IPv6 a hash of address, scope and port with the top bit set.
  static std::uint64_t source_key(const sockaddr_storage& from, socklen_t len) {
    if (from.ss_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
      sockaddr_in sin;
      std::memcpy(&sin, &from, sizeof sin);
      return std::uint64_t{ntohl(sin.sin_addr.s_addr)} << 16 | ntohs(sin.sin_port);
    }
    if (from.ss_family != AF_INET6 || len < static_cast<socklen_t>(sizeof(sockaddr_in6))) return 0;
    sockaddr_in6 sin6;
    std::memcpy(&sin6, &from, sizeof sin6);
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a
    auto mix = [&h](const void* p, std::size_t n) {
      for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<const unsigned char*>(p)[i]) * 1099511628211ull;
    };
    mix(&sin6.sin6_addr, sizeof sin6.sin6_addr);
    mix(&sin6.sin6_scope_id, sizeof sin6.sin6_scope_id);
    mix(&sin6.sin6_port, sizeof sin6.sin6_port);
    return h | (std::uint64_t{1} << 63);
  }

  /// Hands bytes from `source` to the core (reassembly.hpp delivers through this).
  void deliver(std::uint64_t source, std::string_view bytes) {
    if (current_origin_ != nullptr && source == current_source_) {
      host_.received(bytes, *current_origin_);
      return;
    }
    // Pieces left over from another sender (abandoned): that sender's origin, kept aside when
    // its first piece came, so the cache behind current_origin_ stays the current datagram's.
    const auto it = std::find_if(piece_origins_.begin(), piece_origins_.end(),
                                 [&](const auto& p) { return p.first == source; });
    const cluster::sdk::Origin origin = it != piece_origins_.end() ? it->second : cluster::sdk::Origin{};
    host_.received(bytes, origin);
  }

  /// Keeps the origin of a source whose packet is being reassembled (and only of those).
  void remember_piece_origin() {
    piece_origins_.erase(std::remove_if(piece_origins_.begin(), piece_origins_.end(),
                                        [&](const auto& p) { return !reassembler_.holds(p.first); }),
                         piece_origins_.end());
    if (current_origin_ == nullptr || !reassembler_.holds(current_source_)) return;
    if (std::none_of(piece_origins_.begin(), piece_origins_.end(),
                     [&](const auto& p) { return p.first == current_source_; }))
      piece_origins_.emplace_back(current_source_, *current_origin_);
  }

  /// Whether two sources are the same address (the port aside).
  static bool same_address(const sockaddr_storage& a, const sockaddr_storage& b) {
    if (a.ss_family != b.ss_family) return false;
    if (a.ss_family == AF_INET)
      return reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr ==
             reinterpret_cast<const sockaddr_in&>(b).sin_addr.s_addr;
    const auto& x = reinterpret_cast<const sockaddr_in6&>(a);
    const auto& y = reinterpret_cast<const sockaddr_in6&>(b);
    return std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof x.sin6_addr) == 0 && x.sin6_scope_id == y.sin6_scope_id;
  }

  /// The Origin of a datagram. Formatting the address and looking it up among ours cost more
  /// than the rest of the receive path, so the last source address is remembered for a second.
  const cluster::sdk::Origin& origin_of(const sockaddr_storage& from, socklen_t len) {
    const auto now = host_.loop().now();
    if (cached_valid_ && same_address(from, cached_from_) && now - cached_at_ < std::chrono::seconds(1))
      return cached_origin_;
    cached_from_ = from;
    cached_valid_ = from.ss_family == AF_INET || from.ss_family == AF_INET6;
    cached_at_ = now;
    cached_origin_.ip = net::address_text(reinterpret_cast<const sockaddr*>(&from), len);
    cached_origin_.local = locals_.is_local(cached_origin_.ip);
    cached_origin_.conn = 0;
    return cached_origin_;
  }

  void on_readable() {
    // recvmmsg, kBatch datagrams per call, again only after a full batch: an idle member's
    // heartbeat costs one call per wake-up, a burst one call per kBatch datagrams. After
    // kDatagramsPerWakeup, other sockets get their turn (the loop is level-triggered).
    const auto now = host_.loop().now();
    const net::BatchReceiver::Outcome out = receiver_.read(fd_, kDatagramsPerWakeup, [&](const net::Datagram& d) {
      if (d.truncated) {
        note_truncated(d.bytes.size());
        return fd_ >= 0;
      }
      // A reference member's packet over 4096 bytes comes in pieces (reassembly.hpp).
      current_source_ = source_key(*d.from, d.from_len);
      current_origin_ = &origin_of(*d.from, d.from_len);
      reassembler_.feed(current_source_, d.bytes, now, deliver_);
      if (fd_ >= 0 && (reassembler_.pending() != 0 || !piece_origins_.empty())) remember_piece_origin();
      return fd_ >= 0;  // a hook may have left the cluster inside received(): stop() closed it
    });
    current_origin_ = nullptr;
    if (out.error != 0) host_.log(LogLevel::warning, "udp-multicast: recvmmsg: " + net::errno_text(out.error));
  }

  /// A datagram larger than a slot (64 KiB: never over IPv4; an IPv6 jumbogram) is not whole:
  /// dropped, counted, logged at most once a minute.
  void note_truncated(std::size_t kept) {
    ++truncated_;
    const auto now = host_.loop().now();
    if (truncated_logged_at_ != decltype(now){} && now - truncated_logged_at_ < std::chrono::minutes(1)) return;
    truncated_logged_at_ = now;
    host_.log(LogLevel::warning, "udp-multicast: dropped a datagram over " + std::to_string(kept) +
                                     " bytes (truncated); " + std::to_string(truncated_) + " so far");
  }

  Result send_now(std::string_view packet) {
    for (;;) {
      const ssize_t n = ::sendto(send_fd_, packet.data(), packet.size(), 0, group_.sa(), group_.length);
      if (n >= 0 && static_cast<std::size_t>(n) == packet.size()) return Result::success();
      if (n < 0 && errno == EINTR) continue;
      if (n >= 0) return Result::failure("udp-multicast: short send");
      return Result::failure("udp-multicast: send " + std::to_string(packet.size()) + " bytes to " + group_.text +
                             ": " + net::errno_text(errno));
    }
  }

  /// Copies a datagram for flush_queued(), arming its zero-delay timer; false when it must be
  /// sent at once instead (too large to send at all: the kernel's error is the answer; no timer).
  bool queue(std::string_view packet) {
    const std::size_t limit = group_.family == AF_INET6 ? 65527 : 65507;
    if (packet.size() > limit) return false;
    if (arena_.size() + packet.size() > kQueueBytes) flush_queued();  // bounded; keeps the order
    if (flush_timer_ == 0) {
      flush_timer_ = host_.loop().after(std::chrono::milliseconds(0), [this]() noexcept {
        flush_timer_ = 0;
        cluster::sdk::guard_log(host_, "udp-multicast: batched send", [this] { flush_queued(); });
      });
      if (flush_timer_ == 0) return false;
    }
    queued_.emplace_back(arena_.size(), packet.size());
    arena_.append(packet.data(), packet.size());
    return true;
  }

  /// Sends the queued datagrams, kSendBatch per sendmmsg. A full socket buffer (EAGAIN,
  /// ENOBUFS) drops the rest, as a sendto would have failed for each; they are counted and
  /// logged (throttled).
  void flush_queued() {
    if (queued_.empty()) return;
    // Taken out first: a datagram queued while this runs (a log hook that multicasts) waits for
    // the next timer instead of being cleared with these.
    std::string arena;
    std::vector<std::pair<std::size_t, std::size_t>> queued;
    arena.swap(arena_);
    queued.swap(queued_);
    const std::size_t n = queued.size();
    std::size_t i = 0;
    while (i < n && send_fd_ >= 0) {
      mmsghdr msgs[kSendBatch];
      iovec iov[kSendBatch];
      const unsigned count = static_cast<unsigned>(std::min<std::size_t>(n - i, kSendBatch));
      for (unsigned k = 0; k < count; ++k) {
        iov[k].iov_base = arena.data() + queued[i + k].first;
        iov[k].iov_len = queued[i + k].second;
        msgs[k] = mmsghdr{};
        msgs[k].msg_hdr.msg_name = const_cast<sockaddr*>(group_.sa());
        msgs[k].msg_hdr.msg_namelen = group_.length;
        msgs[k].msg_hdr.msg_iov = &iov[k];
        msgs[k].msg_hdr.msg_iovlen = 1;
      }
      const int r = ::sendmmsg(send_fd_, msgs, count, 0);
      if (r > 0) {
        i += static_cast<std::size_t>(r);  // a short count: the next call reports the error
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      const int err = r < 0 ? errno : EIO;
      if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
        note_dropped(n - i, err);
        i = n;
        break;
      }
      note_dropped(1, err);  // that datagram cannot go (no route, ...): the next may
      ++i;
    }
    if (i < n) note_dropped(n - i, EBADF);  // the socket was closed meanwhile
    if (queued_.empty() && arena.capacity() <= kKeepBytes) {  // keep the buffers for the next turn
      arena.clear();
      queued.clear();
      arena_.swap(arena);
      queued_.swap(queued);
    }
  }

  void note_dropped(std::size_t count, int err) {
    dropped_ += count;
    const auto now = host_.loop().now();
    if (dropped_logged_at_ != decltype(now){} && now - dropped_logged_at_ < std::chrono::seconds(10)) return;
    dropped_logged_at_ = now;
    host_.log(LogLevel::warning, "udp-multicast: batched send to " + group_.text + ": " + net::errno_text(err) + ": " +
                                     std::to_string(count) + " datagram(s) dropped; " + std::to_string(dropped_) +
                                     " so far");
  }

  void close_socket() noexcept {
    if (!queued_.empty()) cluster::sdk::guard_log(host_, "udp-multicast: batched send", [this] { flush_queued(); });
    if (flush_timer_ != 0) {
      host_.loop().cancel(flush_timer_);
      flush_timer_ = 0;
    }
    turn_sent_ = false;
    if (watch_ != 0) {
      host_.loop().unwatch(watch_);
      watch_ = 0;
    }
    net::close_fd(fd_);  // leaves the groups
    net::close_fd(send_fd_);
    joined_.clear();
    send_via_ = net::Interface{};
    fallback_lo_ = false;
    chosen_ = false;
    piece_origins_.clear();
    receiver_.release();
  }

  ProtocolHost& host_;
  const int receive_buffer_;
  int fd_ = -1;       ///< bound to the group: receives
  int send_fd_ = -1;  ///< an ephemeral port: sends (see bind_sender)
  cluster::sdk::WatchId watch_ = 0;
  net::MulticastGroup group_;
  std::vector<net::Interface> joined_;
  net::Interface send_via_;  ///< the multicast interface of send_fd_ (index 0: the default route)
  bool chosen_ = false;      ///< one interface, from [cluster] interface or bind
  bool fallback_lo_ = false;
  cluster::sdk::Origin cached_origin_;  ///< see origin_of()
  sockaddr_storage cached_from_{};
  bool cached_valid_ = false;
  cluster::sdk::EventLoop::Clock::time_point cached_at_{};
  // Send batching (multicast()): the turn of the last datagram sent at once, the rest of it.
  cluster::sdk::EventLoop::Clock::time_point turn_{};
  bool turn_sent_ = false;  ///< that datagram went out: later ones of the turn may be queued
  std::string arena_;       ///< queued datagrams, back to back
  std::vector<std::pair<std::size_t, std::size_t>> queued_;  ///< offset, size in arena_
  cluster::sdk::TimerId flush_timer_ = 0;
  std::uint64_t dropped_ = 0;  ///< queued datagrams the kernel refused (see note_dropped)
  cluster::sdk::EventLoop::Clock::time_point dropped_logged_at_{};
  net::BatchReceiver receiver_;  ///< recvmmsg into the slab shared on this thread
  std::uint64_t truncated_ = 0;  ///< datagrams dropped as truncated (see note_truncated)
  cluster::sdk::EventLoop::Clock::time_point truncated_logged_at_{};
  net::LocalAddresses locals_;
  net::DatagramReassembler reassembler_;
  std::vector<std::pair<std::uint64_t, cluster::sdk::Origin>> piece_origins_;  ///< see deliver()
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
