// The host side of the two policy kinds: what a discovery and a failure detector may ask of
// the member (sdk/policy_host.hpp, sdk/discovery.hpp, sdk/failure_detector.hpp).
#include <algorithm>

#include "cluster/impl.hpp"
#include "policies/builtin_policies.hpp"

namespace cluster {

template <class HostBase>
sdk::EventLoop& PolicySlot<HostBase>::loop() noexcept {
  return *owner.loop_;
}

template <class HostBase>
void PolicySlot<HostBase>::log(sdk::LogLevel level, std::string_view message) noexcept {
  owner.log(level, message);
}

template <class HostBase>
const sdk::ClusterSettings& PolicySlot<HostBase>::settings() const noexcept {
  return owner.settings_;
}

template <class HostBase>
const sdk::MembershipTimings& PolicySlot<HostBase>::timings() const noexcept {
  return owner.timings_;
}

template <class HostBase>
Payload PolicySlot<HostBase>::packet(PayloadType type, sdk::Record record) const {
  return owner.packet(type, record);
}

template <class HostBase>
sdk::SendStatus PolicySlot<HostBase>::multicast(Payload& p) noexcept {
  try {
    if (owner.receiving != 0) {  // from added()/heard(): after the packet (the re-entrancy rule)
      owner.later([this, copy = p]() mutable { multicast(copy); });
      return sdk::SendStatus::sent;
    }
    Cluster::Impl::MulticastFailure why;
    if (owner.multicast(p, &why)) {
      // Our record went out to everyone: Record::changed leaves it out until it changes again.
      // Only an unfiltered heartbeat reaches everyone (filtered packets are dropped unread).
      if (p.type.value_or(0) == static_cast<std::uint64_t>(PayloadType::heartbeat) && !p.filter.has()) {
        if (p.data.has()) owner.props_dirty = false;
        if (p.tags.has()) owner.tags_dirty = false;
      }
      return sdk::SendStatus::sent;
    }
    switch (why) {
      case Cluster::Impl::MulticastFailure::hook: return sdk::SendStatus::vetoed;
      case Cluster::Impl::MulticastFailure::too_large: return sdk::SendStatus::too_large;
      default: return sdk::SendStatus::failed;
    }
  } catch (const std::exception& e) {
    owner.log(sdk::LogLevel::error, std::string("multicast failed: ") + e.what());
    return sdk::SendStatus::failed;
  }
}

template <class HostBase>
sdk::Result PolicySlot<HostBase>::send(std::string_view uuid, Payload& p) noexcept {
  try {
    ServiceState* s = owner.find(uuid);
    if (s == nullptr) return sdk::Result::failure("unknown member " + std::string(uuid));
    return owner.send_soon(*s, p, SendFlags{});
  } catch (const std::exception& e) {
    return sdk::Result::failure(e.what());
  }
}

template <class HostBase>
std::size_t PolicySlot<HostBase>::known() const noexcept {
  return owner.services.size();
}

template <class HostBase>
void PolicySlot<HostBase>::count(sdk::PolicyCounter what) noexcept {
  switch (what) {
    case sdk::PolicyCounter::burst_answer: ++owner.counters.burst_answers; break;
    case sdk::PolicyCounter::ask_sent: ++owner.counters.asks_sent; break;
    case sdk::PolicyCounter::ping_sent: ++owner.counters.pings_sent; break;
    case sdk::PolicyCounter::probe_sent: ++owner.counters.probes_sent; break;
    case sdk::PolicyCounter::probe_indirect: ++owner.counters.probes_indirect; break;
    case sdk::PolicyCounter::probe_failed: ++owner.counters.probes_failed; break;
    case sdk::PolicyCounter::suspicion: ++owner.counters.suspicions; break;
    case sdk::PolicyCounter::refutation: ++owner.counters.refutations; break;
    case sdk::PolicyCounter::confirmation: ++owner.counters.confirmations; break;
    case sdk::PolicyCounter::nack_sent: ++owner.counters.nacks_sent; break;
  }
}

template struct PolicySlot<sdk::DiscoveryHost>;
template struct PolicySlot<sdk::FailureDetectorHost>;

namespace {
constexpr std::size_t kRecentContactsMax = 1024;  // about one sync of a large seeds list
}  // namespace

sdk::Result DiscoverySlot::contact(const sdk::ContactPoint& at, Payload& p) noexcept {
  try {
    auto same = std::find_if(recent_contacts.begin(), recent_contacts.end(), [&](const sdk::ContactPoint& c) {
      return c.protocol == at.protocol && c.ip == at.ip && c.props == at.props;
    });
    if (same != recent_contacts.end()) recent_contacts.erase(same);
    if (recent_contacts.size() >= kRecentContactsMax) recent_contacts.erase(recent_contacts.begin());
    recent_contacts.push_back(at);
    if (owner.receiving != 0) {
      owner.later([this, at, copy = p]() mutable { owner.send_contact(at, copy); });
      return sdk::Result::success();
    }
    return owner.send_contact(at, p);
  } catch (const std::exception& e) {
    return sdk::Result::failure(e.what());
  }
}

bool DiscoverySlot::contacted(const ServiceInfo& member) const {
  for (auto it = recent_contacts.rbegin(); it != recent_contacts.rend(); ++it) {
    const Dict* props = member.props_for(it->protocol);
    if (props == nullptr || it->props.empty()) continue;
    const bool all = std::all_of(it->props.begin(), it->props.end(), [&](const auto& kv) {
      return std::find(props->begin(), props->end(), kv) != props->end();
    });
    if (all && (it->ip == member.ip || (it->local && member.local))) return true;
  }
  return false;
}

bool DiscoverySlot::beacon() const noexcept {
  for (const auto& d : owner.discoveries)
    if (d->slot_name == "multicast") return true;
  return false;
}

std::vector<ServiceInfo> DiscoverySlot::members() const {
  std::vector<ServiceInfo> out;
  out.reserve(owner.services.size());
  for (const auto& [uuid, s] : owner.services) out.push_back(s.info);
  return out;
}

bool DiscoverySlot::awaiting_record(std::string_view uuid) noexcept {
  ServiceState* s = owner.find(uuid);
  if (s == nullptr || s->heard_full) return false;
  s->last_ask = owner.loop_->now();
  return true;
}

void DetectorSlot::declare(std::string_view uuid, sdk::Liveness state, std::string_view reason) noexcept {
  try {
    owner.declare(uuid, state, reason);
  } catch (const std::exception& e) {
    owner.log(sdk::LogLevel::error, std::string("declaring a member failed: ") + e.what());
  }
}

void DetectorSlot::announce() noexcept {
  try {
    owner.later([&o = owner] {
      o.each_discovery([](sdk::Discovery& d) { d.announce(sdk::Record::full); });
    });
  } catch (const std::exception& e) {
    owner.log(sdk::LogLevel::error, std::string("announcing failed: ") + e.what());
  }
}

sdk::Result DetectorSlot::send_via(std::string_view uuid, std::string_view protocol, Payload& p) noexcept {
  try {
    ServiceState* s = owner.find(uuid);
    if (s == nullptr) return sdk::Result::failure("unknown member " + std::string(uuid));
    if (owner.receiving != 0) {  // the re-entrancy rule: after the packet being handled
      owner.later([this, u = std::string(uuid), proto = std::string(protocol), copy = p]() mutable {
        if (ServiceState* m = owner.find(u)) owner.send_only(*m, copy, proto);
      });
      return sdk::Result::success();
    }
    return owner.send_only(*s, p, protocol);
  } catch (const std::exception& e) {
    return sdk::Result::failure(e.what());
  }
}

sdk::Result DetectorSlot::advertise(std::string_view key, const Dict& value) noexcept {
  try {
    const bool plain = !key.empty() && key.size() <= 32 && std::all_of(key.begin(), key.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
    if (!plain) return sdk::Result::failure("props key '" + std::string(key) + "' must be a word of letters, digits, _ or -");
    if (std::find(owner.protocol_ids.begin(), owner.protocol_ids.end(), key) != owner.protocol_ids.end())
      return sdk::Result::failure("props key '" + std::string(key) + "' is a protocol's");
    auto& entries = owner.advertised;
    auto it = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.first == key; });
    if (value.empty()) {
      if (it == entries.end()) return sdk::Result::success();
      entries.erase(it);
    } else if (it == entries.end()) {
      entries.emplace_back(std::string(key), value);
    } else if (it->second != value) {
      it->second = value;
    } else {
      return sdk::Result::success();
    }
    owner.props_dirty = true;
    owner.announce_changes();
    return sdk::Result::success();
  } catch (const std::exception& e) {
    return sdk::Result::failure(e.what());
  }
}

std::unique_ptr<sdk::FailureDetector> DetectorSlot::builtin(std::string_view name) noexcept {
  try {
    if (name == policies::kTtlDetector) return policies::make_ttl_detector(*this);
  } catch (const std::exception& e) {
    owner.log(sdk::LogLevel::error, std::string("creating the built-in detector failed: ") + e.what());
  }
  return nullptr;
}

void DetectorSlot::health(std::uint32_t score) noexcept { owner.counters.detector_health = score; }

}  // namespace cluster
