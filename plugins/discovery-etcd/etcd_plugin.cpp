// etcd: a discovery without multicast (docs/discovery.md) for deployments that outgrow a LAN.
// Our record (uuid, address, props: one member-list entry) is kept under <prefix><uuid> with a
// lease of ttl_s seconds, renewed every ttl_s / 3; the prefix is watched, and every other key is
// a contact point. A member killed with -9 leaves etcd when its lease ends (its peers' failure
// detector drops it after their ttl); one that leaves revokes its lease at once. After an etcd
// restart or a lost lease the record is put again. All etcd traffic runs on the registry's
// thread (etcd_registry.hpp); what it finds reaches the loop thread through the mailbox.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cluster/sdk/boundary.hpp>
#include <cluster/sdk/text.hpp>

#include "contact_discovery.hpp"
#include "etcd_registry.hpp"
#include "net.hpp"

namespace {

namespace sdk = cluster::sdk;
namespace etcd = cluster::etcd;
using cluster::plugins::ContactDiscovery;
using cluster::plugins::ContactDiscoveryOptions;
using cluster::plugins::ListedMember;

constexpr sdk::ConfigKey kKeys[] = {
    {"endpoints", sdk::ConfigType::string, "http://127.0.0.1:2379",
     "etcd client URLs (http://host:port), separated by commas; tried in turn"},
    {"prefix", sdk::ConfigType::string, "/cluster/members/", "the key prefix of this cluster's members"},
    {"ttl_s", sdk::ConfigType::integer, "10",
     "lease of our key: a member that dies without leaving leaves etcd this long after"},
    {"timeout_ms", sdk::ConfigType::integer, "2000", "how long one etcd call may take"},
    cluster::plugins::kHeartbeatKey,
    cluster::plugins::kSyncKey,
};
constexpr sdk::ConfigRange kRanges[] = {
    {"ttl_s", 2, 3600}, {"timeout_ms", 100, 60000}, cluster::plugins::kHeartbeatRange, cluster::plugins::kSyncRange,
};

/// The address others reach us at: [cluster] advertise, else [cluster] bind when it is one
/// address, else the first address of an interface that is up and not loopback (IPv4 first).
std::string own_address(const sdk::ClusterSettings& s) {
  if (!s.advertise.empty()) return s.advertise;
  if (!s.bind.empty() && s.bind != "0.0.0.0" && s.bind != "::") return s.bind;
  for (int family : {AF_INET, AF_INET6})
    for (const auto& a : cluster::transport::interface_addresses(family)) {
      const std::string ip = cluster::transport::address_text(reinterpret_cast<const sockaddr*>(&a.address), a.length);
      if (ip.empty() || ip == "::1" || ip.rfind("127.", 0) == 0 || ip.rfind("fe80:", 0) == 0) continue;
      return ip;
    }
  return "127.0.0.1";
}

class EtcdDiscovery final : public ContactDiscovery {
 public:
  EtcdDiscovery(sdk::DiscoveryHost& host, ContactDiscoveryOptions o, etcd::RegistryOptions r)
      : ContactDiscovery(host, std::move(o)), options_(std::move(r)) {}
  ~EtcdDiscovery() override { stop_source(); }

 private:
  sdk::Result start_source() override {
    const std::string uuid = host().settings().sid + "@" + host().settings().hid;
    options_.key = options_.prefix + uuid;
    ip_ = own_address(host().settings());
    options_.value = record();
    registry_ = std::make_unique<etcd::EtcdRegistry>(
        options_, [this](std::map<std::string, std::string> members) { found(members); },
        [this](int level, std::string line) { post_log(static_cast<sdk::LogLevel>(level), "etcd: " + line); });
    return registry_->start();
  }

  void stop_source() noexcept override {
    if (registry_) registry_->stop();  // revokes the lease: the others see our key go at once
  }

  void on_tick() noexcept override {
    sdk::guard_log(host(), "etcd: record", [&] {
      if (std::string now = record(); now != options_.value) {
        options_.value = now;
        registry_->set_value(std::move(now));
      }
    });
  }

  /// Our entry: a member list of one (contact_discovery.hpp's format).
  std::string record() {
    ListedMember me{options_.key.substr(options_.prefix.size()), ip_, false, {}};
    cluster::Dict props;
    sdk::text::parse_tcl_dict(host().packet(cluster::PayloadType::heartbeat, sdk::Record::full).data.value_or(""), props);
    for (const auto& [protocol, d] : props) {
      cluster::Dict pd;
      if (sdk::text::parse_tcl_dict(d, pd)) me.props.emplace_back(protocol, std::move(pd));
    }
    return cluster::plugins::encode_member_list({me});
  }

  // On the registry's thread: every other member's record, as contact points.
  void found(const std::map<std::string, std::string>& members) {
    std::vector<sdk::ContactPoint> contacts;
    const cluster::ServiceInfo nobody;  // entries are never "local to the sender" here
    for (const auto& [key, value] : members) {
      std::vector<ListedMember> entries;
      if (!cluster::plugins::decode_member_list(value, entries) || entries.size() != 1) {
        post_log(sdk::LogLevel::warning, "etcd: " + sdk::text::printable(key) + " holds no member record: skipped");
        continue;
      }
      for (auto& c : cluster::plugins::contact_points_of(entries.front(), nobody)) {
        c.local = c.ip == "::1" || c.ip.rfind("127.", 0) == 0;
        contacts.push_back(std::move(c));
      }
    }
    post_contacts(std::move(contacts));
  }

  etcd::RegistryOptions options_;
  std::string ip_;
  std::unique_ptr<etcd::EtcdRegistry> registry_;
};

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text + ",") {
    if (c == ',' || c == ' ' || c == '\t') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

bool init(sdk::Registrar& registrar, std::string& error) noexcept {
  return sdk::guard_init("etcd", error, [&] {
    const sdk::PluginConfig& cfg = registrar.config();
    etcd::RegistryOptions r;
    r.endpoints = split(cfg.get("endpoints"));
    if (r.endpoints.empty()) return sdk::Result::failure("[etcd] endpoints: list at least one http://host:port");
    if (auto v = etcd::EtcdClient(etcd::ClientOptions{r.endpoints, {}, {}}).valid(); !v)
      return sdk::Result::failure("[etcd] endpoints: " + v.message());
    r.prefix = cfg.get("prefix");
    if (r.prefix.empty() || sdk::text::has_control(r.prefix))
      return sdk::Result::failure("[etcd] prefix: needs a key prefix such as /cluster/members/");
    r.ttl_s = cfg.get_int("ttl_s");
    r.timeout = std::chrono::milliseconds(cfg.get_int("timeout_ms"));
    const ContactDiscoveryOptions o = cluster::plugins::contact_options(cfg, "etcd", true);
    registrar.add_discovery("etcd", [o, r](sdk::DiscoveryHost& host) { return std::make_unique<EtcdDiscovery>(host, o, r); });
    return sdk::Result::success();
  });
}

}  // namespace

CLUSTER_PLUGIN_RANGED("etcd", "1.0.0", "discovery through an etcd prefix with leases (no multicast needed)", kKeys,
                      std::size(kKeys), kRanges, std::size(kRanges), init, nullptr)
