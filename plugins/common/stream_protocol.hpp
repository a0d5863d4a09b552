// The Protocol both stream transports are: tcp ("t") and unix ("u") differ only in their address
// family, so this base class holds everything else once: the sdk::Protocol entry points with
// their boundary guards (no exception leaves them; see cluster/sdk/boundary.hpp), the started
// state, the StreamTransport with its limits (config keys in stream_transport.hpp), the log
// lines, and the order of start / refresh / check / stop.
//
// A transport supplies its listener and its connector:
//   prepare()           start(): what the listener needs before it opens (unix: the path)
//   open_listener()     start(): bind and listen, hand the socket to listen()
//   replace_listener()  refresh(), and check() when listener_ok() says no: open a fresh one
//   listener_ok()       check(), on every heartbeat: does the listener still serve?
//   listener_props()    props(): what peers need to reach it ({port N}, {path P})
//   listener_address()  for "listening on ..."
//   connect()           send() without a usable connection: open one to the peer
//   forget()            peer_lost(), after the peer's connections are closed
//   stopped()           stop(), after every connection is closed (unix: remove its file)
// They run inside the guards, so they may throw; an exception becomes the failed Result of the
// entry point (start, send, refresh) or an error log line (check, peer_lost).
//
// Re-entrancy is StreamTransport's (stream_transport.hpp): host calls made from these hooks may
// call back into the protocol. A derived destructor must call stop() (the base's destructor
// cannot reach the derived part any more).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "cluster/sdk/protocol.hpp"
#include "stream_transport.hpp"

namespace cluster::transport {

class StreamProtocol : public sdk::Protocol {
 public:
  /// What tells the transports apart besides their hooks.
  struct Identity {
    std::string id;                  ///< protocol id ("t"), also the connections' log name
    std::string name;                ///< log and error prefix ("tcp")
    sdk::ProtocolTraits traits;
    bool tcp = false;                ///< TCP_NODELAY on connections
    bool keepalive = false;          ///< SO_KEEPALIVE on connections
  };

  std::string_view id() const noexcept final { return identity_.id; }
  sdk::ProtocolTraits traits() const noexcept final { return identity_.traits; }
  sdk::Result start() noexcept final;
  Dict props() const noexcept final;
  sdk::Result send(const ServiceInfo& peer, std::string_view packet, const sdk::SendOptions& options) noexcept final;
  void bind(sdk::ConnectionId conn, std::string_view peer_uuid) noexcept final;
  void close(sdk::ConnectionId conn) noexcept final;
  void peer_lost(const ServiceInfo& peer) noexcept final;
  void check() noexcept final;
  sdk::Result refresh() noexcept final;
  void stop() noexcept final;
  sdk::Backlog backlog(const ServiceInfo& peer) const noexcept final;

 protected:
  /// May throw (out of memory): factories may throw, the host then refuses the protocol.
  StreamProtocol(sdk::ProtocolHost& host, Identity identity, StreamConfig config);

  virtual sdk::Result prepare() { return sdk::Result::success(); }
  virtual sdk::Result open_listener() = 0;
  /// Logs its own failure where the operator should see it; props_changed() follows a success.
  virtual sdk::Result replace_listener() = 0;
  /// False with `problem` set (logged as a warning) when the listener must be replaced.
  virtual bool listener_ok(std::string& problem) = 0;
  virtual Dict listener_props() const = 0;
  virtual std::string listener_address() const = 0;
  /// The Connector of StreamTransport::send (stream_transport.hpp).
  virtual sdk::Result connect(const ServiceInfo& peer, int& fd, std::string& ip, bool& local, int& pending_ms) = 0;
  virtual void forget(const ServiceInfo& /*peer*/) {}
  virtual void stopped() noexcept {}

  /// Every connection of the next start() gets a filter from `factory` (TLS); one that is not
  /// ready within `handshake_timeout_ms` of its connect is refused.
  void use_filter(StreamFilterFactory factory, int handshake_timeout_ms) {
    filter_ = std::move(factory);
    handshake_timeout_ms_ = handshake_timeout_ms;
  }
  /// Hands a bound, listening, non-blocking socket to the transport (closing the previous one).
  sdk::Result listen(int fd) { return transport_->listen(fd); }
  StreamTransport& transport() noexcept { return *transport_; }
  sdk::ProtocolHost& host() const noexcept { return host_; }
  const std::string& name() const noexcept { return identity_.name; }
  bool started() const noexcept { return started_; }

 private:
  sdk::ProtocolHost& host_;
  Identity identity_;
  StreamConfig config_;
  std::unique_ptr<StreamTransport> transport_;
  bool started_ = false;
  StreamFilterFactory filter_;
  int handshake_timeout_ms_ = 1000;
  /// "<name>: start" and the like, built once: the guards must not allocate to name a failure.
  std::string what_start_, what_send_, what_bind_, what_close_, what_peer_lost_, what_check_, what_refresh_;
};

}  // namespace cluster::transport
