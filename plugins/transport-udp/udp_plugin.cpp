// The udp transport ("d"): one unicast UDP socket per member, advertised as {port N} (plus
// {host A} with [cluster] advertise). A packet to a member is one datagram to its address and
// port; every datagram read is one packet for the core. Nothing is retried or acknowledged:
// it is for small, loss-tolerant exchanges (failure-detector probes) where a stream's
// retransmits and head-of-line blocking hurt, and as a last resort for the rest. Peers must
// list it last in [cluster] protocols (docs/transports.md).
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/sdk.hpp"
#include "datagram_batch.hpp"
#include "net.hpp"
#include "udp_socket.hpp"

namespace {

using cluster::Dict;
using cluster::ServiceInfo;
using cluster::sdk::ConfigKey;
using cluster::sdk::ConfigType;
using cluster::sdk::LogLevel;
using cluster::sdk::PluginConfig;
using cluster::sdk::ProtocolHost;
using cluster::sdk::ProtocolTraits;
using cluster::sdk::Result;
using cluster::sdk::SendOptions;
namespace net = cluster::transport;

constexpr ConfigKey kKeys[] = {
    {"bind", ConfigType::string, "",
     "address to bind: :: (every address, IPv4 and IPv6), 0.0.0.0 (every IPv4 address), or one "
     "address or host name; empty = [cluster] bind, else ::"},
    {"port", ConfigType::integer, "0", "port to bind; 0 = an ephemeral port chosen by the system"},
    {"receive_buffer", ConfigType::integer, "1048576",
     "SO_RCVBUF in bytes (beyond net.core.rmem_max only with CAP_NET_ADMIN, else capped there); "
     "0 = the system default"},
    {"send_buffer", ConfigType::integer, "0", "SO_SNDBUF in bytes; 0 = the system default"},
};

constexpr cluster::sdk::ConfigRange kRanges[] = {
    {"port", 0, 65535},
    {"receive_buffer", 0, 1 << 30},
    {"send_buffer", 0, 1 << 30},
};

/// The [udp] section, parsed once at init (the host kept every integer in its range).
struct UdpConfig {
  std::string bind;
  std::uint16_t port = 0;
  int receive_buffer = 0;
  int send_buffer = 0;
};

UdpConfig parse_config(const PluginConfig& cfg) {
  UdpConfig out;
  out.bind = cfg.get("bind");
  out.port = static_cast<std::uint16_t>(cfg.get_int("port"));
  out.receive_buffer = static_cast<int>(cfg.get_int("receive_buffer"));
  out.send_buffer = static_cast<int>(cfg.get_int("send_buffer"));
  return out;
}

constexpr int kDatagramsPerWakeup = 64;  // then let other sockets run (epoll is level-triggered)

class UdpProtocol final : public cluster::sdk::Protocol {
 public:
  UdpProtocol(ProtocolHost& host, const UdpConfig& cfg) : host_(host), cfg_(cfg) {}
  ~UdpProtocol() override { stop(); }

  std::string_view id() const noexcept override { return "d"; }
  ProtocolTraits traits() const noexcept override { return ProtocolTraits{false, true, false}; }

  Result start() noexcept override {
    if (socket_.fd >= 0) return Result::failure("udp: already started");
    Result r = cluster::sdk::guard("udp: start", [this] { return open(); });
    if (!r) stop();
    return r;
  }

  Dict props() const noexcept override {
    return cluster::sdk::guard_or(Dict{}, [this] {
      if (socket_.fd < 0) return Dict{};
      Dict d{{"port", std::to_string(socket_.port)}};
      if (!advertised_.empty()) d.emplace_back("host", advertised_);
      return d;
    });
  }

  Result send(const ServiceInfo& peer, std::string_view packet, const SendOptions& /*options*/) noexcept override {
    return cluster::sdk::guard("udp: send", [&] { return send_datagram(peer, packet); });
  }

  void stop() noexcept override {
    if (watch_ != 0) {
      host_.loop().unwatch(watch_);
      watch_ = 0;
    }
    socket_.close();
    receiver_.release();
  }

  // refresh(): a peer's send over "d" can only fail on its side (size, route, family): a new
  // socket here would change nothing but our port, so the default (nothing) stands.

 private:
  Result open() {
    const cluster::sdk::ClusterSettings& s = host_.settings();
    std::string bind = cfg_.bind.empty() ? s.bind : cfg_.bind;
    std::string error;
    // A name is resolved here, once (like tcp); "" and "::" stay: every address.
    if (!bind.empty() && bind != "::" && (bind = net::resolve_address(bind, error)).empty())
      return Result::failure("udp: bind: " + error);
    advertised_.clear();
    if (!s.advertise.empty() && (advertised_ = net::resolve_address(s.advertise, error)).empty())
      return Result::failure("udp: [cluster] advertise: " + error);

    if (const std::string e = socket_.open(bind, cfg_.port); !e.empty()) return Result::failure("udp: " + e);
    // SO_RCVBUFFORCE may exceed net.core.rmem_max (needs CAP_NET_ADMIN); else SO_RCVBUF, capped.
    if (cfg_.receive_buffer > 0 && !net::set_int_option(socket_.fd, SOL_SOCKET, SO_RCVBUFFORCE, cfg_.receive_buffer) &&
        !net::set_int_option(socket_.fd, SOL_SOCKET, SO_RCVBUF, cfg_.receive_buffer))
      host_.log(LogLevel::warning, "udp: " + net::sys_error("SO_RCVBUF"));
    if (cfg_.send_buffer > 0 && !net::set_int_option(socket_.fd, SOL_SOCKET, SO_SNDBUF, cfg_.send_buffer))
      host_.log(LogLevel::warning, "udp: " + net::sys_error("SO_SNDBUF"));
    watch_ = host_.loop().watch(socket_.fd, cluster::sdk::readable, [this](std::uint32_t ready) noexcept {
      cluster::sdk::guard_log(host_, "udp: receive", [&] { on_ready(ready); });
    });
    if (watch_ == 0) return Result::failure("udp: cannot watch the socket");
    host_.log(LogLevel::info, "udp: " + net::host_port(socket_.address, socket_.port) +
                                  (socket_.dual_stack ? " (IPv4 and IPv6)" : "") +
                                  (advertised_.empty() ? "" : ", advertised as " + advertised_));
    return Result::success();
  }

  /// Where `peer` is reached: its advertised host, else the address its packets come from; a
  /// member on this host at that address first (an address of ours: no NAT in between), and
  /// over loopback when we know no address of it (heard over unix only).
  std::string address_of(const ServiceInfo& peer) const {
    const std::string advertised = peer.prop("d", "host");
    if (peer.local && !peer.ip.empty()) return peer.ip;
    if (!advertised.empty()) return advertised;
    if (!peer.ip.empty()) return peer.ip;
    if (!peer.local) return {};
    return socket_.family == AF_INET6 && !socket_.dual_stack ? "::1" : "127.0.0.1";
  }

  Result send_datagram(const ServiceInfo& peer, std::string_view packet) {
    if (socket_.fd < 0) return Result::failure("udp: not started");
    // Over the limit the kernel refuses it (EMSGSIZE) anyway; say which limit, so the core's
    // fallback to the peer's next protocol is explained in its log.
    if (packet.size() > net::kMaxUdpPayload)
      return Result::failure("udp: a packet of " + std::to_string(packet.size()) + " bytes exceeds the datagram limit (" +
                             std::to_string(net::kMaxUdpPayload) + " bytes)");
    const std::string port_text = peer.prop("d", "port");
    const std::uint16_t port = net::parse_port(port_text);
    if (port == 0) return Result::failure("udp: " + peer.uuid + " advertises no valid d port ('" + port_text + "')");
    const std::string ip = address_of(peer);
    if (ip.empty()) return Result::failure("udp: no address for " + peer.uuid);
    sockaddr_storage to{};
    socklen_t len = 0;
    if (const std::string e = socket_.destination(ip, port, to, len); !e.empty())
      return Result::failure("udp: cannot send to " + net::host_port(ip, port) + ": " + e);
    for (;;) {
      const ssize_t n = ::sendto(socket_.fd, packet.data(), packet.size(), 0, reinterpret_cast<const sockaddr*>(&to), len);
      if (n >= 0 && static_cast<std::size_t>(n) == packet.size()) return Result::success();
      if (n < 0 && errno == EINTR) continue;
      if (n >= 0) return Result::failure("udp: short send to " + net::host_port(ip, port));
      // EAGAIN: the send buffer is full. A datagram transport drops rather than queues; the
      // core then tries the peer's next protocol.
      return Result::failure("udp: send " + std::to_string(packet.size()) + " bytes to " + net::host_port(ip, port) +
                             ": " + net::errno_text(errno));
    }
  }

  void on_ready(std::uint32_t ready) {
    if ((ready & cluster::sdk::error) != 0) {
      // A pending socket error (an ICMP error on some kernels): reading SO_ERROR clears it, so
      // the level-triggered loop does not spin on it.
      int err = 0;
      socklen_t elen = sizeof err;
      if (::getsockopt(socket_.fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err != 0)
        host_.log(LogLevel::debug, "udp: socket error: " + net::errno_text(err));
    }
    // recvmmsg, a batch per call, again only after a full batch (see datagram_batch.hpp).
    int left = kDatagramsPerWakeup;
    while (left > 0 && socket_.fd >= 0) {
      const net::BatchReceiver::Outcome out = receiver_.read(socket_.fd, left, [this](const net::Datagram& d) {
        // Empty datagrams carry no packet; a truncated one (IPv6 jumbograms only) is not whole.
        if (d.truncated) {
          note_truncated(d.bytes.size());
        } else if (!d.bytes.empty()) {
          origin_.ip = net::address_text(reinterpret_cast<const sockaddr*>(d.from), d.from_len);
          origin_.local = locals_.is_local(origin_.ip);
          origin_.conn = 0;
          host_.received(d.bytes, origin_);
        }
        return socket_.fd >= 0;  // a hook may have left the cluster inside received(): stop() closed it
      });
      if (out.error == 0) return;  // drained, or the limit
      // ECONNREFUSED and the like report an earlier send's ICMP error: nothing to read. Read on.
      host_.log(LogLevel::debug, "udp: recvmmsg: " + net::errno_text(out.error));
      left -= out.datagrams + 1;
    }
  }

  /// A datagram larger than a slot (an IPv6 jumbogram) is not whole: dropped, counted, logged
  /// at most once a minute.
  void note_truncated(std::size_t kept) {
    ++truncated_;
    const auto now = host_.loop().now();
    if (truncated_logged_at_ != decltype(now){} && now - truncated_logged_at_ < std::chrono::minutes(1)) return;
    truncated_logged_at_ = now;
    host_.log(LogLevel::warning, "udp: dropped a datagram over " + std::to_string(kept) + " bytes (truncated); " +
                                     std::to_string(truncated_) + " so far");
  }

  ProtocolHost& host_;
  const UdpConfig cfg_;
  net::UdpSocket socket_;
  std::string advertised_;  ///< [cluster] advertise, numeric: our `host` prop
  cluster::sdk::WatchId watch_ = 0;
  net::BatchReceiver receiver_;  ///< recvmmsg into the slab shared on this thread
  std::uint64_t truncated_ = 0;  ///< datagrams dropped as truncated (see note_truncated)
  cluster::sdk::EventLoop::Clock::time_point truncated_logged_at_{};
  cluster::sdk::Origin origin_;
  net::LocalAddresses locals_;
};

bool init(cluster::sdk::Registrar& registrar, std::string& error) noexcept {
  return cluster::sdk::guard_init("udp", error, [&] {
    registrar.add_protocol("d", cluster::sdk::protocol_factory<UdpProtocol>(parse_config(registrar.config())));
    return Result::success();
  });
}

}  // namespace

CLUSTER_PLUGIN_RANGED("udp", "1.0.0", "UDP unicast transport (protocol d): one datagram per packet, lossy",
                      kKeys, std::size(kKeys), kRanges, std::size(kRanges), init, nullptr)
