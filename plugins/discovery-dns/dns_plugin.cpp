// dns: a discovery without multicast (docs/discovery.md) whose contact points come from DNS:
// SRV records (each target's addresses and port) or the A/AAAA records of one name with a fixed
// port — the Kubernetes headless-service pattern. Looked up on the plugin's own thread at start
// and again every interval_ms; a failed lookup keeps the last contact points (a DNS outage does
// not make members forget each other) and is logged once, and once when it works again.
#include <optional>

#include <cluster/sdk/boundary.hpp>

#include "contact_discovery.hpp"
#include "dns_lookup.hpp"

namespace {

namespace sdk = cluster::sdk;
namespace dns = cluster::dns;
using cluster::plugins::ContactDiscovery;
using cluster::plugins::ContactDiscoveryOptions;

constexpr sdk::ConfigKey kKeys[] = {
    {"name", sdk::ConfigType::string, "",
     "the DNS name: an SRV name (_cluster._tcp.example.org) or a name with A/AAAA records"},
    {"record", sdk::ConfigType::string, "auto",
     "srv, a (A and AAAA), or auto: srv when the name starts with '_', else a"},
    {"port", sdk::ConfigType::integer, "0", "record a: the members' port for `protocol` (SRV records carry their own)"},
    {"server", sdk::ConfigType::string, "",
     "ip, ip:port, [ipv6] or [ipv6]:port of the DNS server; empty = the name servers of /etc/resolv.conf"},
    {"protocol", sdk::ConfigType::string, "t", "the protocol the ports belong to (one we run)"},
    {"interval_ms", sdk::ConfigType::integer, "5000", "how often the records are looked up again"},
    {"timeout_ms", sdk::ConfigType::integer, "2000", "how long one lookup may take (whole seconds: glibc)"},
    cluster::plugins::kHeartbeatKey,
    cluster::plugins::kSyncKey,
};
constexpr sdk::ConfigRange kRanges[] = {
    {"port", 0, 65535}, {"interval_ms", 100, 3600000}, {"timeout_ms", 1000, 60000},
    cluster::plugins::kHeartbeatRange, cluster::plugins::kSyncRange,
};

class DnsDiscovery final : public ContactDiscovery {
 public:
  DnsDiscovery(sdk::DiscoveryHost& host, ContactDiscoveryOptions o, dns::DnsQuery query, std::string protocol,
               std::chrono::milliseconds interval)
      : ContactDiscovery(host, std::move(o)), query_(std::move(query)), protocol_(std::move(protocol)),
        interval_(interval) {}
  ~DnsDiscovery() override { stop_lookups(); }

 private:
  sdk::Result start_source() override {
    if (auto r = check_protocol(protocol_, "protocol"); !r) return r;
    start_lookups(interval_, [this] { return lookup(); });
    return sdk::Result::success();
  }

  // On the lookup thread.
  std::optional<std::vector<sdk::ContactPoint>> lookup() {
    std::vector<dns::DnsTarget> targets;
    const sdk::Result r = dns::lookup(query_, targets);
    if (!r) {
      if (!failing_) post_log(sdk::LogLevel::warning, r.message() + " (keeping the last contact points)");
      failing_ = true;
      return std::nullopt;
    }
    if (failing_) post_log(sdk::LogLevel::notice, "lookup works again: " + std::to_string(targets.size()) + " targets");
    failing_ = false;
    std::vector<sdk::ContactPoint> out;
    for (const auto& t : targets) {
      sdk::ContactPoint c;
      c.protocol = protocol_;
      c.ip = t.ip;
      c.props = {{"port", std::to_string(t.port)}};
      c.local = t.ip == "::1" || t.ip.rfind("127.", 0) == 0;
      out.push_back(std::move(c));
    }
    return out;
  }

  dns::DnsQuery query_;
  std::string protocol_;
  std::chrono::milliseconds interval_;
  bool failing_ = false;  ///< lookup thread only
};

bool init(sdk::Registrar& registrar, std::string& error) noexcept {
  return sdk::guard_init("dns", error, [&] {
    const sdk::PluginConfig& cfg = registrar.config();
    dns::DnsQuery q;
    q.name = cfg.get("name");
    if (q.name.empty()) return sdk::Result::failure("[dns] name is required (an SRV name or a name with A/AAAA records)");
    const std::string record = cfg.get("record");
    if (record == "srv") q.kind = dns::DnsKind::srv;
    else if (record == "a") q.kind = dns::DnsKind::a;
    else if (record == "auto") q.kind = q.name.front() == '_' ? dns::DnsKind::srv : dns::DnsKind::a;
    else return sdk::Result::failure("[dns] record = '" + record + "': use srv, a or auto");
    q.port = static_cast<std::uint16_t>(cfg.get_int("port"));
    if (q.kind == dns::DnsKind::a && q.port == 0)
      return sdk::Result::failure("[dns] port is required with A/AAAA records (the members' port for `protocol`)");
    q.server = cfg.get("server");
    if (!q.server.empty())
      if (auto r = dns::check_server(q.server); !r) return sdk::Result::failure("[dns] server: " + r.message());
    q.timeout = std::chrono::milliseconds(cfg.get_int("timeout_ms"));
    if (cfg.get("protocol").empty()) return sdk::Result::failure("[dns] protocol: needs a protocol id (t)");
    const ContactDiscoveryOptions o = cluster::plugins::contact_options(cfg, "dns", true);
    const std::string protocol = cfg.get("protocol");
    const std::chrono::milliseconds interval(cfg.get_int("interval_ms"));
    registrar.add_discovery("dns", [o, q, protocol, interval](sdk::DiscoveryHost& host) {
      return std::make_unique<DnsDiscovery>(host, o, q, protocol, interval);
    });
    return sdk::Result::success();
  });
}

}  // namespace

CLUSTER_PLUGIN_RANGED("dns", "1.0.0", "discovery through DNS SRV or A/AAAA records (no multicast needed)", kKeys,
                      std::size(kKeys), kRanges, std::size(kRanges), init, nullptr)
