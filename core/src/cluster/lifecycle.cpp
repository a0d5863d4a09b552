// Joining, our record, and leaving. What goes out to find members is the discovery's, who is
// alive the failure detector's (policy_hosts.cpp); here they are created, started and stopped.
#include <algorithm>
#include <utility>

#include "cluster/bpacket/payload_codec.hpp"
#include "cluster/text.hpp"
#include "cluster/identity.hpp"
#include "cluster/impl.hpp"

namespace cluster {

void Cluster::Impl::start() {
  const std::vector<std::string> discovery_names = opt.discovery_names();
  if (discovery_names.empty()) throw ConfigError("[cluster] discovery needs at least one discovery name");
  const bool beacon = std::find(discovery_names.begin(), discovery_names.end(), "multicast") != discovery_names.end();
  // The beacon needs the group; other discoveries do without it (a member then advertises no
  // "c" and is reached directly only: docs/discovery.md).
  if (beacon && std::find(opt.protocols.begin(), opt.protocols.end(), "c") == opt.protocols.end())
    opt.protocols.push_back("c");
  for (const auto& id : opt.protocols) {
    if (std::count(opt.protocols.begin(), opt.protocols.end(), id) > 1)
      throw ConfigError("[cluster] protocols lists '" + id + "' twice");
    if (!plugins || !plugins->has_protocol(id))
      throw ConfigError("[cluster] protocols names '" + id + "', but no loaded plugin provides it" +
                        (id == "c" ? " (load udp-multicast)" : ""));
  }
  for (const auto& name : discovery_names) {
    if (std::count(discovery_names.begin(), discovery_names.end(), name) > 1)
      throw ConfigError("[cluster] discovery lists '" + name + "' twice");
    if (!plugins->has_discovery(name))
      throw ConfigError("[cluster] discovery names '" + name + "', but no loaded plugin provides it");
  }
  if (!plugins->has_failure_detector(opt.failure_detector))
    throw ConfigError("[cluster] failure_detector names '" + opt.failure_detector +
                      "', but no loaded plugin provides it");
  settings_.address = opt.address;
  settings_.port = opt.port;
  settings_.remote = opt.remote;
  settings_.interface = opt.interface;
  settings_.bind = opt.bind;
  settings_.advertise = opt.advertise;
  settings_.hid = opt.hid.empty() ? identity::default_hid() : opt.hid;
  settings_.sid = identity::make_sid(rng);
  tags = opt.tags;
  channels = {0, 1, 2};
  channels.insert(opt.channels.begin(), opt.channels.end());
  timings_.heartbeat = opt.heartbeat.count() > 0
                           ? opt.heartbeat
                           : std::chrono::milliseconds(110000 + static_cast<long>(rng() % 30001));
  timings_.ttl = opt.ttl;
  timings_.expiry_grace = opt.expiry_grace ? *opt.expiry_grace
                                           : std::min<std::chrono::milliseconds>(
                                                 {timings_.heartbeat / 4, opt.ttl / 4, std::chrono::seconds(5)});
  timings_.ping_delay = opt.ping_delay;
  timings_.ping_grace = opt.ping_grace;
  timings_.ping_recent = opt.ping_recent;
  timings_.max_multicast_packet = opt.max_multicast_packet;
  recently_lost = RecentlyLost(std::min<std::size_t>(opt.max_members, 1024),
                               std::clamp<Clock::duration>(opt.ttl * 10, std::chrono::minutes(1), std::chrono::hours(1)));

  recently_left = RecentlyLeft(std::min<std::size_t>(opt.max_members, 1024),
                               std::min<Clock::duration>(opt.ttl, std::chrono::seconds(10)));

  start_sealer();  // before any protocol: no packet goes out or comes in unsealed

  const auto stop_started = [this] {
    for (auto it = protocols.rbegin(); it != protocols.rend(); ++it) (*it)->proto->stop();
  };
  for (const auto& id : opt.protocols) {
    auto s = std::make_unique<ProtocolSlot>(*this, id, plugins->protocol_config(id));
    s->proto = plugins->create_protocol(id, *s);
    if (!s->proto) {
      stop_started();
      throw std::runtime_error("protocol '" + id + "' could not be created");
    }
    // Peers see our ids in `protocols` and route by them: a plugin whose protocol calls itself
    // something else than it registered would be offered under one id and answer to another.
    if (s->proto->id() != id) {
      stop_started();
      throw std::runtime_error("protocol registered as '" + id + "' says its id is '" + std::string(s->proto->id()) +
                               "' (Protocol::id() must return the id it is registered under)");
    }
    s->traits = s->proto->traits();
    s->lane = static_cast<std::uint8_t>(protocols.size());
    s->abi_minor = plugins->protocol_abi_minor(id);
    if (auto r = s->proto->start(); !r) {
      stop_started();
      throw std::runtime_error("protocol '" + id + "' failed to start: " + r.message());
    }
    if (!s->traits.datagram && s->abi_minor >= 6) backlog_protocols.push_back(s.get());
    protocols.push_back(std::move(s));
    protocol_ids.push_back(id);
  }
  if (beacon && multicast_slot() == nullptr) {
    stop_started();
    throw ConfigError("[cluster] discovery 'multicast' needs a protocol that can multicast ('c')");
  }
  if (!beacon && protocols.size() == static_cast<std::size_t>(multicast_slot() != nullptr)) {
    stop_started();
    throw ConfigError("[cluster] protocols: without the multicast discovery, members meet over a direct protocol "
                      "(tcp, unix, udp): none is listed");
  }
  if (const std::string why = tags_problem(tags); !why.empty()) {
    stop_started();
    throw ConfigError("[cluster] tags: " + why);
  }
  try {
    start_policies();
  } catch (...) {
    stop_started();
    throw;
  }
}

void Cluster::Impl::start_policies() {
  detector = std::make_unique<DetectorSlot>(*this, plugins->failure_detector_config(opt.failure_detector),
                                            plugins->failure_detector_abi_minor(opt.failure_detector));
  detector->policy = plugins->create_failure_detector(opt.failure_detector, *detector);
  if (!detector->policy) throw std::runtime_error("failure detector '" + opt.failure_detector + "' could not be created");
  if (auto r = detector->policy->start(); !r)
    throw std::runtime_error("failure detector '" + opt.failure_detector + "' failed to start: " + r.message());
  send_queues.clear();
  for (std::size_t i = 0; i < kSendLanes; ++i)
    send_queues.push_back(std::make_shared<SendQueue>(
        *loop_, opt.send_queue_limit, opt.send_queue_full, opt.send_queue_block_ms,
        [this](SendRequest& r) { send_request(r); }, [this](const SendRequest& r) { return backlogged(r); }));
  joined = true;
  // Before the discoveries' first timers: at each period, protocols repair first (a props
  // change then rides on the periodic heartbeat), as before the split.
  schedule_maintenance();
  const auto fail = [this](const std::string& why) {
    stop_discoveries();
    discoveries.clear();
    if (maintenance_timer) loop_->cancel(maintenance_timer);
    maintenance_timer = 0;
    joined = false;
    detector->policy->stop();
    throw std::runtime_error(why);
  };
  for (const auto& name : opt.discovery_names()) {
    auto d = std::make_unique<DiscoverySlot>(*this, plugins->discovery_config(name), name,
                                             plugins->discovery_abi_minor(name));
    d->policy = plugins->create_discovery(name, *d);
    if (!d->policy) fail("discovery '" + name + "' could not be created");
    DiscoverySlot& slot = *d;
    discoveries.push_back(std::move(d));
    if (auto r = slot.policy->start(); !r) {
      discoveries.pop_back();  // a failing start() leaves nothing armed: no stop() (discovery.hpp)
      fail("discovery '" + name + "' failed to start: " + r.message());
    }
  }
}

void Cluster::Impl::stop_discoveries() {
  for (auto it = discoveries.rbegin(); it != discoveries.rend(); ++it) (*it)->policy->stop();
}

// Protocols repair what vanished (a deleted socket file, ...) once a heartbeat period.
void Cluster::Impl::schedule_maintenance() {
  if (left) return;
  maintenance_timer = loop_->after(timings_.heartbeat, [this] {
    maintenance_timer = 0;
    if (left) return;
    for (auto& s : protocols) s->proto->check();
    schedule_maintenance();
  });
}

void Cluster::Impl::announce_changes() {
  if (announce_soon || !joined || left) return;
  announce_soon = true;  // several changes in one loop turn give one heartbeat
  // A zero-delay timer, not post(): leave() cancels it, so it never runs on a destroyed cluster
  // when the host owns the loop.
  after(std::chrono::milliseconds(0), [this] {
    announce_soon = false;
    each_discovery([](sdk::Discovery& d) { d.announce(sdk::Record::changed); });
  });
}

Payload Cluster::Impl::packet(PayloadType type, sdk::Record record) const {
  Payload p = base(type);
  p.known = services.size();
  if (record == sdk::Record::full || (record == sdk::Record::changed && props_dirty)) p.data = props_string();
  if (record == sdk::Record::full || (record == sdk::Record::changed && tags_dirty)) p.tags = tags;
  return p;
}

std::string Cluster::Impl::tags_problem(const std::vector<std::string>& candidate) const {
  for (const auto& t : candidate)
    if (has_control(t)) return "tag '" + t + "' holds a control character";
  Payload p = base(PayloadType::heartbeat);
  p.known = services.size();
  p.data = props_string();
  p.tags = candidate;
  std::string bytes;
  bpacket::encode_payload(p, bytes);
  const std::size_t size = bytes.size() + envelope.overhead();  // sealed and labelled, at most
  if (size > opt.max_multicast_packet)
    return "with these tags our heartbeat is " + std::to_string(size) + " bytes, over max_multicast_packet (" +
           std::to_string(opt.max_multicast_packet) + "): no member would hear it";
  return {};
}

void Cluster::Impl::set_tags(std::vector<std::string> next) {
  if (const std::string why = tags_problem(next); !why.empty())
    throw std::invalid_argument(escape_controls("tags refused: " + why));
  tags = std::move(next);
  tags_dirty = true;
  announce_changes();
}

void Cluster::Impl::leave() {
  if (left || leaving || !joined) return;
  leaving = true;
  {
    // The goodbye goes out now even from a hook inside a receive (it would wait in the outbox,
    // which leaving clears): stopping protocols there is the documented exception anyway.
    const int was_receiving = std::exchange(receiving, 0);
    // Sends accepted from other threads go out before the goodbye; later ones are refused.
    for (const auto& q : send_queues) q->close_and_flush();
    stop_discoveries();  // they say goodbye (the beacon multicasts a disconnect)
    receiving = was_receiving;
  }
  left = true;
  detector->policy->stop();
  if (maintenance_timer) loop_->cancel(maintenance_timer);
  for (auto id : timers) loop_->cancel(id);
  timers.clear();
  if (outbox_timer) loop_->cancel(outbox_timer);
  outbox_timer = 0;
  outbox.clear();
  outbox_armed = false;
  while (!queries.empty()) end_query(queries.begin()->second.query, false);
  for (auto it = protocols.rbegin(); it != protocols.rend(); ++it) (*it)->proto->stop();
}

}  // namespace cluster
