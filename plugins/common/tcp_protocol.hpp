// The TCP side of the tcp ("t") and tls ("s") transports: their shared config keys, a listener
// on bind:port advertised as {port N} (plus {host A} with [cluster] advertise), and connections
// to a peer's advertised port (docs/transports.md, "tcp"). tls is this with a filter per
// connection (StreamProtocol::use_filter).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "cluster/sdk.hpp"
#include "net.hpp"
#include "stream_protocol.hpp"

namespace cluster::transport {

inline constexpr sdk::ConfigKey kBindKey{
    "bind", sdk::ConfigType::string, "",
    "address to listen on: 0.0.0.0 (all IPv4), :: (all, dual stack), or one address or host name; "
    "empty = [cluster] bind, else :: with an IPv6 group, else 0.0.0.0"};
inline constexpr sdk::ConfigKey kPortKey{"port", sdk::ConfigType::integer, "0",
                                         "port to listen on; 0 = an ephemeral port chosen by the system"};
inline constexpr sdk::ConfigKey kConnectTimeoutKey{
    "connect_timeout_ms", sdk::ConfigType::integer, "1000",
    "how long a new outgoing connection may take; send() waits for at most 20 ms of it (a refusal "
    "fails the send, the core then tries the next protocol), the rest goes on in the background"};
inline constexpr sdk::ConfigKey kKeepaliveKey{"keepalive", sdk::ConfigType::boolean, "true",
                                              "enable SO_KEEPALIVE on every connection"};
inline constexpr sdk::ConfigKey kMaxPerSourceKey{
    "max_connections_per_source", sdk::ConfigType::integer, "256",
    "inbound connections from one address; a new one beyond it replaces that address's least "
    "recently active one; 0 = no cap"};

inline constexpr sdk::ConfigRange kPortRange{"port", 0, 65535};
inline constexpr sdk::ConfigRange kConnectTimeoutRange{"connect_timeout_ms", 1, 600000};
inline constexpr sdk::ConfigRange kMaxPerSourceRange{"max_connections_per_source", 0, 1000000};

/// A TCP transport's section, parsed once at init (the host kept every integer in its range).
struct TcpConfig {
  std::string bind;
  std::uint16_t port = 0;
  int connect_timeout_ms = 1000;
  bool keepalive = true;
  StreamConfig stream;
};

TcpConfig parse_tcp_config(const sdk::PluginConfig& cfg);

class TcpStreamProtocol : public StreamProtocol {
 public:
  /// `id` is the protocol id and the props key peers are read from ("t"), `name` the log and
  /// error prefix ("tcp").
  TcpStreamProtocol(sdk::ProtocolHost& host, std::string id, std::string name, const TcpConfig& cfg);
  ~TcpStreamProtocol() override { stop(); }

  /// The address a listener is bound to (its port aside), and the source of our connections
  /// when it is one address, not all.
  struct Bound {
    std::uint16_t port = 0;
    sockaddr_storage address{};
    socklen_t length = 0;
  };

 private:
  sdk::Result prepare() override;
  sdk::Result open_listener() override;
  bool listener_ok(std::string& problem) override;
  sdk::Result replace_listener() override;
  Dict listener_props() const override;
  std::string listener_address() const override;
  sdk::Result connect(const ServiceInfo& peer, int& fd, std::string& ip, bool& local, int& pending_ms) override;

  std::string id_;
  TcpConfig cfg_;
  LocalAddresses locals_;
  std::string bind_;        ///< our section's bind, else [cluster] bind, else all addresses
  std::string advertised_;  ///< [cluster] advertise, numeric: our `host` prop
  Bound bound_;
};

}  // namespace cluster::transport
