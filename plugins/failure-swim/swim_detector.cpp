#include "swim_detector.hpp"

#include <algorithm>

#include <cluster/sdk/boundary.hpp>
#include <cluster/sdk/text.hpp>

namespace cluster::swim {

namespace {

using sdk::LogLevel;

std::string ms_text(Millis d) { return std::to_string(d.count()) + " ms"; }

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

SwimDetector::SwimDetector(sdk::FailureDetectorHost& host, Params params)
    : host_(host), params_(std::move(params)), awareness_(params_.awareness_max) {}

// ---- plumbing ---------------------------------------------------------------------------------

void SwimDetector::log(LogLevel level, const std::string& text) noexcept {
  try {
    host_.log(level, "swim: " + text);
  } catch (...) {
  }
}

sdk::TimerId SwimDetector::arm(Millis delay, std::function<void()> fn) {
  if (stopped_) return 0;
  auto id = std::make_shared<sdk::TimerId>(0);
  *id = host_.loop().after(std::max(delay, Millis(0)), [this, id, fn = std::move(fn)] {
    timers_.erase(*id);
    if (stopped_) return;
    sdk::guard_log(host_, "swim: timer", fn);
  });
  if (*id != 0) timers_.insert(*id);
  return *id;
}

void SwimDetector::disarm(sdk::TimerId& id) noexcept {
  if (id == 0) return;
  host_.loop().cancel(id);
  timers_.erase(id);
  id = 0;
}

// ---- lifecycle --------------------------------------------------------------------------------

sdk::Result SwimDetector::start() noexcept {
  return sdk::guard("swim: start", [&] {
    const sdk::ClusterSettings& s = host_.settings();
    self_ = s.sid + "@" + s.hid;
    const Payload p = host_.packet(PayloadType::detector);
    const std::vector<std::string> ours = p.protocols.has() ? *p.protocols : std::vector<std::string>{};
    for (const auto& id : params_.protocols)
      if (contains(ours, id) && !contains(probe_protocols_, id)) probe_protocols_.push_back(id);
    if (probe_protocols_.empty())
      return sdk::Result::failure("[swim] protocol: none of '" + sdk::text::tcl_list(params_.protocols) +
                                  "' is one of our protocols ('" + sdk::text::tcl_list(ours) + "')");
    // What a packet carries besides `raw`: our identity, protocols, op, the filter (a member's
    // sid, about as long as ours), field tags and lengths, framing.
    std::size_t fixed = 64 + 2 * s.sid.size() + s.hid.size() + 16;
    for (const auto& id : ours) fixed += id.size() + 2;
    raw_budget_ = kPacketBudget - kHookReserve - std::min<std::size_t>(fixed, kPacketBudget - kHookReserve - 200);

    our_protocols_ = ours;
    const std::string started = "probing over " + sdk::text::tcl_list(probe_protocols_) + " every " +
                                ms_text(params_.probe_interval) + " (timeout " + ms_text(params_.probe_timeout) +
                                ", " + std::to_string(params_.indirect_checks) + " indirect)";
    delegate_ = host_.builtin("ttl");
    if (!delegate_) return sdk::Result::failure("swim: the built-in ttl detector is not available");
    if (auto r = host_.advertise(kPropsKey, Dict{{"v", kWireVersion}}); !r)
      return sdk::Result::failure("swim: cannot advertise the detector in our props: " + r.message());
    if (auto r = delegate_->start(); !r) {
      host_.advertise(kPropsKey, Dict{});
      return r;
    }
    // Nothing below throws: a failing start() must leave no timer armed (stop() is not called).
    started_ = true;
    host_.health(0);
    log(LogLevel::info, started);
    probe_timer_ = arm(params_.probe_interval, [this] { probe_tick(); });
    gossip_timer_ = arm(params_.gossip_interval, [this] { gossip_tick(); });
    return sdk::Result::success();
  });
}

void SwimDetector::stop() noexcept {
  if (stopped_) return;
  stopped_ = true;
  for (sdk::TimerId id : timers_) host_.loop().cancel(id);
  timers_.clear();
  probe_timer_ = gossip_timer_ = 0;
  for (auto& [uuid, m] : members_) m.suspicion_timer = 0;
  if (delegate_) delegate_->stop();
}

// ---- who is SWIM-managed ----------------------------------------------------------------------

std::string SwimDetector::pick_protocol(const ServiceInfo& m) const {
  for (const auto& id : probe_protocols_) {
    if (!contains(m.protocols, id) || m.props_for(id) == nullptr) continue;
    if (id == "u" && !m.local) continue;  // the unix transport reaches this host only
    return id;
  }
  return {};
}

bool SwimDetector::eligible(const ServiceInfo& m) const {
  const Dict* d = m.props_for(kPropsKey);
  if (d == nullptr) return false;
  const std::string* v = sdk::text::dict_get(*d, "v");
  return v != nullptr && *v == kWireVersion && !pick_protocol(m).empty();
}

SwimDetector::Member* SwimDetector::find(const std::string& uuid) {
  auto it = members_.find(uuid);
  return it == members_.end() ? nullptr : &it->second;
}

void SwimDetector::manage(const ServiceInfo& m) {
  Member mm;
  mm.protocol = pick_protocol(m);
  auto t = tombstones_.find(m.uuid);
  if (t != tombstones_.end()) {
    if (now() - t->second.at < kTombstoneKeep) {
      mm.inc = t->second.inc;
      mm.stale_inc = t->second.inc;
      mm.stale_until = now() + kReadmitGrace;
    }
    tombstones_.erase(t);
  }
  log(LogLevel::debug, "probing " + m.uuid + " over " + mm.protocol);
  members_[m.uuid] = std::move(mm);
}

void SwimDetector::unmanage(const std::string& uuid) {
  auto it = members_.find(uuid);
  if (it == members_.end()) return;
  disarm(it->second.suspicion_timer);
  members_.erase(it);
}

std::string SwimDetector::reply_protocol(const ServiceInfo& from) {
  if (Member* m = find(from.uuid)) return m->protocol;
  std::string id = pick_protocol(from);
  if (!id.empty()) return id;
  // It probes us over a protocol our [swim] protocol does not list: an unanswered probe would
  // make it suspect us, so answer over any direct protocol both run (its props known).
  for (const auto& p : from.protocols)
    if (p != "c" && contains(our_protocols_, p) && from.props_for(p) != nullptr && (p != "u" || from.local)) return p;
  return {};
}

void SwimDetector::added(const ServiceInfo& m) noexcept {
  sdk::guard_log(host_, "swim: added", [&] {
    if (stopped_ || !started_) return;
    if (eligible(m)) {
      manage(m);
      return;
    }
    delegated_.insert(m.uuid);
    delegate_->added(m);
  });
}

void SwimDetector::heard(const ServiceInfo& m) noexcept {
  sdk::guard_log(host_, "swim: heard", [&] {
    if (stopped_ || !started_) return;
    if (Member* mm = find(m.uuid)) {
      if (eligible(m)) {
        mm->protocol = pick_protocol(m);
        return;
      }
      // It no longer speaks our messages over a protocol we share: back to the ttl rule.
      log(LogLevel::info, m.uuid + " no longer advertises swim over our protocols: ttl decides");
      unmanage(m.uuid);
      delegated_.insert(m.uuid);
      delegate_->added(m);
      return;
    }
    if (eligible(m)) {
      // Its props came: from now on we probe it, and the ttl rule forgets it.
      if (delegated_.erase(m.uuid) != 0) delegate_->removed(m);
      if (stopped_) return;
      manage(m);
      return;
    }
    if (delegated_.insert(m.uuid).second) delegate_->added(m);
    else delegate_->heard(m);
  });
}

void SwimDetector::unreachable(const ServiceInfo& m) noexcept {
  sdk::guard_log(host_, "swim: unreachable", [&] {
    if (stopped_ || !started_) return;
    // A SWIM member is judged by its probes, not by what other packets did.
    if (members_.count(m.uuid) == 0) delegate_->unreachable(m);
  });
}

void SwimDetector::received(const ServiceInfo& from, const Payload& packet) noexcept {
  sdk::guard_log(host_, "swim: received", [&] {
    if (stopped_ || !started_) return;
    delegate_->received(from, packet);  // pings naming us are answered by an announcement
  });
}

void SwimDetector::removed(const ServiceInfo& m) noexcept {
  sdk::guard_log(host_, "swim: removed", [&] {
    if (stopped_ || !started_) return;
    auto it = members_.find(m.uuid);
    if (it == members_.end()) {
      if (delegated_.erase(m.uuid) != 0) delegate_->removed(m);
      return;
    }
    // Remember its incarnation: gossip about it may still circulate when it comes back.
    if (tombstones_.size() >= kMaxTombstones) {
      auto oldest = std::min_element(tombstones_.begin(), tombstones_.end(),
                                     [](const auto& a, const auto& b) { return a.second.at < b.second.at; });
      tombstones_.erase(oldest);
    }
    tombstones_[m.uuid] = Tombstone{it->second.inc, now()};
    unmanage(m.uuid);
  });
}

// ---- sending ----------------------------------------------------------------------------------

sdk::Result SwimDetector::send(const std::string& to, const std::string& protocol, const Message& header,
                               const std::optional<Update>& first) {
  std::vector<std::string> enc;
  std::size_t used = encode_raw(header, {}).size();
  if (first) {
    enc.push_back(encode_update(*first));
    used += enc.back().size() + 3;
  }
  if (used < raw_budget_) {
    auto more = queue_.take(raw_budget_ - used, retransmit_limit(params_.retransmit_mult, cluster_size()),
                            first ? first->uuid : std::string());
    for (auto& e : more) enc.push_back(std::move(e));
  }
  std::string raw = encode_raw(header, enc);
  while (raw.size() > raw_budget_ && !enc.empty()) {  // quoting cost more than estimated
    enc.pop_back();
    raw = encode_raw(header, enc);
  }
  Payload p = host_.packet(PayloadType::detector);
  p.op = std::string(op_name(header.op));
  p.raw = std::move(raw);
  return host_.send_via(to, protocol, p);
}

std::vector<std::pair<std::string, std::string>> SwimDetector::random_members(std::size_t k, const std::string& except,
                                                                              bool alive_only) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [uuid, m] : members_) {
    if (uuid == except || m.state == State::dead || (alive_only && m.state != State::alive)) continue;
    out.emplace_back(uuid, m.protocol);
  }
  std::shuffle(out.begin(), out.end(), rng_);
  if (out.size() > k) out.resize(k);
  return out;
}

// ---- probing ----------------------------------------------------------------------------------

std::uint32_t SwimDetector::next_seq() {
  do {
    ++seq_;  // wraps
  } while (seq_ == 0 || pending_.count(seq_) != 0);
  return seq_;
}

void SwimDetector::adjust_health(int delta) {
  const int before = awareness_.score();
  if (!awareness_.apply(delta)) return;
  log(LogLevel::info, "local health score " + std::to_string(awareness_.score()) + " (was " + std::to_string(before) +
                          "): probing every " + ms_text(awareness_.scale(params_.probe_interval)));
  host_.health(static_cast<std::uint32_t>(awareness_.score()));
}

std::string SwimDetector::next_target() {
  for (std::size_t tries = 0; tries < 2 * (members_.size() + 1); ++tries) {
    if (next_ >= order_.size()) {
      order_.clear();
      for (const auto& [uuid, m] : members_)
        if (m.state != State::dead) order_.push_back(uuid);
      std::shuffle(order_.begin(), order_.end(), rng_);
      next_ = 0;
      if (order_.empty()) return {};
    }
    const std::string& uuid = order_[next_++];
    const Member* m = find(uuid);
    if (m != nullptr && m->state != State::dead) return uuid;
  }
  return {};
}

void SwimDetector::probe_tick() {
  probe_timer_ = 0;
  const std::string target = next_target();
  if (!target.empty()) probe(target);
  if (stopped_) return;
  probe_timer_ = arm(awareness_.scale(params_.probe_interval), [this] { probe_tick(); });
}

void SwimDetector::probe(const std::string& target) {
  const Member* m = find(target);
  if (m == nullptr || pending_.size() >= kMaxPending) return;
  const std::string protocol = m->protocol;
  std::optional<Update> buddy;  // a suspect learns of it at once and can refute
  if (m->state == State::suspect) buddy = Update{Kind::suspect, target, m->inc, self_};
  const std::uint32_t seq = next_seq();
  Pending p;
  p.target = target;
  p.start = now();
  pending_[seq] = std::move(p);
  const Millis timeout = awareness_.scale(params_.probe_timeout);
  const Millis interval = awareness_.scale(params_.probe_interval);
  arm(timeout, [this, seq] { probe_timed_out(seq); });
  arm(interval, [this, seq] { probe_round_end(seq); });
  host_.count(sdk::PolicyCounter::probe_sent);
  Message ping{Op::ping, seq, target, inc_, {}};
  const auto r = send(target, protocol, ping, buddy);
  if (!r) log(LogLevel::debug, "probe " + target + " seq " + std::to_string(seq) + " over " + protocol + " failed: " + r.message());
  else log(LogLevel::debug, "probe " + target + " seq " + std::to_string(seq) + (buddy ? " (suspect)" : ""));
}

void SwimDetector::probe_timed_out(std::uint32_t seq) {
  auto it = pending_.find(seq);
  if (it == pending_.end() || it->second.relay) return;
  const std::string target = it->second.target;
  if (find(target) == nullptr) return;
  const auto relays = random_members(static_cast<std::size_t>(params_.indirect_checks), target, true);
  if (relays.empty()) return;
  host_.count(sdk::PolicyCounter::probe_indirect);
  std::vector<std::string> asked;
  for (const auto& [uuid, protocol] : relays) {
    Message req{Op::ping_req, seq, target, inc_, {}};
    if (send(uuid, protocol, req)) asked.push_back(uuid);
    if (stopped_) return;
  }
  log(LogLevel::debug, "no ack from " + target + " seq " + std::to_string(seq) + ": asked " +
                           std::to_string(asked.size()) + " member(s) to probe it");
  it = pending_.find(seq);
  if (it == pending_.end()) return;
  it->second.expected_nacks = static_cast<int>(asked.size());
  it->second.relays = std::move(asked);
}

void SwimDetector::probe_round_end(std::uint32_t seq) {
  auto it = pending_.find(seq);
  if (it == pending_.end() || it->second.relay || it->second.closed) return;  // acked
  it->second.closed = true;
  const std::string target = it->second.target;
  const int asked = it->second.expected_nacks;
  // The relays' nacks may still be on their way (a relay waits probe_timeout for the target
  // after our ping-req came): our health is judged once they had that long.
  arm(params_.probe_timeout, [this, seq] { probe_settle(seq); });
  const Member* m = find(target);
  if (m == nullptr || m->state == State::dead) return;
  const std::uint64_t inc = m->inc;
  host_.count(sdk::PolicyCounter::probe_failed);
  on_suspect(Update{Kind::suspect, target, inc, self_},
             "no ack to our probe (direct and " + std::to_string(asked) + " indirect)", true);
}

void SwimDetector::probe_settle(std::uint32_t seq) {
  auto it = pending_.find(seq);
  if (it == pending_.end() || it->second.relay) return;
  const int expected = it->second.expected_nacks;
  const int nacks = it->second.nacks;
  pending_.erase(it);
  // Lifeguard: a relay that did not even nack means the trouble may be ours.
  adjust_health(expected > 0 ? std::max(0, expected - nacks) : 1);
}

void SwimDetector::relay_timed_out(std::uint32_t seq) {
  auto it = pending_.find(seq);
  if (it == pending_.end() || !it->second.relay) return;
  const Pending p = std::move(it->second);
  pending_.erase(it);
  --relayed_;
  host_.count(sdk::PolicyCounter::nack_sent);
  log(LogLevel::debug, "no ack from " + p.target + " for " + p.requester + ": nack");
  send(p.requester, p.requester_protocol, Message{Op::nack, p.requester_seq, p.target, inc_, {}});
}

void SwimDetector::gossip_tick() {
  gossip_timer_ = 0;
  if (!queue_.empty()) {
    for (const auto& [uuid, protocol] :
         random_members(static_cast<std::size_t>(params_.gossip_nodes), std::string(), false)) {
      send(uuid, protocol, Message{Op::gossip, 0, std::string(), inc_, {}});
      if (stopped_) return;
      if (queue_.empty()) break;
    }
  }
  gossip_timer_ = arm(params_.gossip_interval, [this] { gossip_tick(); });
}

// ---- messages ---------------------------------------------------------------------------------

void SwimDetector::message(const ServiceInfo& from, const Payload& packet) noexcept {
  sdk::guard_log(host_, "swim: message", [&] {
    if (stopped_ || !started_) return;
    if (members_.count(from.uuid) == 0 && eligible(from)) {
      if (delegated_.erase(from.uuid) != 0) delegate_->removed(from);
      if (stopped_) return;
      manage(from);
    }
    std::string why;
    std::optional<Message> m;
    if (!packet.op.has() || !packet.raw.has()) why = "no op or raw";
    else m = decode(*packet.op, *packet.raw, &why);
    if (!m) {
      if (now() - last_malformed_log_ >= std::chrono::seconds(1)) {
        last_malformed_log_ = now();
        log(LogLevel::debug, "ignored a malformed message from " + sdk::text::printable(from.uuid) + ": " + why);
      }
      return;
    }
    handle(from, *m);
  });
}

void SwimDetector::handle(const ServiceInfo& from, const Message& m) {
  // The sender's own incarnation: a higher one than we know is its refutation.
  if (Member* mm = find(from.uuid); mm != nullptr && rules::accept_alive(mm->inc, m.inc))
    on_alive(Update{Kind::alive, from.uuid, m.inc, from.uuid});
  for (const auto& u : m.updates) {
    if (stopped_) return;
    if (u.uuid == from.uuid && u.kind != Kind::alive) continue;  // nobody reports its own death: forged
    apply(u);
  }
  if (stopped_) return;
  switch (m.op) {
    case Op::ping: {
      if (m.target != self_) return;  // meant for an earlier us
      const std::string protocol = reply_protocol(from);
      if (protocol.empty()) {
        log(LogLevel::debug, "cannot ack " + from.uuid + ": no probe protocol of ours with props");
        return;
      }
      send(from.uuid, protocol, Message{Op::ack, m.seq, self_, inc_, {}});
      return;
    }
    case Op::ping_req: {
      const std::string protocol = reply_protocol(from);
      if (protocol.empty() || m.target == self_ || m.target == from.uuid) return;
      const Member* t = find(m.target);
      if (t == nullptr || t->state == State::dead || relayed_ >= kMaxRelayed || pending_.size() >= kMaxPending) {
        // We cannot probe it: say so at once, so the requester does not blame itself.
        host_.count(sdk::PolicyCounter::nack_sent);
        send(from.uuid, protocol, Message{Op::nack, m.seq, m.target, inc_, {}});
        return;
      }
      const std::string target_protocol = t->protocol;
      const std::uint32_t seq = next_seq();
      Pending p;
      p.relay = true;
      p.target = m.target;
      p.start = now();
      p.requester = from.uuid;
      p.requester_protocol = protocol;
      p.requester_seq = m.seq;
      pending_[seq] = std::move(p);
      ++relayed_;
      arm(params_.probe_timeout, [this, seq] { relay_timed_out(seq); });
      send(m.target, target_protocol, Message{Op::ping, seq, m.target, inc_, {}});
      return;
    }
    case Op::ack: {
      auto it = pending_.find(m.seq);
      if (it == pending_.end()) {
        log(LogLevel::debug, "late ack from " + from.uuid + " seq " + std::to_string(m.seq));
        return;
      }
      if (!it->second.relay) {
        if (m.target != it->second.target || it->second.closed) return;  // too late: the suspicion stands
        const auto rtt = std::chrono::duration_cast<Millis>(now() - it->second.start);
        const std::string target = it->second.target;
        pending_.erase(it);
        log(LogLevel::debug, "ack from " + target + (from.uuid == target ? "" : " via " + from.uuid) + " seq " +
                                 std::to_string(m.seq) + " after " + ms_text(rtt));
        adjust_health(-1);
        return;
      }
      if (from.uuid != it->second.target) return;
      const Pending p = std::move(it->second);
      pending_.erase(it);
      --relayed_;
      send(p.requester, p.requester_protocol, Message{Op::ack, p.requester_seq, p.target, inc_, {}});
      return;
    }
    case Op::nack: {
      auto it = pending_.find(m.seq);
      if (it == pending_.end() || it->second.relay) return;
      auto& relays = it->second.relays;
      auto r = std::find(relays.begin(), relays.end(), from.uuid);
      if (r == relays.end()) return;
      relays.erase(r);  // one nack per relay
      ++it->second.nacks;
      return;
    }
    case Op::gossip:
      return;
  }
}

void SwimDetector::apply(const Update& u) {
  switch (u.kind) {
    case Kind::alive: on_alive(u); return;
    case Kind::suspect: on_suspect(u, "suspected by " + u.from); return;
    case Kind::dead: on_dead(u); return;
  }
}

bool SwimDetector::stale(const Member& m, std::uint64_t inc) const {
  return inc <= m.stale_inc && now() < m.stale_until;
}

void SwimDetector::on_alive(const Update& u) {
  if (u.uuid == self_) return;
  Member* m = find(u.uuid);
  if (m == nullptr || m->state == State::dead || !rules::accept_alive(m->inc, u.inc)) return;
  m->inc = u.inc;
  queue_.push(u);
  if (m->state != State::suspect) return;
  m->state = State::alive;
  m->suspicion.reset();
  disarm(m->suspicion_timer);
  log(LogLevel::info, u.uuid + " refuted the suspicion (incarnation " + std::to_string(u.inc) + ")");
  host_.declare(u.uuid, sdk::Liveness::alive, "swim: refuted, incarnation " + std::to_string(u.inc));
}

void SwimDetector::on_suspect(const Update& u, const std::string& why, bool ours) {
  if (u.uuid == self_) {
    refute(u);
    return;
  }
  Member* m = find(u.uuid);
  if (m == nullptr || m->state == State::dead || (!ours && stale(*m, u.inc)) || !rules::accept_suspect(m->inc, u.inc))
    return;
  if (m->state == State::suspect && m->suspicion) {
    if (!m->suspicion->confirm(u.from)) return;
    // An independent confirmation: the suspicion ends sooner; spread it.
    queue_.push(u);
    log(LogLevel::debug, u.uuid + " suspicion confirmed by " + u.from + " (" +
                             std::to_string(m->suspicion->confirmations()) + " of " +
                             std::to_string(m->suspicion->bounds().k) + ")");
    arm_suspicion(u.uuid);
    return;
  }
  m->inc = u.inc;
  m->state = State::suspect;
  const SuspicionBounds b =
      suspicion_bounds(params_.suspicion_mult, params_.suspicion_max_mult, cluster_size(), params_.probe_interval);
  m->suspicion = std::make_unique<Suspicion>(u.from, b, now());
  queue_.push(u);
  arm_suspicion(u.uuid);
  host_.count(sdk::PolicyCounter::suspicion);
  log(LogLevel::info, "suspect " + u.uuid + " (incarnation " + std::to_string(u.inc) + "): " + why + "; dead in " +
                          ms_text(suspicion_timeout(b, 0)) + " (" + ms_text(b.min) + " with " + std::to_string(b.k) +
                          " confirmations) unless it refutes");
  host_.declare(u.uuid, sdk::Liveness::suspect, "swim: " + why);
}

void SwimDetector::arm_suspicion(const std::string& uuid) {
  Member* m = find(uuid);
  if (m == nullptr || !m->suspicion) return;
  disarm(m->suspicion_timer);
  const auto left = std::chrono::ceil<Millis>(m->suspicion->deadline() - now());
  m->suspicion_timer = arm(left, [this, uuid] { suspicion_expired(uuid); });
}

void SwimDetector::suspicion_expired(const std::string& uuid) {
  Member* m = find(uuid);
  if (m == nullptr) return;
  m->suspicion_timer = 0;
  if (m->state != State::suspect || !m->suspicion) return;
  const auto elapsed = std::chrono::duration_cast<Millis>(now() - m->suspicion->start());
  const int c = m->suspicion->confirmations();
  const Update dead{Kind::dead, uuid, m->inc, self_};
  m->state = State::dead;
  m->suspicion.reset();
  queue_.push(dead);
  host_.count(sdk::PolicyCounter::confirmation);
  const std::string reason =
      "swim: suspected for " + ms_text(elapsed) + ", " + std::to_string(c) + " confirmation" + (c == 1 ? "" : "s");
  log(LogLevel::notice, uuid + " is dead: " + reason.substr(6));
  send_dead_directly(dead);
  if (stopped_) return;
  host_.declare(uuid, sdk::Liveness::dead, reason);
}

void SwimDetector::send_dead_directly(const Update& dead) {
  if (members_.size() > kDirectDeadLimit) return;  // the gossip carries it
  std::vector<std::pair<std::string, std::string>> to;
  for (const auto& [uuid, m] : members_) to.emplace_back(uuid, m.protocol);  // the dead one too: it may refute
  for (const auto& [uuid, protocol] : to) {
    send(uuid, protocol, Message{Op::gossip, 0, std::string(), inc_, {}}, dead);
    if (stopped_) return;
  }
}

void SwimDetector::on_dead(const Update& u) {
  if (u.uuid == self_) {
    refute(u);
    return;
  }
  Member* m = find(u.uuid);
  if (m == nullptr || m->state == State::dead || stale(*m, u.inc) || !rules::accept_dead(m->inc, u.inc)) return;
  m->inc = u.inc;
  m->state = State::dead;
  m->suspicion.reset();
  disarm(m->suspicion_timer);
  queue_.push(u);
  host_.count(sdk::PolicyCounter::confirmation);
  log(LogLevel::notice, u.uuid + " is dead: declared by " + u.from + " (incarnation " + std::to_string(u.inc) + ")");
  host_.declare(u.uuid, sdk::Liveness::dead, "swim: declared dead by " + u.from);
}

void SwimDetector::refute(const Update& u) {
  if (!rules::must_refute(inc_, u.inc)) return;
  const std::uint64_t before = inc_;
  inc_ = rules::refuted_incarnation(inc_, u.inc);
  queue_.push(Update{Kind::alive, self_, inc_, self_});
  host_.count(sdk::PolicyCounter::refutation);
  log(LogLevel::notice, "refuting: " + u.from + " says we are " + kind_name(u.kind) + " (incarnation " +
                            std::to_string(u.inc) + "); ours is now " + std::to_string(inc_) + " (was " +
                            std::to_string(before) + ")");
  adjust_health(1);
}

// ---- for tests --------------------------------------------------------------------------------

std::optional<SwimDetector::State> SwimDetector::state_of(const std::string& uuid) const {
  auto it = members_.find(uuid);
  if (it == members_.end()) return std::nullopt;
  return it->second.state;
}

std::optional<std::uint64_t> SwimDetector::incarnation_of(const std::string& uuid) const {
  auto it = members_.find(uuid);
  if (it == members_.end()) return std::nullopt;
  return it->second.inc;
}

std::string SwimDetector::protocol_of(const std::string& uuid) const {
  auto it = members_.find(uuid);
  return it == members_.end() ? std::string() : it->second.protocol;
}

std::unique_ptr<sdk::FailureDetector> make_swim_detector(sdk::FailureDetectorHost& host, Params params) {
  return std::make_unique<SwimDetector>(host, std::move(params));
}

}  // namespace cluster::swim
