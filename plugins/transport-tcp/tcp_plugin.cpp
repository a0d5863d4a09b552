// The tcp transport ("t"): a listening TCP socket advertised as {port N} (plus {host A} with
// [cluster] advertise), one connection per peer reused in both directions, non-blocking writes
// with a bounded per-connection buffer. The core frames the byte stream; this plugin only
// moves bytes (docs/transports.md). The TCP code is shared with tls (common/tcp_protocol.*).
#include <iterator>

#include "cluster/sdk.hpp"
#include "tcp_protocol.hpp"

namespace {

namespace net = cluster::transport;
using cluster::sdk::ConfigKey;
using cluster::sdk::ProtocolHost;
using cluster::sdk::Result;

constexpr ConfigKey kKeys[] = {
    net::kBindKey,       net::kPortKey,         net::kConnectTimeoutKey, net::kMaxPendingBytesKey, net::kKeepaliveKey,
    net::kIdleTimeoutKey, net::kMaxConnectionsKey, net::kMaxPerSourceKey, net::kReservedFdsKey,
};

constexpr cluster::sdk::ConfigRange kRanges[] = {
    net::kPortRange,          net::kConnectTimeoutRange, net::kMaxPendingBytesRange, net::kIdleTimeoutRange,
    net::kMaxConnectionsRange, net::kMaxPerSourceRange,   net::kReservedFdsRange,
};

class TcpProtocol final : public net::TcpStreamProtocol {
 public:
  TcpProtocol(ProtocolHost& host, const net::TcpConfig& cfg) : TcpStreamProtocol(host, "t", "tcp", cfg) {}
};

bool init(cluster::sdk::Registrar& registrar, std::string& error) noexcept {
  return cluster::sdk::guard_init("tcp", error, [&] {
    registrar.add_protocol("t", cluster::sdk::protocol_factory<TcpProtocol>(net::parse_tcp_config(registrar.config())));
    return Result::success();
  });
}

}  // namespace

CLUSTER_PLUGIN_RANGED("tcp", "1.0.0", "TCP stream transport (protocol t)", kKeys, std::size(kKeys), kRanges,
                      std::size(kRanges), init, nullptr)
