// seeds: a discovery without multicast (docs/discovery.md). [seeds] seeds lists where some
// members listen (host:port of their tcp transport); a newcomer that reaches any one of them
// learns every member (contact_discovery.hpp says how). Names are looked up on a thread of the
// plugin, again every sync period (a seed whose address changed is followed); addresses need
// no lookup.
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <optional>

#include <cluster/sdk/boundary.hpp>

#include "contact_discovery.hpp"
#include "net.hpp"
#include "seed_list.hpp"

namespace {

namespace sdk = cluster::sdk;
using cluster::plugins::ContactDiscovery;
using cluster::plugins::ContactDiscoveryOptions;
using cluster::plugins::Seed;

constexpr sdk::ConfigKey kKeys[] = {
    {"seeds", sdk::ConfigType::string, "",
     "where members listen: host:port entries (IPv4, [IPv6] or a name), separated by commas; the port "
     "is the member's port for `protocol` (e.g. its [tcp] port)"},
    {"protocol", sdk::ConfigType::string, "t", "the protocol the seeds' ports are for (one we run)"},
    cluster::plugins::kHeartbeatKey,
    cluster::plugins::kSyncKey,  // names are looked up again at the same period
};
constexpr sdk::ConfigRange kRanges[] = {cluster::plugins::kHeartbeatRange, cluster::plugins::kSyncRange};

sdk::ContactPoint contact_at(const std::string& protocol, const std::string& ip, std::uint16_t port) {
  sdk::ContactPoint c;
  c.protocol = protocol;
  c.ip = ip;
  c.props = {{"port", std::to_string(port)}};
  c.local = ip == "::1" || ip.rfind("127.", 0) == 0;
  return c;
}

class SeedsDiscovery final : public ContactDiscovery {
 public:
  SeedsDiscovery(sdk::DiscoveryHost& host, ContactDiscoveryOptions o, std::vector<Seed> seeds, std::string protocol)
      : ContactDiscovery(host, std::move(o)), seeds_(std::move(seeds)), protocol_(std::move(protocol)) {}
  ~SeedsDiscovery() override { stop_lookups(); }

 private:
  sdk::Result start_source() override {
    if (auto r = check_protocol(protocol_, "protocol"); !r) return r;
    std::vector<sdk::ContactPoint> now;
    for (const auto& s : seeds_)
      if (s.numeric) now.push_back(contact_at(protocol_, s.host, s.port));
    set_contacts(now);
    // Names: looked up on the lookup thread, again every sync period (a seed may move).
    if (now.size() != seeds_.size())
      start_lookups(options().sync, [this]() -> std::optional<std::vector<sdk::ContactPoint>> { return resolve_all(); });
    return sdk::Result::success();
  }

  std::vector<sdk::ContactPoint> resolve_all() {
    std::vector<sdk::ContactPoint> out;
    for (const auto& s : seeds_) {
      if (s.numeric) {
        out.push_back(contact_at(protocol_, s.host, s.port));
        continue;
      }
      if (lookups_stopping()) break;  // leave() waits for at most the lookup in progress
      addrinfo hints{};
      hints.ai_family = AF_UNSPEC;
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* list = nullptr;
      const int rc = ::getaddrinfo(s.host.c_str(), nullptr, &hints, &list);
      if (rc != 0) {
        post_log(sdk::LogLevel::warning, "cannot look up seed '" + s.host + "': " + ::gai_strerror(rc));
        continue;
      }
      for (addrinfo* a = list; a != nullptr; a = a->ai_next) {
        const std::string ip = cluster::transport::address_text(a->ai_addr, a->ai_addrlen);
        if (!ip.empty()) out.push_back(contact_at(protocol_, ip, s.port));
      }
      ::freeaddrinfo(list);
    }
    return out;
  }

  std::vector<Seed> seeds_;
  std::string protocol_;
};

bool init(sdk::Registrar& registrar, std::string& error) noexcept {
  return sdk::guard_init("seeds", error, [&] {
    const sdk::PluginConfig& cfg = registrar.config();
    std::vector<Seed> seeds;
    if (const std::string bad = cluster::plugins::parse_seed_list(cfg.get("seeds"), seeds); !bad.empty())
      return sdk::Result::failure("[seeds] seeds: " + bad);
    if (cfg.get("protocol").empty()) return sdk::Result::failure("[seeds] protocol: needs a protocol id (t)");
    const ContactDiscoveryOptions o = cluster::plugins::contact_options(
        cfg, "seeds", std::any_of(seeds.begin(), seeds.end(), [](const Seed& s) { return !s.numeric; }));
    const std::string protocol = cfg.get("protocol");
    registrar.add_discovery("seeds", [o, seeds, protocol](sdk::DiscoveryHost& host) {
      return std::make_unique<SeedsDiscovery>(host, o, seeds, protocol);
    });
    return sdk::Result::success();
  });
}

}  // namespace

CLUSTER_PLUGIN_RANGED("seeds", "1.0.0", "discovery through seed members (no multicast needed)", kKeys,
                      std::size(kKeys), kRanges, std::size(kRanges), init, nullptr)
