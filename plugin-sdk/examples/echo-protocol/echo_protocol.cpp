// echo: the smallest useful cluster transport, as an example for plugin authors.
//
// Protocol id "e": UDP unicast on 127.0.0.1. Each member binds an ephemeral port and advertises
// it as its props ({port 40123}); a packet for a peer is sent as one datagram to the port that
// peer advertised. It reaches members on this host only (traits.local_only), and every read is a
// whole packet (traits.datagram), so the core needs no stream reassembly.
//
// Rules every plugin follows (docs/plugin-guide.md):
// - everything runs on the cluster's loop thread (sockets are watched with host.loop());
// - no exception leaves the plugin: each interface method is noexcept and runs its body through
//   an adapter of <cluster/sdk/boundary.hpp> (sdk::guard, sdk::guard_or, sdk::guard_init), which
//   turns what it may throw (allocation) into a failed Result;
// - stop() closes every socket and watch; no host call follows it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <cluster/sdk.hpp>

namespace {

using cluster::Dict;
using cluster::ServiceInfo;
namespace sdk = cluster::sdk;

constexpr const char* kId = "e";
/// The largest UDP payload over IPv4; larger packets fail here and the core tries the next
/// protocol in the peer's list.
constexpr std::size_t kMaxDatagram = 65507;
/// Datagrams read per readiness callback, so one busy socket cannot starve the loop.
constexpr int kReadBudget = 64;

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

class EchoProtocol final : public sdk::Protocol {
 public:
  explicit EchoProtocol(sdk::ProtocolHost& host) : host_(host) {}
  ~EchoProtocol() override { stop(); }
  EchoProtocol(const EchoProtocol&) = delete;
  EchoProtocol& operator=(const EchoProtocol&) = delete;

  std::string_view id() const noexcept override { return kId; }

  sdk::ProtocolTraits traits() const noexcept override {
    sdk::ProtocolTraits t;
    t.datagram = true;    // one read = one whole packet
    t.local_only = true;  // 127.0.0.1: never tried for members on other hosts
    t.multicast = false;  // heartbeats and discovery need another protocol ("c")
    return t;
  }

  sdk::Result start() noexcept override {
    // An exception (out of memory) becomes a failed Result "echo: start: <what>".
    sdk::Result r = sdk::guard("echo: start", [this] { return open(); });
    if (!r) stop();  // a failed start leaves nothing open
    return r;
  }

  Dict props() const noexcept override {
    // Advertised as "e {port 40123}"; nothing at all if even that cannot be built.
    return sdk::guard_or(Dict{}, [this] { return Dict{{"port", std::to_string(port_)}}; });
  }

  sdk::Result send(const ServiceInfo& peer, std::string_view packet, const sdk::SendOptions&) noexcept override {
    return sdk::guard("echo: send", [&] {
      if (fd_ < 0) return sdk::Result::failure("not started");
      const std::string port_text = peer.prop(kId, "port");
      // Strict: the whole text is a number in 1..65535 ("80x", "+80", "" are refused).
      const auto port = sdk::text::parse_uint(port_text, 65535);
      if (!port || *port == 0)
        return sdk::Result::failure("peer advertises no valid e port ('" + sdk::text::printable(port_text, 40) + "')");
      if (packet.size() > kMaxDatagram)
        return sdk::Result::failure("packet of " + std::to_string(packet.size()) + " bytes exceeds one datagram");
      const sockaddr_in to = loopback(static_cast<std::uint16_t>(*port));
      // UDP: the whole packet or nothing. A closed port is NOT reported here (unconnected
      // socket); the core notices a vanished member by its silence (ping, expiry).
      const ssize_t n = ::sendto(fd_, packet.data(), packet.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
      if (n < 0) return sdk::Result::failure(errno_text("sendto"));
      return sdk::Result::success();
    });
  }

  void stop() noexcept override {
    if (watch_ != 0) host_.loop().unwatch(watch_);
    watch_ = 0;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  /// start()'s body: may throw, start() guards it and closes what it opened on failure.
  sdk::Result open() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return sdk::Result::failure(errno_text("socket"));
    sockaddr_in a = loopback(0);  // port 0: the kernel picks a free one
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) return sdk::Result::failure(errno_text("bind"));
    socklen_t len = sizeof a;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      return sdk::Result::failure(errno_text("getsockname"));
    port_ = ntohs(a.sin_port);
    buffer_.resize(kMaxDatagram + 1);
    watch_ = host_.loop().watch(fd_, sdk::readable, [this](std::uint32_t) { on_readable(); });
    if (watch_ == 0) return sdk::Result::failure("cannot watch the socket");
    host_.log(sdk::LogLevel::info,
              host_.config().get("greeting") + ": echo protocol on udp 127.0.0.1:" + std::to_string(port_));
    return sdk::Result::success();
  }

  void on_readable() noexcept {
    sdk::Origin origin;
    origin.ip = "127.0.0.1";  // only loopback can reach a socket bound to 127.0.0.1
    origin.local = true;
    for (int i = 0; i < kReadBudget && fd_ >= 0; ++i) {
      const ssize_t n = ::recv(fd_, buffer_.data(), buffer_.size(), 0);
      if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
          host_.log(sdk::LogLevel::warning, errno_text("recv"));
        return;
      }
      // The core frames, decodes and checks the packet; a malformed one is its business.
      host_.received(std::string_view(buffer_.data(), static_cast<std::size_t>(n)), origin);
    }
  }

  sdk::ProtocolHost& host_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  sdk::WatchId watch_ = 0;
  std::vector<char> buffer_;
};

// The plugin's configuration: one [echo] key. The host rejects unknown keys and fills defaults
// before init runs.
const sdk::ConfigKey kConfig[] = {
    {"greeting", sdk::ConfigType::string, "hello", "word logged when the protocol starts"},
};

bool init(sdk::Registrar& registrar, std::string& error) noexcept {
  // A failed Result or an exception refuses the load with its message in `error`.
  return sdk::guard_init("echo", error, [&] {
    registrar.add_protocol(kId, [](sdk::ProtocolHost& host) -> std::unique_ptr<sdk::Protocol> {
      return std::make_unique<EchoProtocol>(host);
    });
    return sdk::Result::success();
  });
}

}  // namespace

CLUSTER_PLUGIN("echo", "1.0.0", "example transport: UDP unicast on 127.0.0.1 (protocol e)", kConfig,
               static_cast<std::uint32_t>(std::size(kConfig)), init, nullptr)
