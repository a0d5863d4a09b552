#include "tcp_protocol.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace cluster::transport {

using sdk::LogLevel;
using sdk::Result;
using Bound = TcpStreamProtocol::Bound;

TcpConfig parse_tcp_config(const sdk::PluginConfig& cfg) {
  TcpConfig out;
  out.bind = cfg.get("bind");
  out.port = static_cast<std::uint16_t>(cfg.get_int("port"));
  out.connect_timeout_ms = static_cast<int>(cfg.get_int("connect_timeout_ms"));
  out.keepalive = cfg.get_bool("keepalive");
  out.stream = parse_stream_config(cfg, true);
  return out;
}

namespace {

/// Opens a listening socket on bind:port; sets `bound` to what was actually bound.
Result open_tcp_listener(const std::string& name, const std::string& bind, std::uint16_t wanted, int& fd_out,
                         Bound& bound) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* list = nullptr;
  const std::string service = std::to_string(wanted);
  const int gai = ::getaddrinfo(bind.c_str(), service.c_str(), &hints, &list);
  if (gai != 0) return Result::failure(name + ": cannot resolve bind address '" + bind + "': " + ::gai_strerror(gai));
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(list, ::freeaddrinfo);
  std::string last_error = "no address";
  for (const addrinfo* a = list; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last_error = sys_error("socket");
      continue;
    }
    set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0) {
      last_error = sys_error("bind");
      close_fd(fd);
      continue;
    }
    if (::listen(fd, SOMAXCONN) != 0) {
      last_error = sys_error("listen");
      close_fd(fd);
      continue;
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
      last_error = sys_error("getsockname");
      close_fd(fd);
      continue;
    }
    fd_out = fd;
    bound.port = address_port(reinterpret_cast<const sockaddr*>(&ss));
    bound.address = ss;
    bound.length = len;
    return Result::success();
  }
  return Result::failure(name + ": cannot listen on " + host_port(bind, wanted) + ": " + last_error);
}

// How long a send waits for a new connection before the loop moves on and the connect goes on
// in the background: loopback and a live LAN peer answer well within it (and a refusal is then
// reported to the sender, which falls back to the next protocol); a host gone silent does not
// stall the member for the whole connect timeout.
constexpr int kConnectWaitMs = 20;

/// Makes a connection to `ip` leave from the listener's address when the listener has one
/// address (not all), so peers see the address we listen on. A loopback address cannot reach
/// another host; a failure leaves the choice to the kernel.
void bind_source(int fd, const std::string& ip, const sockaddr_storage& to, const Bound& from) {
  if (from.length == 0 || from.address.ss_family != to.ss_family) return;
  const std::string source = address_text(reinterpret_cast<const sockaddr*>(&from.address), from.length);
  if (is_any_address(source) || (is_loopback_address(source) && !is_loopback_address(ip))) return;
  sockaddr_storage ss = from.address;
  if (ss.ss_family == AF_INET) reinterpret_cast<sockaddr_in&>(ss).sin_port = 0;
  else reinterpret_cast<sockaddr_in6&>(ss).sin6_port = 0;
#ifdef IP_BIND_ADDRESS_NO_PORT
  set_int_option(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1);  // the port comes with connect()
#endif
  (void)::bind(fd, reinterpret_cast<const sockaddr*>(&ss), from.length);
}

/// Non-blocking connect (from `source`, see bind_source), waiting with poll() up to
/// min(timeout_ms, kConnectWaitMs); when it is still in progress then, `pending_ms` is the rest
/// of timeout_ms (and fd_out is connecting).
Result connect_to(const std::string& name, const std::string& ip, std::uint16_t port, const Bound& source,
                  int timeout_ms, int& fd_out, int& pending_ms) {
  pending_ms = 0;
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (!make_address(ip, port, ss, len)) return Result::failure(name + ": '" + ip + "' is not an IP address");
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Result::failure(name + ": " + sys_error("socket"));
  bind_source(fd, ip, ss, source);
  const std::string where = host_port(ip, port);
  // EINTR: the connect goes on asynchronously, like EINPROGRESS.
  const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&ss), len);
  if (rc != 0 && errno != EINPROGRESS && errno != EINTR) {
    Result r = Result::failure(name + ": connect to " + where + ": " + errno_text(errno));
    close_fd(fd);
    return r;
  }
  if (rc != 0) {
    const int wait_ms = std::min(timeout_ms, kConnectWaitMs);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{fd, POLLOUT, 0};
      const int n = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, left.count())));
      if (n > 0) break;
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 && timeout_ms > wait_ms) {  // still connecting: go on in the background
        pending_ms = timeout_ms - wait_ms;
        fd_out = fd;
        return Result::success();
      }
      Result r = Result::failure(n == 0 ? name + ": connect to " + where + ": timed out after " +
                                              std::to_string(timeout_ms) + " ms"
                                        : name + ": connect to " + where + ": " + sys_error("poll"));
      close_fd(fd);
      return r;
    }
    int err = 0;
    socklen_t elen = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0) err = errno;
    if (err != 0) {
      Result r = Result::failure(name + ": connect to " + where + ": " + errno_text(err));
      close_fd(fd);
      return r;
    }
  }
  fd_out = fd;
  return Result::success();
}

}  // namespace

TcpStreamProtocol::TcpStreamProtocol(sdk::ProtocolHost& host, std::string id, std::string name, const TcpConfig& cfg)
    : StreamProtocol(host, {id, std::move(name), sdk::ProtocolTraits{false, false, false}, true, cfg.keepalive},
                     cfg.stream),
      id_(std::move(id)),
      cfg_(cfg) {}

/// Where to listen and what to advertise, from our section and [cluster]; an advertised name is
/// resolved here, once (peers are given a numeric host and never resolve).
Result TcpStreamProtocol::prepare() {
  const sdk::ClusterSettings& s = host().settings();
  bind_ = cfg_.bind;
  if (bind_.empty()) bind_ = s.bind;
  if (bind_.empty()) bind_ = s.address.find(':') != std::string::npos ? "::" : "0.0.0.0";
  advertised_.clear();
  if (s.advertise.empty()) return Result::success();
  std::string error;
  advertised_ = resolve_address(s.advertise, error);
  if (advertised_.empty()) return Result::failure(name() + ": [cluster] advertise: " + error);
  return Result::success();
}

Result TcpStreamProtocol::open_listener() {
  int fd = -1;
  Result r = open_tcp_listener(name(), bind_, cfg_.port, fd, bound_);
  if (!r) return r;
  return listen(fd);
}

/// A listener that died (accept failing for good) is recreated on the next heartbeat, without
/// waiting for a peer's failure report.
bool TcpStreamProtocol::listener_ok(std::string& problem) {
  if (transport().listening()) return true;
  problem = name() + ": listener is dead; recreating it";
  return false;
}

Result TcpStreamProtocol::replace_listener() {
  const std::uint16_t old_port = bound_.port;
  int fd = -1;
  Bound bound;
  if (cfg_.port == 0) {
    // Open the new listener before closing the old one: the system cannot hand out the
    // same ephemeral port again, so peers holding the stale props fail fast.
    Result r = open_tcp_listener(name(), bind_, 0, fd, bound);
    if (!r) return r;
  } else {
    transport().close_listener();
    Result r = open_tcp_listener(name(), bind_, cfg_.port, fd, bound);
    if (!r) {
      host().log(LogLevel::error, r.message());
      return r;
    }
  }
  Result r = listen(fd);  // closes the old listener; connections stay open
  if (!r) return r;
  bound_ = bound;
  host().log(LogLevel::notice, name() + ": listener recreated, port " + std::to_string(old_port) + " -> " +
                                   std::to_string(bound_.port));
  return Result::success();
}

Dict TcpStreamProtocol::listener_props() const {
  Dict d{{"port", std::to_string(bound_.port)}};
  if (!advertised_.empty()) d.emplace_back("host", advertised_);
  return d;
}

std::string TcpStreamProtocol::listener_address() const {
  return host_port(bind_, bound_.port) + (advertised_.empty() ? "" : ", advertised as " + advertised_);
}

Result TcpStreamProtocol::connect(const ServiceInfo& peer, int& fd, std::string& ip, bool& local, int& pending_ms) {
  const std::string port_text = peer.prop(id_, "port");
  const std::uint16_t port = parse_port(port_text);
  if (port == 0)
    return Result::failure(name() + ": " + peer.uuid + " advertises no valid " + id_ + " port ('" + port_text + "')");
  // A local peer is reached over loopback, then at its advertised host, then at its address
  // (e.g. a peer that listens on one address only). A remote one at its advertised host
  // when it has one (NAT, several interfaces), else at the address its packets come from.
  const std::string advertised = peer.prop(id_, "host");
  std::vector<std::string> candidates;
  auto add = [&](const std::string& address) {
    if (!address.empty() && std::find(candidates.begin(), candidates.end(), address) == candidates.end())
      candidates.push_back(address);
  };
  if (peer.ip.empty() || peer.local) {
    add("127.0.0.1");
    add(advertised);
    add(peer.ip);
  } else {
    add(advertised.empty() ? peer.ip : advertised);
  }
  Result last = Result::failure(name() + ": no address for " + peer.uuid);
  for (const std::string& candidate : candidates) {
    last = connect_to(name(), candidate, port, bound_, cfg_.connect_timeout_ms, fd, pending_ms);
    if (last) {  // connected, or connecting (then the next candidate is never tried)
      ip = candidate;
      local = peer.local || locals_.is_local(candidate);
      return last;
    }
  }
  return last;
}

}  // namespace cluster::transport
