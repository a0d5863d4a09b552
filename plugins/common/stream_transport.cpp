#include "stream_transport.hpp"

#include "cluster/sdk/boundary.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <exception>
#include <utility>

namespace cluster::transport {

using sdk::ConnectionId;
using sdk::LogLevel;
using sdk::Result;

namespace {

constexpr std::size_t kReadBuffer = 64 * 1024;
constexpr int kReadsPerWakeup = 16;    // then let other sockets run (epoll is level-triggered)
constexpr int kAcceptsPerWakeup = 64;
constexpr std::size_t kShrinkAbove = 1u << 20;
constexpr int kUnixSendBuffer = 1 << 20;
// Under a flood, one warning per this period says how many were held back.
constexpr auto kWarningPeriod = std::chrono::seconds(10);

/// The lowest descriptor number an accepted socket may have: accept() returns the lowest free
/// number, so one at or above the nofile soft limit minus the reserve means the process is
/// nearly out of descriptors (the control socket, outgoing connections, plugins need some).
int fd_ceiling(std::size_t reserve) noexcept {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1 << 30;
  const auto soft = static_cast<std::size_t>(rl.rlim_cur);
  return static_cast<int>(soft > 2 * reserve ? soft - reserve : soft / 2);
}

bool would_block(int err) noexcept { return err == EAGAIN || err == EWOULDBLOCK; }

}  // namespace

StreamConfig parse_stream_config(const sdk::PluginConfig& cfg, bool per_source) {
  StreamConfig out;
  out.max_pending_bytes = static_cast<std::size_t>(cfg.get_int("max_pending_bytes"));
  out.limits.idle_timeout_ms = cfg.get_int("idle_timeout_ms");
  out.limits.max_connections = static_cast<std::size_t>(cfg.get_int("max_connections"));
  out.limits.reserved_fds = static_cast<std::size_t>(cfg.get_int("reserved_fds"));
  out.limits.max_per_source = per_source ? static_cast<std::size_t>(cfg.get_int("max_connections_per_source")) : 0;
  return out;
}

StreamTransport::StreamTransport(sdk::ProtocolHost& host, StreamOptions options)
    : host_(host), options_(std::move(options)) {}

StreamTransport::~StreamTransport() { shutdown(); }

StreamTransport::Conn* StreamTransport::find(ConnectionId id) noexcept {
  auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : it->second.get();
}

std::size_t StreamTransport::pending_bytes(ConnectionId id) const noexcept {
  auto it = conns_.find(id);
  return it == conns_.end() ? 0 : it->second->out.size() - it->second->out_pos;
}

sdk::Backlog StreamTransport::backlog(std::string_view peer_uuid) const noexcept {
  sdk::Backlog b;
  b.limit = options_.max_pending_bytes;
  auto bound = by_uuid_.find(peer_uuid);
  if (bound == by_uuid_.end()) return b;
  auto it = conns_.find(bound->second);
  if (it == conns_.end()) return b;
  const Conn& c = *it->second;
  b.bytes = c.out.size() - c.out_pos + c.plain.size();
  return b;
}

Result StreamTransport::listen(int fd) {
  stopped_ = false;
  const sdk::WatchId w = host_.loop().watch(fd, sdk::readable, [this](std::uint32_t) noexcept {
    sdk::guard_log(host_, "stream transport: accept", [this] { on_accept(); });
  });
  if (w == 0) {
    int tmp = fd;
    close_fd(tmp);
    return Result::failure(options_.name + ": cannot watch the listening socket");
  }
  close_listener();
  listen_fd_ = fd;
  listen_watch_ = w;
  return Result::success();
}

void StreamTransport::close_listener() noexcept {
  if (accept_retry_ != 0) {
    host_.loop().cancel(accept_retry_);
    accept_retry_ = 0;
  }
  if (listen_watch_ != 0) {
    host_.loop().unwatch(listen_watch_);
    listen_watch_ = 0;
  }
  close_fd(listen_fd_);
}

void StreamTransport::configure(int fd) noexcept {
  if (options_.tcp) {
    set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    if (options_.keepalive) set_int_option(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
  } else {
    // Unix streams have no buffer auto-tuning: at the default (208 KiB) a writer stalls while
    // one loop turn's batch is still being read. Beyond wmem_max only with CAP_NET_ADMIN.
    if (!set_int_option(fd, SOL_SOCKET, SO_SNDBUFFORCE, kUnixSendBuffer))
      set_int_option(fd, SOL_SOCKET, SO_SNDBUF, kUnixSendBuffer);
  }
}

void StreamTransport::on_accept() {
  for (int i = 0; i < kAcceptsPerWakeup && listen_fd_ >= 0; ++i) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      if (would_block(err)) return;
      if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        warn_throttled(options_.name + ": accept: " + errno_text(err) + "; pausing accepts for 200 ms");
        // Out of descriptors: stop accepting for a moment instead of spinning on a ready fd.
        host_.loop().modify(listen_watch_, 0);
        if (accept_retry_ == 0)
          accept_retry_ = host_.loop().after(std::chrono::milliseconds(200), [this]() noexcept {
            accept_retry_ = 0;
            if (listen_watch_ != 0) host_.loop().modify(listen_watch_, sdk::readable);
          });
        return;
      }
      // The listener itself is broken (EINVAL: it no longer listens, e.g. after a shutdown(2)).
      // It stays ready (hang-ups are reported whatever the interest), so stop watching it, or
      // the loop spins here; refresh() (after a peer's failure report) opens a new one.
      host_.log(LogLevel::error, options_.name + ": accept: " + errno_text(err) +
                                     "; the listener is dead, not accepting until it is refreshed");
      host_.loop().unwatch(listen_watch_);
      listen_watch_ = 0;
      return;
    }
    std::string ip;
    bool local = true;
    if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
      ip = address_text(reinterpret_cast<const sockaddr*>(&ss), len);
      local = locals_.is_local(ip);
    }
    if (!admit(fd, ip)) continue;
    configure(fd);
    const ConnectionId id = adopt(fd, ip, local, {}, false);
    if (id == 0) continue;
    Conn* c = find(id);
    c->inbound = true;
    ++inbound_;
    if (!c->ip.empty()) ++per_source_[c->ip];
    host_.log(LogLevel::debug, options_.name + ": accepted connection " + std::to_string(id) +
                                   (ip.empty() ? std::string() : " from " + ip));
  }
}

// At a cap a newcomer takes the place of the least recently active inbound connection rather
// than being turned away: a flood of idle connections cannot lock members out, and a member
// whose idle connection goes simply reconnects on its next send. Outgoing connections (ours)
// are never evicted.
bool StreamTransport::admit(int& fd, const std::string& ip) {
  const StreamLimits& lim = options_.limits;
  if (fd >= fd_ceiling(lim.reserved_fds)) {
    // Replace the least recently active one and move the newcomer down to its (now lowest free)
    // number, so the reserve stays free; nobody to replace: refuse it.
    const int high = fd;
    int low = -1;
    if (evict({})) low = ::fcntl(high, F_DUPFD_CLOEXEC, 0);
    close_fd(fd);
    if (low < 0) {
      host_.count(sdk::StreamGuard::refused);
      warn_throttled(options_.name + ": refused a connection" + (ip.empty() ? std::string() : " from " + ip) +
                     ": descriptor " + std::to_string(high) + " is within reserved_fds (" +
                     std::to_string(lim.reserved_fds) + ") of the nofile limit");
      return false;
    }
    fd = low;
    warn_throttled(options_.name + ": near the nofile limit (reserved_fds " + std::to_string(lim.reserved_fds) +
                   "): closed the least recently active inbound connection for a new one");
  }
  if (inbound_ >= lim.max_connections && evict({}))
    warn_throttled(options_.name + ": " + std::to_string(lim.max_connections) +
                   " inbound connections (max_connections): closed the least recently active one");
  if (lim.max_per_source > 0 && !ip.empty()) {
    auto it = per_source_.find(ip);
    if (it != per_source_.end() && it->second >= lim.max_per_source && evict(ip))
      warn_throttled(options_.name + ": " + std::to_string(lim.max_per_source) + " inbound connections from " + ip +
                     " (max_connections_per_source): closed its least recently active one");
  }
  return true;
}

bool StreamTransport::evict(const std::string& ip) {
  Conn* oldest = nullptr;
  for (auto& [id, c] : conns_)
    if (c->inbound && (ip.empty() || c->ip == ip) && (oldest == nullptr || c->last_active < oldest->last_active))
      oldest = c.get();
  if (oldest == nullptr) return false;
  host_.count(sdk::StreamGuard::evicted);
  close_now(oldest->id, "evicted to make room for a new connection");
  return true;
}

void StreamTransport::warn_throttled(const std::string& message) {
  const auto now = host_.loop().now();
  if (last_warning_ != sdk::EventLoop::Clock::time_point{} && now - last_warning_ < kWarningPeriod) {
    ++warnings_held_;
    return;
  }
  std::string text = message;
  if (warnings_held_ > 0) text += " (" + std::to_string(warnings_held_) + " more such warnings held back)";
  host_.log(LogLevel::warning, text);
  last_warning_ = now;
  warnings_held_ = 0;
}

void StreamTransport::arm_idle_sweep() {
  if (idle_timer_ != 0 || stopped_ || options_.limits.idle_timeout_ms <= 0 || conns_.empty()) return;
  // A connection closes between 1 and 1.25 idle timeouts after its last traffic.
  const auto period = std::chrono::milliseconds(std::max<std::int64_t>(options_.limits.idle_timeout_ms / 4, 10));
  idle_timer_ = host_.loop().after(period, [this]() noexcept {
    idle_timer_ = 0;
    sdk::guard_log(host_, "stream transport: idle sweep", [this] { sweep_idle(); });
  });
}

void StreamTransport::sweep_idle() {
  const auto now = host_.loop().now();
  const auto limit = std::chrono::milliseconds(options_.limits.idle_timeout_ms);
  std::vector<ConnectionId> idle;
  for (const auto& [id, c] : conns_)
    if (!c->connecting && now - c->last_active >= limit) idle.push_back(id);
  for (ConnectionId id : idle) {
    host_.count(sdk::StreamGuard::idle_closed);
    close_now(id, "idle for " + std::to_string(options_.limits.idle_timeout_ms) + " ms");
  }
  arm_idle_sweep();
}

ConnectionId StreamTransport::adopt(int fd, std::string ip, bool local, std::string peer_uuid, bool outbound) {
  const ConnectionId id = next_id_++;
  auto c = std::make_unique<Conn>();
  if (options_.filter) {
    // Never a connection without its filter: that would carry plaintext.
    std::string why = "no filter";
    try {
      c->filter = options_.filter(outbound);
    } catch (const std::exception& e) {
      why = e.what();
    }
    if (!c->filter) {
      close_fd(fd);
      host_.log(LogLevel::error, options_.name + ": cannot set up a connection: " + why);
      return 0;
    }
  }
  c->id = id;
  c->fd = fd;
  c->ip = std::move(ip);
  c->local = local;
  c->peer_uuid = std::move(peer_uuid);
  c->last_active = host_.loop().now();
  c->watch = host_.loop().watch(fd, sdk::readable, [this, id](std::uint32_t flags) noexcept {
    sdk::guard_log(host_, "stream transport: connection event", [&] { on_ready(id, flags); });
  });
  if (c->watch == 0) {
    close_fd(c->fd);
    host_.log(LogLevel::error, options_.name + ": cannot watch a connection");
    return 0;
  }
  if (!c->peer_uuid.empty()) by_uuid_[c->peer_uuid] = id;
  Conn& added = *c;
  conns_.emplace(id, std::move(c));
  if (added.filter) arm_handshake(added);
  arm_idle_sweep();
  return id;
}

void StreamTransport::arm_handshake(Conn& c) {
  if (c.handshake_timer != 0) host_.loop().cancel(c.handshake_timer);
  const ConnectionId id = c.id;
  c.handshake_timer = host_.loop().after(std::chrono::milliseconds(options_.handshake_timeout_ms), [this, id]() noexcept {
    Conn* late = find(id);
    if (late == nullptr) return;
    late->handshake_timer = 0;
    sdk::guard_log(host_, "stream transport: handshake timeout", [&] {
      filter_failed(id, true, "handshake timed out after " + std::to_string(options_.handshake_timeout_ms) + " ms");
    });
  });
}

void StreamTransport::filter_failed(ConnectionId id, bool handshake, const std::string& error, bool alert) {
  Conn* c = find(id);
  if (c == nullptr) return;
  if (!handshake) {
    if (alert && !flush(*c)) return;  // flush() closed it
    close_now(id, error);
    return;
  }
  ++handshakes_failed_;
  if (c->inbound) host_.count(sdk::StreamGuard::refused);
  const std::string what =
      c->inbound ? "refused a connection from " + (c->ip.empty() ? std::string("a peer") : c->ip)
                 : "handshake with " + (c->peer_uuid.empty() ? c->ip : c->peer_uuid + " at " + c->ip) + " failed";
  warn_throttled(options_.name + ": " + what + ": " + error + " (" + std::to_string(handshakes_failed_) +
                 " failed handshakes so far)");
  // Counted and logged first: a peer that resets before our alert is out is refused all the same.
  if (alert && !flush(*c)) return;  // flush() closed it
  close_now(id, "handshake failed: " + error);
}

// Only once half the buffer is sent: each byte is then moved at most once on average. A fixed
// threshold (64 KiB sent) moved all that was pending behind a full socket at every append:
// 8 % of a sender's time at 2M msg/s (issue 17).
void StreamTransport::compact(Conn& c) {
  if (c.out_pos > 0 && c.out_pos * 2 >= c.out.size()) {
    c.out.erase(0, c.out_pos);
    c.out_pos = 0;
  }
}

bool StreamTransport::usable(ConnectionId id) {
  Conn* c = find(id);
  if (c == nullptr || c->closing) return false;
  // Nothing to peek yet / checked this turn.
  if (c->connecting || c->batching || c->written_turn == host_.loop().now()) return true;
  // Data came in on it during this loop turn (a reply to a request): the peer was there.
  if (c->last_read == host_.loop().now()) return true;
  // A peer that closed its side leaves a readable EOF we may not have processed yet: writing
  // there would "succeed" into the void. Peek for it (one cheap syscall).
  char b;
  const ssize_t n = ::recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) {
    close_now(id, "closed by peer");
    return false;
  }
  if (n < 0 && !would_block(errno) && errno != EINTR) {
    close_now(id, sys_error("recv"));
    return false;
  }
  return true;
}

Result StreamTransport::write(ConnectionId id, std::string_view bytes, bool& overflow) {
  overflow = false;
  Conn* c = find(id);
  if (c == nullptr) return Result::failure(options_.name + ": connection " + std::to_string(id) + " is closed");
  // The first packet of a turn goes out at once when nothing is queued; later ones (and any
  // behind a full socket or a connect in progress) are appended for the batch timer, which is
  // armed only then: a lone request or reply costs no timer.
  if (c->filter) {
    const bool first = !c->batching && !c->connecting;
    if (first) start_batch(*c);
    return write_filtered(*c, bytes, first, overflow);
  }
  const auto now = host_.loop().now();
  const bool first = !c->batching && !c->connecting && c->written_turn != now;
  std::size_t done = 0;
  if (first && c->out_pos == c->out.size()) {
    c->written_turn = now;
    while (done < bytes.size()) {
      const ssize_t n = ::send(c->fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        c->last_active = host_.loop().now();
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && would_block(errno)) break;
      const std::string err = n < 0 ? sys_error("send") : std::string("send: wrote nothing");
      close_now(id, err);
      return Result::failure(options_.name + ": " + err);
    }
  }
  const std::size_t rest = bytes.size() - done;
  if (rest == 0) return Result::success();
  const std::size_t pending = c->out.size() - c->out_pos;
  if (pending + rest > options_.max_pending_bytes) {
    overflow = true;
    const std::string err = "pending output of connection " + std::to_string(id) + " would exceed " +
                            std::to_string(options_.max_pending_bytes) + " bytes (peer not reading)";
    close_now(id, err);
    return Result::failure(options_.name + ": " + err);
  }
  if (!c->batching && !c->connecting) start_batch(*c);
  compact(*c);
  c->out.append(bytes.data() + done, rest);  // the batch timer (or writable) flushes it
  return Result::success();
}

Result StreamTransport::write_filtered(Conn& c, std::string_view bytes, bool first, bool& overflow) {
  const ConnectionId id = c.id;
  auto over = [&](std::size_t more) {
    if (c.out.size() - c.out_pos + c.plain.size() + more <= options_.max_pending_bytes) return false;
    overflow = true;
    return true;
  };
  std::string err;
  if (first && c.plain.empty() && c.filter->ready() && c.out_pos == c.out.size()) {
    // A lone packet is sealed straight from the caller's bytes (no copy into `plain`) and
    // written at once; what the kernel does not take is bounded as for tcp.
    compact(c);
    if (!c.filter->write(bytes, c.out, err)) {
      close_now(id, err);
      return Result::failure(options_.name + ": " + err);
    }
    if (!flush(c, &err)) return Result::failure(options_.name + ": " + err);
  } else if (!over(bytes.size())) {
    c.plain.append(bytes.data(), bytes.size());  // sealed by the batch timer or the handshake's end
    if (first && !flush(c, &err)) return Result::failure(options_.name + ": " + err);
  }
  if (overflow || over(0)) {
    err = "pending output of connection " + std::to_string(id) + " would exceed " +
          std::to_string(options_.max_pending_bytes) + " bytes (peer not reading)";
    close_now(id, err);
    return Result::failure(options_.name + ": " + err);
  }
  return Result::success();
}

bool StreamTransport::seal(Conn& c, std::string* error) {
  compact(c);
  std::string err;
  if (!c.filter->write(c.plain, c.out, err)) {
    if (error != nullptr) *error = err;
    close_now(c.id, err);
    return false;
  }
  c.plain.clear();
  if (c.plain.capacity() > kShrinkAbove) c.plain.shrink_to_fit();
  return true;
}

void StreamTransport::start_batch(Conn& c) {
  c.batching = true;
  batched_.push_back(c.id);
  if (batch_timer_ != 0) return;
  batch_timer_ = host_.loop().after(std::chrono::milliseconds(0), [this]() noexcept {
    batch_timer_ = 0;
    sdk::guard_log(host_, "stream transport: flushing batched output", [this] { flush_batches(); });
  });
  if (batch_timer_ == 0) {  // no timer: do not batch, write each packet at once
    c.batching = false;
    batched_.pop_back();
  }
}

void StreamTransport::flush_batches() {
  std::vector<ConnectionId> ids;
  ids.swap(batched_);
  for (ConnectionId id : ids) {
    Conn* c = find(id);
    if (c == nullptr) continue;
    c->batching = false;
    flush(*c);  // closes it on failure; a full socket waits for writable
  }
}

bool StreamTransport::flush(Conn& c, std::string* error) {
  if (c.connecting) return true;  // finish_connect() flushes
  const ConnectionId id = c.id;
  if (c.filter && !c.plain.empty() && c.filter->ready() && !seal(c, error)) return false;
  while (c.out_pos < c.out.size()) {
    const ssize_t n = ::send(c.fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_pos += static_cast<std::size_t>(n);
      c.last_active = host_.loop().now();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && would_block(errno)) break;
    const std::string err = n < 0 ? sys_error("send") : std::string("send: wrote nothing");
    if (error != nullptr) *error = err;
    close_now(id, err);
    return false;
  }
  if (c.out_pos == c.out.size()) {
    c.out.clear();
    c.out_pos = 0;
    if (c.out.capacity() > kShrinkAbove) c.out.shrink_to_fit();
    if (c.closing && c.plain.empty()) {
      close_now(id, "closed after flushing");
      return false;
    }
  }
  update_interest(c);
  return true;
}

void StreamTransport::update_interest(Conn& c) noexcept {
  const bool want = c.connecting || c.out_pos < c.out.size();
  if (want == c.want_write) return;
  c.want_write = want;
  host_.loop().modify(c.watch, (c.closing ? 0u : sdk::readable) | (want ? sdk::writable : 0u));
}

void StreamTransport::on_ready(ConnectionId id, std::uint32_t flags) {
  if (Conn* c = find(id); c != nullptr && c->connecting) {
    if ((flags & (sdk::writable | sdk::error | sdk::hangup)) != 0) finish_connect(*c);
    return;
  }
  if ((flags & sdk::writable) != 0) {
    Conn* c = find(id);
    if (c == nullptr || !flush(*c)) return;
  }
  if (Conn* c = find(id); c != nullptr && c->closing) {
    // The host is done with it (close(), e.g. for a stream limit): nothing more is read, or a
    // peer could keep feeding a connection the core meant to drop.
    if ((flags & (sdk::error | sdk::hangup)) != 0) close_now(id, "hang-up while closing");
    return;
  }
  if ((flags & (sdk::readable | sdk::error | sdk::hangup)) != 0) read_some(id, flags);
}

void StreamTransport::read_some(ConnectionId id, std::uint32_t flags) {
  if (read_buf_.size() != kReadBuffer) read_buf_.resize(kReadBuffer);
  for (int i = 0; i < kReadsPerWakeup; ++i) {
    Conn* c = find(id);
    if (c == nullptr || stopped_) return;
    const ssize_t n = ::recv(c->fd, read_buf_.data(), read_buf_.size(), 0);
    if (n > 0) {
      c->last_read = c->last_active = host_.loop().now();
      if (c->filter) {
        if (!unseal(id, static_cast<std::size_t>(n))) return;
        if (static_cast<std::size_t>(n) < read_buf_.size()) return;
        continue;
      }
      // A copy: the host may close this connection (and free its Conn) while it runs.
      const sdk::Origin origin{c->ip, c->local, id};
      host_.received(std::string_view(read_buf_.data(), static_cast<std::size_t>(n)), origin);
      // A short read took everything there was: no recv just to hear EAGAIN (the loop is
      // level-triggered and calls again for more, or for an EOF behind the data).
      if (static_cast<std::size_t>(n) < read_buf_.size()) return;
      continue;
    }
    if (n == 0) {
      close_now(id, "closed by peer");
      return;
    }
    const int err = errno;
    if (err == EINTR) continue;
    if (would_block(err)) {
      if ((flags & (sdk::error | sdk::hangup)) != 0) {
        int soerr = 0;
        socklen_t len = sizeof soerr;
        ::getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
        close_now(id, soerr != 0 ? errno_text(soerr) : std::string("hang-up"));
      }
      return;
    }
    close_now(id, "recv: " + errno_text(err));
    return;
  }
}

bool StreamTransport::unseal(ConnectionId id, std::size_t n) {
  std::string err;
  Conn* c = find(id);
  if (!c->filter->feed(std::string_view(read_buf_.data(), n), err)) {
    filter_failed(id, !c->filter->ready(), err);
    return false;
  }
  if (plain_buf_.size() != kReadBuffer) plain_buf_.resize(kReadBuffer);
  for (;;) {
    c = find(id);
    if (c == nullptr || stopped_) return false;
    const bool was_ready = c->filter->ready();
    std::size_t got = 0;
    compact(*c);
    const StreamFilter::Status st = c->filter->read(plain_buf_.data(), plain_buf_.size(), got, c->out, err);
    if (!was_ready && c->filter->ready()) {
      if (c->handshake_timer != 0) host_.loop().cancel(c->handshake_timer);
      c->handshake_timer = 0;
      host_.log(LogLevel::debug, options_.name + ": connection " + std::to_string(id) + " secured");
    }
    if (st == StreamFilter::Status::failed) {
      // TLS 1.3: a client is ready before the server has checked its certificate; the refusal
      // is the first thing it reads.
      const bool handshake = !was_ready || (!c->inbound && !c->delivered);
      filter_failed(id, handshake, err, !was_ready);  // our alert goes out first, so the peer learns why
      return false;
    }
    // Handshake replies, and what waited for the handshake to end.
    if ((c->out_pos < c->out.size() || (!c->plain.empty() && c->filter->ready())) && !flush(*c)) return false;
    if (got > 0) {
      c->delivered = true;
      const sdk::Origin origin{c->ip, c->local, id};  // a copy: the host may close the connection
      host_.received(std::string_view(plain_buf_.data(), got), origin);
    }
    if (st == StreamFilter::Status::closed) {
      close_now(id, "closed by peer");
      return false;
    }
    if (got < plain_buf_.size()) return find(id) != nullptr && !stopped_;
  }
}

void StreamTransport::finish_connect(Conn& c) {
  const ConnectionId id = c.id;
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) {
    close_now(id, "connect: " + errno_text(err));
    return;
  }
  c.connecting = false;
  if (c.connect_timer != 0) {
    host_.loop().cancel(c.connect_timer);
    c.connect_timer = 0;
  }
  if (c.filter && !c.filter->ready()) arm_handshake(c);  // the connect had its own timeout
  flush(c);
}

void StreamTransport::close_now(ConnectionId id, std::string_view why) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  std::unique_ptr<Conn> c = std::move(it->second);
  conns_.erase(it);
  if (c->watch != 0) host_.loop().unwatch(c->watch);
  if (c->connect_timer != 0) host_.loop().cancel(c->connect_timer);
  if (c->handshake_timer != 0) host_.loop().cancel(c->handshake_timer);
  if (const std::size_t unsent = c->out.size() - c->out_pos + c->plain.size(); unsent > 0)
    host_.log(LogLevel::warning, options_.name + ": connection " + std::to_string(id) +
                                     (c->peer_uuid.empty() ? std::string() : " to " + c->peer_uuid) + " closed (" +
                                     std::string(why) + ") with " + std::to_string(unsent) + " bytes unsent");
  close_fd(c->fd);
  if (!c->peer_uuid.empty()) {
    auto u = by_uuid_.find(c->peer_uuid);
    if (u != by_uuid_.end() && u->second == id) by_uuid_.erase(u);
  }
  if (c->inbound) {
    --inbound_;
    auto src = per_source_.find(c->ip);
    if (src != per_source_.end() && --src->second == 0) per_source_.erase(src);
  }
  host_.log(LogLevel::debug, options_.name + ": connection " + std::to_string(id) +
                                 (c->peer_uuid.empty() ? std::string() : " (" + c->peer_uuid + ")") +
                                 " closed: " + std::string(why));
  notify_closed(id);
}

void StreamTransport::notify_closed(ConnectionId id) {
  if (stopped_) return;
  closed_.push_back(id);
  if (closed_timer_ == 0)
    closed_timer_ = host_.loop().after(std::chrono::milliseconds(0), [this]() noexcept {
      closed_timer_ = 0;
      sdk::guard_log(host_, "stream transport: connection-closed delivery", [this] { deliver_closed(); });
    });
}

void StreamTransport::deliver_closed() {
  std::vector<ConnectionId> ids;
  ids.swap(closed_);
  for (ConnectionId id : ids) {
    if (stopped_) return;
    host_.connection_closed(id);
  }
}

Result StreamTransport::send(const ServiceInfo& peer, std::string_view packet,
                             const sdk::SendOptions& options, const Connector& connect) {
  bool overflow = false;
  // The peer's own connection first, `via` (the one a query came on) only without it: all our
  // packets to a peer then take one connection and keep their order, which a sealer's replay
  // window relies on (two connections would reorder them by whatever waits in either buffer).
  ConnectionId bound = 0;
  if (!peer.uuid.empty())
    if (auto it = by_uuid_.find(peer.uuid); it != by_uuid_.end() && usable(it->second)) bound = it->second;
  const ConnectionId tries[] = {bound, options.via != bound ? options.via : 0};
  for (const ConnectionId id : tries) {
    if (id == 0 || !usable(id)) continue;
    Result r = write(id, packet, overflow);
    if (r || overflow) return r;  // a full buffer fails the send; a dead connection falls through
  }
  int fd = -1;
  std::string ip;
  bool local = true;
  int pending_ms = 0;
  Result r = connect(fd, ip, local, pending_ms);
  if (!r) return r;
  configure(fd);
  const ConnectionId id = adopt(fd, std::move(ip), local, peer.uuid, true);
  if (id == 0) return Result::failure(options_.name + ": cannot set up the new connection");
  if (Conn* c = find(id); c->filter) {
    std::string err;
    if (!c->filter->open(c->out, err)) {
      close_now(id, err);
      return Result::failure(options_.name + ": " + err);
    }
  }
  host_.log(LogLevel::debug, options_.name + ": connection " + std::to_string(id) + " to " + peer.uuid +
                                 (pending_ms > 0 ? " (connecting)" : ""));
  if (pending_ms > 0) {
    // The loop does not wait for a slow connect (a peer host gone silent): the packet waits in
    // the connection's buffer; writable (connected) or an error or the timer decides.
    Conn* c = find(id);
    c->connecting = true;
    if (c->handshake_timer != 0) {  // armed again once connected
      host_.loop().cancel(c->handshake_timer);
      c->handshake_timer = 0;
    }
    c->connect_timer = host_.loop().after(std::chrono::milliseconds(pending_ms), [this, id]() noexcept {
      Conn* late = find(id);
      if (late == nullptr) return;
      late->connect_timer = 0;
      sdk::guard_log(host_, "stream transport: connect timeout", [&] { close_now(id, "connect timed out"); });
    });
    update_interest(*c);
  }
  return write(id, packet, overflow);
}

void StreamTransport::bind(ConnectionId conn, std::string_view peer_uuid) {
  Conn* c = find(conn);
  if (c == nullptr || c->closing || peer_uuid.empty()) return;
  if (c->peer_uuid == peer_uuid) {
    by_uuid_.try_emplace(c->peer_uuid, conn);
    return;
  }
  if (!c->peer_uuid.empty()) {  // re-bound to someone else: drop the old mapping
    auto u = by_uuid_.find(c->peer_uuid);
    if (u != by_uuid_.end() && u->second == conn) by_uuid_.erase(u);
  }
  c->peer_uuid = std::string(peer_uuid);
  auto u = by_uuid_.find(peer_uuid);
  // Both sides may have connected at once: keep the connection already in use, so each peer
  // keeps sending over one connection; the other still delivers and closes with the peer.
  if (u != by_uuid_.end() && u->second != conn && usable(u->second)) return;
  by_uuid_[c->peer_uuid] = conn;
}

void StreamTransport::close(ConnectionId conn) {
  Conn* c = find(conn);
  if (c == nullptr) return;
  if (c->filter && !c->plain.empty()) {
    // Sealed now or never: a closing connection reads nothing more, so no handshake can end.
    if (c->connecting || !c->filter->ready()) {
      close_now(conn, "closed before the handshake ended");
      return;
    }
    if (!seal(*c, nullptr)) return;
  }
  if (c->out_pos == c->out.size()) {
    close_now(conn, "closed");
    return;
  }
  c->closing = true;
  host_.loop().modify(c->watch, c->want_write ? sdk::writable : 0u);  // stop reading it
  if (!c->peer_uuid.empty()) {
    auto u = by_uuid_.find(c->peer_uuid);
    if (u != by_uuid_.end() && u->second == conn) by_uuid_.erase(u);
  }
}

void StreamTransport::close_peer(std::string_view peer_uuid) {
  if (peer_uuid.empty()) return;
  std::vector<ConnectionId> ids;
  for (const auto& [id, c] : conns_)
    if (c->peer_uuid == peer_uuid) ids.push_back(id);
  for (ConnectionId id : ids) close_now(id, "peer lost");
  by_uuid_.erase(std::string(peer_uuid));
}

void StreamTransport::shutdown() noexcept {
  stopped_ = true;
  close_listener();
  if (closed_timer_ != 0) {
    host_.loop().cancel(closed_timer_);
    closed_timer_ = 0;
  }
  if (batch_timer_ != 0) {
    host_.loop().cancel(batch_timer_);
    batch_timer_ = 0;
  }
  if (idle_timer_ != 0) {
    host_.loop().cancel(idle_timer_);
    idle_timer_ = 0;
  }
  batched_.clear();
  for (auto& [id, c] : conns_) {
    if (c->watch != 0) host_.loop().unwatch(c->watch);
    if (c->connect_timer != 0) host_.loop().cancel(c->connect_timer);
    if (c->handshake_timer != 0) host_.loop().cancel(c->handshake_timer);
    if (c->filter && c->filter->ready() && !c->connecting) {
      try {  // the last turn's packets and a polite end (close_notify)
        std::string err;
        if (c->plain.empty() || c->filter->write(c->plain, c->out, err)) c->filter->close(c->out);
      } catch (...) {  // out of memory: the peer sees the end of the stream
      }
    }
    // Best effort, without blocking: what was sent in the last turn (a reply, a leave) goes out.
    while (c->out_pos < c->out.size()) {
      const ssize_t n = ::send(c->fd, c->out.data() + c->out_pos, c->out.size() - c->out_pos, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n <= 0) break;
      c->out_pos += static_cast<std::size_t>(n);
    }
    close_fd(c->fd);
  }
  conns_.clear();
  by_uuid_.clear();
  closed_.clear();
  inbound_ = 0;
  per_source_.clear();
}

}  // namespace cluster::transport
