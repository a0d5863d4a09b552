// Joining, heartbeats, discovery, expiry and leaving (PROTOCOL.md section 6).
#include <algorithm>

#include "cluster/bpacket/payload_codec.hpp"
#include "cluster/text.hpp"
#include "identity.hpp"
#include "impl.hpp"

namespace cluster {

void Cluster::Impl::start() {
  if (std::find(opt.protocols.begin(), opt.protocols.end(), "c") == opt.protocols.end())
    opt.protocols.push_back("c");
  for (const auto& id : opt.protocols) {
    if (std::count(opt.protocols.begin(), opt.protocols.end(), id) > 1)
      throw ConfigError("[cluster] protocols lists '" + id + "' twice");
    if (!plugins || !plugins->has_protocol(id))
      throw ConfigError("[cluster] protocols names '" + id + "', but no loaded plugin provides it" +
                        (id == "c" ? " (load udp-multicast)" : ""));
  }
  settings_.address = opt.address;
  settings_.port = opt.port;
  settings_.remote = opt.remote;
  settings_.interface = opt.interface;
  settings_.hid = opt.hid.empty() ? identity::default_hid() : opt.hid;
  settings_.sid = identity::make_sid(rng);
  tags = opt.tags;
  channels = {0, 1, 2};
  channels.insert(opt.channels.begin(), opt.channels.end());
  heartbeat_period = opt.heartbeat.count() > 0
                         ? opt.heartbeat
                         : std::chrono::milliseconds(110000 + static_cast<long>(rng() % 30001));
  expiry_grace = opt.expiry_grace ? Clock::duration(*opt.expiry_grace)
                                  : std::min<Clock::duration>({heartbeat_period / 4, opt.ttl / 4, std::chrono::seconds(5)});
  recently_lost = RecentlyLost(std::min<std::size_t>(opt.max_members, 1024),
                               std::clamp<Clock::duration>(opt.ttl * 10, std::chrono::minutes(1), std::chrono::hours(1)));

  for (const auto& id : opt.protocols) {
    auto s = std::make_unique<ProtocolSlot>(*this, id, plugins->protocol_config(id));
    s->proto = plugins->create_protocol(id, *s);
    if (!s->proto) {
      for (auto& started : protocols) started->proto->stop();
      throw std::runtime_error("protocol '" + id + "' could not be created");
    }
    // Peers see our ids in `protocols` and route by them: a plugin whose protocol calls itself
    // something else than it registered would be offered under one id and answer to another.
    if (s->proto->id() != id) {
      for (auto& started : protocols) started->proto->stop();
      throw std::runtime_error("protocol registered as '" + id + "' says its id is '" + std::string(s->proto->id()) +
                        "' (Protocol::id() must return the id it is registered under)");
    }
    s->traits = s->proto->traits();
    if (auto r = s->proto->start(); !r) {
      for (auto& started : protocols) started->proto->stop();
      throw std::runtime_error("protocol '" + id + "' failed to start: " + r.message());
    }
    protocols.push_back(std::move(s));
    protocol_ids.push_back(id);
  }
  if (multicast_slot() == nullptr) {
    for (auto& started : protocols) started->proto->stop();
    throw ConfigError("no protocol in [cluster] protocols can multicast (needs 'c')");
  }
  if (const std::string why = tags_problem(tags); !why.empty()) {
    for (auto& started : protocols) started->proto->stop();
    throw ConfigError("[cluster] tags: " + why);
  }
  joined = true;
  send_heartbeat(true);
  send_discovery();
  schedule_heartbeat();
}

void Cluster::Impl::schedule_heartbeat() {
  if (left) return;  // a hook run by expire() may have left the cluster
  heartbeat_timer = loop_->after(heartbeat_period, [this] {
    heartbeat_timer = 0;
    if (left) return;
    expire();
    for (auto& s : protocols) s->proto->check();
    send_heartbeat(false);
    schedule_heartbeat();
  });
}

void Cluster::Impl::schedule_immediate_heartbeat() {
  if (heartbeat_soon || !joined || left) return;
  heartbeat_soon = true;  // several changes in one loop turn give one heartbeat
  // A zero-delay timer, not post(): leave() cancels it, so it never runs on a destroyed cluster
  // when the host owns the loop.
  after(std::chrono::milliseconds(0), [this] {
    heartbeat_soon = false;
    if (!left) send_heartbeat(false);
  });
}

void Cluster::Impl::send_heartbeat(bool full) {
  if (left) return;
  Payload p = base(PayloadType::heartbeat);
  p.known = services.size();
  if (full || props_dirty) p.data = props_string();
  if (full || tags_dirty) p.tags = tags;
  MulticastFailure why;
  if (multicast(p, &why)) {
    if (p.data.has() && p.tags.has()) full_heartbeat_too_large = false;
    props_dirty = false;
    tags_dirty = false;
    return;
  }
  if (why == MulticastFailure::too_large && (p.data.has() || p.tags.has())) {
    // Never stop heartbeating: peers would expire a live member. Tags are checked to fit, but
    // props or a hook's additions may not: a bare heartbeat keeps us alive, and peers that lack
    // our props and tags ask for them (answered directly, over a stream protocol). Said once,
    // when it starts (each failed attempt is counted, its warning rate-limited).
    if (!full_heartbeat_too_large)
      log(sdk::LogLevel::error, "our heartbeat with props and tags exceeds max_multicast_packet (" +
                                    std::to_string(opt.max_multicast_packet) + " bytes): sent without them");
    full_heartbeat_too_large = true;
    Payload bare = base(PayloadType::heartbeat);
    bare.known = services.size();
    multicast(bare);
  }
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
  if (bytes.size() > opt.max_multicast_packet)
    return "with these tags our heartbeat is " + std::to_string(bytes.size()) + " bytes, over max_multicast_packet (" +
           std::to_string(opt.max_multicast_packet) + "): no member would hear it";
  return {};
}

void Cluster::Impl::set_tags(std::vector<std::string> next) {
  if (const std::string why = tags_problem(next); !why.empty())
    throw std::invalid_argument(escape_controls("tags refused: " + why));
  tags = std::move(next);
  tags_dirty = true;
  schedule_immediate_heartbeat();
}

void Cluster::Impl::send_discovery() {
  if (left) return;
  Payload p = base(PayloadType::discovery);
  p.known = services.size();
  p.data = props_string();
  p.tags = tags;
  multicast(p);
}

void Cluster::Impl::expire() {
  for (const auto& uuid : services.expired(loop_->now())) lose(uuid, "expired");
  schedule_expiry();
}

void Cluster::Impl::schedule_expiry() {
  if (left || services.empty()) return;
  const Clock::time_point earliest = services.earliest();
  if (expiry_timer != 0 && expiry_due <= earliest) return;  // an earlier check is due anyway
  if (expiry_timer != 0) loop_->cancel(expiry_timer);
  expiry_due = earliest;
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(earliest - loop_->now()) + std::chrono::milliseconds(1);
  expiry_timer = loop_->after(std::max(wait, std::chrono::milliseconds(1)), [this] {
    expiry_timer = 0;
    expire();
  });
}

void Cluster::Impl::leave() {
  if (left || !joined) return;
  Payload p = base(PayloadType::disconnect);
  p.known = services.size();
  p.tags = tags;
  multicast(p);
  left = true;
  if (heartbeat_timer) loop_->cancel(heartbeat_timer);
  if (expiry_timer) loop_->cancel(expiry_timer);
  if (ping_timer) loop_->cancel(ping_timer);
  for (auto id : timers) loop_->cancel(id);
  timers.clear();
  while (!queries.empty()) end_query(queries.begin()->first, false);
  for (auto it = protocols.rbegin(); it != protocols.rend(); ++it) (*it)->proto->stop();
}

}  // namespace cluster
