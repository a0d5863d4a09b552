// The stream-connection machinery shared by the tcp ("t") and unix ("u") transports: a
// listener, accepted and outgoing connections keyed by peer uuid ("one connection per peer,
// reused in both directions"), non-blocking reads reported to the host chunk by chunk (the core
// does the framing), and per-connection output buffers flushed when the socket is writable.
//
// Write coalescing: the first packet to an idle connection is written at once (no added latency
// for a lone request or reply, and its errors are reported to the sender); packets that follow
// in the same loop turn are appended to the connection's buffer and written together by a
// zero-delay timer, one send(2) for the lot. System calls dominate the cost of a small message,
// so a burst of N packets costs two writes instead of N.
//
// Re-entrancy: host.received() may call back into the protocol (send a reply, close the
// connection, even stop). Every path re-checks that its connection still exists after a host
// call, and connection_closed() is never called from inside a host->protocol call: it is queued
// and delivered from a zero-delay timer (cancelled by shutdown(), so nothing of the plugin is
// left in the loop after stop()).
//
// Filters (stream_filter.hpp; TLS for "s"): with a filter factory in the options every
// connection gets one; the socket then carries what the filter makes of the host's packets,
// and the host gets what the filter makes of the socket's bytes. Packets sent before the filter
// is ready (the handshake) wait as plaintext, counted against max_pending_bytes, and so do the
// packets after the first of a loop turn: the batch is sealed at once, into few TLS records.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/sdk/config.hpp"
#include "cluster/sdk/protocol.hpp"
#include "net.hpp"
#include "stream_filter.hpp"

namespace cluster::transport {

/// Limits against hostile or runaway peers (docs/transports.md, "Limits").
struct StreamLimits {
  std::int64_t idle_timeout_ms = 60000;  ///< close a connection without traffic this long; 0 = never
  std::size_t max_connections = 512;     ///< inbound connections at once
  std::size_t max_per_source = 256;      ///< inbound connections from one address (tcp); 0 = no cap
  std::size_t reserved_fds = 64;         ///< descriptors below the nofile limit kept for everything else
};

struct StreamOptions {
  std::string name;                              ///< protocol id, for log messages
  std::size_t max_pending_bytes = 16u << 20;     ///< unsent output per connection before failing
  bool tcp = false;                              ///< TCP_NODELAY (+ keepalive below) on connections
  bool keepalive = false;                        ///< SO_KEEPALIVE on connections
  StreamLimits limits;
  StreamFilterFactory filter;                    ///< empty: bytes go through as they are
  int handshake_timeout_ms = 1000;               ///< a filter must be ready within this (after connect)
};

/// The config keys both stream transports have, described once (their schemas list them).
inline constexpr sdk::ConfigKey kMaxPendingBytesKey{
    "max_pending_bytes", sdk::ConfigType::integer, "16777216",
    "unsent output a connection may hold while the peer does not read; beyond it the send fails "
    "and the connection is closed"};
inline constexpr sdk::ConfigKey kIdleTimeoutKey{
    "idle_timeout_ms", sdk::ConfigType::integer, "60000",
    "close a connection without traffic for this long (either direction); 0 = never"};
inline constexpr sdk::ConfigKey kMaxConnectionsKey{
    "max_connections", sdk::ConfigType::integer, "512",
    "inbound connections at once; a new one beyond it replaces the least recently active one"};
inline constexpr sdk::ConfigKey kReservedFdsKey{
    "reserved_fds", sdk::ConfigType::integer, "64",
    "descriptors kept free below the nofile limit (control socket, outgoing sends); a connection "
    "accepted into them replaces the least recently active one, or is refused"};

/// Their ranges (SDK 1.2 ConfigRange): the host refuses a value outside them before init.
inline constexpr sdk::ConfigRange kMaxPendingBytesRange{"max_pending_bytes", 1, INT64_MAX};
inline constexpr sdk::ConfigRange kIdleTimeoutRange{"idle_timeout_ms", 0, 86400000};
inline constexpr sdk::ConfigRange kMaxConnectionsRange{"max_connections", 1, 1000000};
inline constexpr sdk::ConfigRange kReservedFdsRange{"reserved_fds", 0, 100000};

/// What both stream transports read from their section, parsed once (at init).
struct StreamConfig {
  std::size_t max_pending_bytes = 16u << 20;
  StreamLimits limits;
};

/// Reads max_pending_bytes, idle_timeout_ms, max_connections, reserved_fds and (`per_source`)
/// max_connections_per_source from a validated plugin section (the host kept them in range).
StreamConfig parse_stream_config(const sdk::PluginConfig& cfg, bool per_source);

/// Opens an outgoing connection: sets `fd` to a non-blocking socket and `ip`/`local` to what
/// Origin should say, or returns a failure. A connect still in progress sets `pending_ms` to the
/// time it may still take (the transport queues packets meanwhile and closes the connection when
/// it fails or times out); 0 means connected.
using Connector = std::function<sdk::Result(int& fd, std::string& ip, bool& local, int& pending_ms)>;

class StreamTransport {
 public:
  StreamTransport(sdk::ProtocolHost& host, StreamOptions options);
  ~StreamTransport();
  StreamTransport(const StreamTransport&) = delete;
  StreamTransport& operator=(const StreamTransport&) = delete;

  /// Takes ownership of a bound, listening, non-blocking socket and accepts on it; the previous
  /// listener (if any) is closed once the new one is watched. Open connections stay open.
  sdk::Result listen(int fd);
  void close_listener() noexcept;
  int listener_fd() const noexcept { return listen_fd_; }
  /// False once the listener failed for good (see on_accept); check() then recreates it.
  bool listening() const noexcept { return listen_fd_ >= 0 && (listen_watch_ != 0 || accept_retry_ != 0); }

  /// send(): the connection of peer.uuid first (one path per peer keeps packets in order), then
  /// `via`, else a new one from `connect`.
  sdk::Result send(const ServiceInfo& peer, std::string_view packet, const sdk::SendOptions& options,
                   const Connector& connect);
  void bind(sdk::ConnectionId conn, std::string_view peer_uuid);
  /// Closes after the pending output is flushed.
  void close(sdk::ConnectionId conn);
  /// Closes every connection bound to `peer_uuid` now.
  void close_peer(std::string_view peer_uuid);
  /// Closes everything, unwatches every fd, cancels timers. No host call follows.
  void shutdown() noexcept;

  // For tests and diagnostics.
  std::size_t connection_count() const noexcept { return conns_.size(); }
  std::size_t pending_bytes(sdk::ConnectionId conn) const noexcept;
  /// Protocol::backlog: the output (plaintext too) waiting on the connection send() uses for
  /// `peer_uuid`, and max_pending_bytes.
  sdk::Backlog backlog(std::string_view peer_uuid) const noexcept;
  std::size_t inbound_count() const noexcept { return inbound_; }
  /// Connections whose filter failed before it was ready (refused handshakes).
  std::size_t handshakes_failed() const noexcept { return handshakes_failed_; }

 private:
  struct Conn {
    sdk::ConnectionId id = 0;
    int fd = -1;
    sdk::WatchId watch = 0;
    std::string ip;
    bool local = true;
    std::string peer_uuid;
    std::string out;          ///< pending output from out_pos on
    std::size_t out_pos = 0;
    bool closing = false;     ///< close once `out` is flushed
    bool want_write = false;  ///< watching for writable
    bool batching = false;    ///< written to this turn: append, the batch timer flushes
    /// Loop time of the turn whose first packet went out at once: a second packet in that turn
    /// starts the batch (the timer is armed only when something is appended).
    sdk::EventLoop::Clock::time_point written_turn{};
    sdk::EventLoop::Clock::time_point last_read{};  ///< loop time of the last read with data
    bool connecting = false;        ///< connect in progress: output waits, writable ends it
    sdk::TimerId connect_timer = 0;  ///< closes it when the connect takes too long
    bool inbound = false;           ///< accepted (counts against the connection caps)
    sdk::EventLoop::Clock::time_point last_active{};  ///< opened, read from or written to
    std::unique_ptr<StreamFilter> filter;  ///< with a filter factory only
    std::string plain;                     ///< output not yet sealed by the filter
    sdk::TimerId handshake_timer = 0;      ///< closes it when the filter is not ready in time
    bool delivered = false;                ///< the filter gave the host bytes from it
  };

  Conn* find(sdk::ConnectionId id) noexcept;
  sdk::ConnectionId adopt(int fd, std::string ip, bool local, std::string peer_uuid, bool outbound);
  void configure(int fd) noexcept;
  /// A connection usable for a new packet: open, not closing, not closed by the peer.
  bool usable(sdk::ConnectionId id);
  /// Writes or queues `bytes`; `overflow` tells a full output buffer from a dead connection.
  sdk::Result write(sdk::ConnectionId id, std::string_view bytes, bool& overflow);
  /// Writes pending output (sealing the plaintext first once the filter is ready); false when
  /// the connection failed (and was closed), with the reason in `error` when given.
  bool flush(Conn& c, std::string* error = nullptr);
  /// write() for a connection with a filter.
  sdk::Result write_filtered(Conn& c, std::string_view bytes, bool first, bool& overflow);
  /// Seals the pending plaintext into the output; false when the filter failed (closed).
  bool seal(Conn& c, std::string* error);
  /// Gives read_buf_'s first `n` bytes to the filter and the host what comes out; false when
  /// the connection is gone.
  bool unseal(sdk::ConnectionId id, std::size_t n);
  /// The filter of `c` failed: a refused handshake (counted, warned) or a broken stream; closed
  /// after `alert` (what the filter wrote for the peer) is flushed, when set.
  void filter_failed(sdk::ConnectionId id, bool handshake, const std::string& error, bool alert = false);
  void arm_handshake(Conn& c);
  /// Drops the output already written, so appends do not grow the buffer forever.
  static void compact(Conn& c);
  void update_interest(Conn& c) noexcept;
  void on_ready(sdk::ConnectionId id, std::uint32_t flags);
  void read_some(sdk::ConnectionId id, std::uint32_t flags);
  /// The connect of `c` finished (writable or an error): start writing, or close it.
  void finish_connect(Conn& c);
  void on_accept();
  /// Applies the caps to a just-accepted socket (which may move to a lower descriptor); false
  /// when it was refused (and closed).
  bool admit(int& fd, const std::string& ip);
  /// Closes the least recently active inbound connection (from `ip` when not empty).
  bool evict(const std::string& ip);
  /// A warning at most every few seconds, with the count of the ones held back.
  void warn_throttled(const std::string& message);
  void arm_idle_sweep();
  void sweep_idle();
  void close_now(sdk::ConnectionId id, std::string_view why);
  void notify_closed(sdk::ConnectionId id);
  void deliver_closed();
  /// Marks `c` as written this turn and makes sure the batch timer runs.
  void start_batch(Conn& c);
  void flush_batches();

  sdk::ProtocolHost& host_;
  StreamOptions options_;
  int listen_fd_ = -1;
  sdk::WatchId listen_watch_ = 0;
  sdk::TimerId accept_retry_ = 0;
  sdk::ConnectionId next_id_ = 1;
  std::map<sdk::ConnectionId, std::unique_ptr<Conn>> conns_;
  std::map<std::string, sdk::ConnectionId, std::less<>> by_uuid_;
  std::vector<sdk::ConnectionId> closed_;  ///< connection_closed() notifications to deliver
  sdk::TimerId closed_timer_ = 0;
  std::vector<sdk::ConnectionId> batched_;  ///< connections written to this turn
  sdk::TimerId batch_timer_ = 0;
  std::vector<char> read_buf_;
  std::vector<char> plain_buf_;  ///< what a filter makes of read_buf_
  std::size_t handshakes_failed_ = 0;
  bool stopped_ = false;
  LocalAddresses locals_;
  std::size_t inbound_ = 0;
  std::map<std::string, std::size_t, std::less<>> per_source_;  ///< inbound connections by address
  sdk::TimerId idle_timer_ = 0;
  sdk::EventLoop::Clock::time_point last_warning_{};
  std::size_t warnings_held_ = 0;
};

}  // namespace cluster::transport
