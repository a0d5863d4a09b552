// The tls transport ("s", "secure stream"): the tcp transport (common/tcp_protocol.*) with a
// TLS 1.3 session per connection (tls_session.hpp), both sides presenting a certificate signed
// by the configured CA. Its own protocol id, so members can talk TLS among themselves while
// the reference (Tcl) member keeps using plain "t" (docs/transports.md, "tls").
#include <iterator>
#include <memory>

#include "cluster/sdk.hpp"
#include "tcp_protocol.hpp"
#include "tls_context.hpp"
#include "tls_session.hpp"

namespace {

namespace net = cluster::transport;
namespace tls = cluster::transport::tls;
using cluster::sdk::ConfigKey;
using cluster::sdk::ConfigType;
using cluster::sdk::ProtocolHost;
using cluster::sdk::Result;

constexpr ConfigKey kKeys[] = {
    net::kBindKey,
    net::kPortKey,
    {"connect_timeout_ms", ConfigType::integer, "1000",
     "how long a new connection may take to connect, then again to finish its TLS handshake (inbound: "
     "from accept); send() waits for at most 20 ms of the connect"},
    net::kMaxPendingBytesKey,
    net::kKeepaliveKey,
    net::kIdleTimeoutKey,
    net::kMaxConnectionsKey,
    net::kMaxPerSourceKey,
    net::kReservedFdsKey,
    {"cert", ConfigType::string, "", "PEM certificate chain of this member (its certificate first); required"},
    {"key", ConfigType::string, "",
     "PEM private key of that certificate; required; refused unless mode 0600 (or stricter) and owned by us"},
    {"ca", ConfigType::string, "", "PEM CA bundle that signs members' certificates; required"},
    {"verify_name", ConfigType::string, "",
     "when set, a peer's certificate must also carry this DNS name (subjectAltName, else CN); empty = any "
     "certificate the CA signed"},
};

constexpr cluster::sdk::ConfigRange kRanges[] = {
    net::kPortRange,          net::kConnectTimeoutRange, net::kMaxPendingBytesRange, net::kIdleTimeoutRange,
    net::kMaxConnectionsRange, net::kMaxPerSourceRange,   net::kReservedFdsRange,
};

struct TlsConfig {
  net::TcpConfig tcp;
  tls::Context context;
};

class TlsProtocol final : public net::TcpStreamProtocol {
 public:
  TlsProtocol(ProtocolHost& host, const TlsConfig& cfg) : TcpStreamProtocol(host, "s", "tls", cfg.tcp) {
    tls::Context ctx = cfg.context;
    use_filter([ctx](bool outbound) { return std::make_unique<tls::TlsSession>(ctx, outbound); },
               cfg.tcp.connect_timeout_ms);
  }
};

bool init(cluster::sdk::Registrar& registrar, std::string& error) noexcept {
  return cluster::sdk::guard_init("tls", error, [&] {
    const cluster::sdk::PluginConfig& cfg = registrar.config();
    TlsConfig config;
    config.tcp = net::parse_tcp_config(cfg);
    Result r = tls::make_context({cfg.get("cert"), cfg.get("key"), cfg.get("ca"), cfg.get("verify_name")},
                                 config.context);
    if (!r) return r;
    registrar.add_protocol("s", cluster::sdk::protocol_factory<TlsProtocol>(config));
    return Result::success();
  });
}

}  // namespace

CLUSTER_PLUGIN_RANGED("tls", "1.0.0", "TLS 1.3 stream transport with mutual certificates (protocol s)", kKeys,
                      std::size(kKeys), kRanges, std::size(kRanges), init, nullptr)
