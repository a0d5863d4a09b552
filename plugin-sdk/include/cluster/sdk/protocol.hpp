// A transport ("protocol" in the seed's words): how packets reach a peer. The core owns
// everything protocol-independent (framing, negotiation order, fallback, failure reports,
// pings); a protocol only opens, accepts, sends, closes and advertises its props.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cluster/sdk/config.hpp"
#include "cluster/sdk/event_loop.hpp"
#include "cluster/sdk/result.hpp"
#include "cluster/sdk/service_info.hpp"

namespace cluster::sdk {

enum class LogLevel : std::uint8_t { trace, debug, info, notice, warning, error };

using ConnectionId = std::uint64_t;  ///< a stream connection, unique per protocol; 0 = none

/// What a stream transport did to protect the member, for the host's counters (SDK 1.1).
enum class StreamGuard : std::uint8_t {
  refused,      ///< a new inbound connection closed at once: out of descriptors or in their reserve
  evicted,      ///< the least recently active inbound connection closed to make room for a new one
  idle_closed,  ///< a connection closed after its idle timeout without traffic
};

struct ProtocolTraits {
  bool local_only = false;  ///< reaches only members on this host (never tried for remote ones)
  bool datagram = false;    ///< every read is whole packets (else a byte stream to reassemble)
  bool multicast = false;   ///< reaches every member at once: heartbeats, discovery, broadcasts
};

/// Output waiting in a protocol for one peer (Protocol::backlog, SDK 1.6).
struct Backlog {
  std::size_t bytes = 0;  ///< accepted by send(), not yet taken by the kernel
  std::size_t limit = 0;  ///< send() fails past it (e.g. max_pending_bytes); 0 = no bound
};

/// Cluster-wide settings a protocol may need (from the [cluster] section).
struct ClusterSettings {
  std::string address;    ///< multicast group
  std::uint16_t port = 0; ///< multicast port
  unsigned remote = 0;    ///< multicast TTL; 0 = this host only
  std::string interface;  ///< multicast interface name, "" = default behaviour
  std::string sid, hid;   ///< our identity
  // SDK 1.3 (appended).
  /// [cluster] bind: the address every transport listens on unless its own section says
  /// otherwise ("" = the transport's default: all addresses).
  std::string bind;
  /// [cluster] advertise: the address other members should use to reach us (NAT, several
  /// interfaces); transports put it in their props as `host`. "" = the source address peers
  /// see on our packets.
  std::string advertise;
};

/// Where received bytes came from.
struct Origin {
  std::string ip;           ///< source address; "" when the transport has none (unix)
  bool local = false;       ///< the source is this host (say so explicitly: remote = 0 relies on it)
  ConnectionId conn = 0;    ///< the stream connection, 0 for a datagram
};

struct SendOptions {
  ConnectionId via = 0;  ///< prefer this connection (the one a query came in on)
};

/// Services the core offers one protocol instance. All calls on the loop thread.
class ProtocolHost {
 public:
  virtual EventLoop& loop() noexcept = 0;
  virtual void log(LogLevel level, std::string_view message) noexcept = 0;
  virtual const ClusterSettings& settings() const noexcept = 0;
  /// The plugin's validated ini section.
  virtual const PluginConfig& config() const noexcept = 0;
  /// Bytes read: a whole datagram (conn 0) or the next chunk of a stream. The core frames them.
  /// Re-entrancy: while it runs, the core calls nothing of this protocol (send, multicast,
  /// bind, close, peer_lost, refresh): what the packets cause (answers, query responses, sends
  /// from hooks, losses, failure reports) waits until received() returned and runs in a
  /// zero-delay timer (closing a connection over the stream limits too). One exception: a hook
  /// that calls Cluster::leave() sends the goodbye and stops every protocol at once, so after
  /// received() returns, check that stop() has not run.
  virtual void received(std::string_view bytes, const Origin& origin) noexcept = 0;
  /// A stream connection is gone (closed by either side): the core drops its framing state.
  /// Never call it from inside a call the core made into the protocol (send, close, ...) or
  /// from inside received(): queue it and deliver it from a timer (after(0) + cancel in stop()).
  virtual void connection_closed(ConnectionId conn) noexcept = 0;
  /// The protocol's props changed (e.g. a recreated server has a new port): re-advertise.
  virtual void props_changed() noexcept = 0;
  /// Counts a connection refused or closed by the transport's limits (SDK 1.1; added last, so
  /// plugins built against 1.0 keep their layout).
  virtual void count(StreamGuard what) noexcept { (void)what; }

 protected:
  ~ProtocolHost() = default;
};

class Protocol {
 public:
  virtual ~Protocol() = default;
  /// The one-letter-ish id peers see in `protocols` ("c", "t", "u", ...): the id it is
  /// registered under (join refuses a protocol that names itself otherwise).
  virtual std::string_view id() const noexcept = 0;
  virtual ProtocolTraits traits() const noexcept = 0;
  /// Opens servers/sockets. A failure here fails the join with this message.
  virtual Result start() noexcept = 0;
  /// What peers need to reach us, e.g. {port 40123}. Advertised in heartbeats as "<id> {<dict>}".
  virtual Dict props() const noexcept = 0;
  /// Sends one framed packet to `peer` (whose props for this protocol are in peer.props).
  /// Failing is normal (peer gone, port closed): the core then tries the next protocol.
  virtual Result send(const ServiceInfo& peer, std::string_view packet,
                      const SendOptions& options) noexcept = 0;
  /// Sends one packet to every member (multicast protocols only).
  virtual Result multicast(std::string_view /*packet*/) noexcept {
    return Result::failure("protocol cannot multicast");
  }
  /// An accepted connection turned out to come from `peer_uuid`: reuse it to send there.
  virtual void bind(ConnectionId /*conn*/, std::string_view /*peer_uuid*/) noexcept {}
  /// The exchange on `conn` is over (keepalive false): close it.
  virtual void close(ConnectionId /*conn*/) noexcept {}
  /// A member is gone: close its connections, remove what it left (e.g. its socket file).
  virtual void peer_lost(const ServiceInfo& /*peer*/) noexcept {}
  /// Called on every heartbeat: repair what vanished (e.g. a deleted socket file).
  virtual void check() noexcept {}
  /// A peer reported that this protocol failed for it: recreate the server.
  virtual Result refresh() noexcept { return Result::success(); }
  /// Closes everything. No host call may follow.
  virtual void stop() noexcept = 0;
  /// (SDK 1.6; added last, so plugins built against 1.5 keep their layout, and the host asks
  /// only plugins built against 1.6 or later.) What send() accepted for `peer` and the kernel
  /// has not taken yet, and the bound past which send() fails. The core's send queue (sends
  /// from host threads) holds its next request to `peer` while bytes exceed half of limit (at
  /// most 1 MiB), so a reader slower than its senders slows them instead of losing packets.
  /// Loop thread; cheap (it runs about once per 64 KiB sent to a peer); calls nothing back.
  /// Datagram protocols keep the default: nothing waits.
  virtual Backlog backlog(const ServiceInfo& /*peer*/) const noexcept { return {}; }
};

}  // namespace cluster::sdk
