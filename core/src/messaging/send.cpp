// Sending: building payloads, negotiation in the peer's priority order with fallback, failure
// reports, filtered multicast, pings (PROTOCOL.md section 7).
#include <algorithm>

#include <boost/container/small_vector.hpp>

#include "cluster/bpacket/payload_codec.hpp"
#include "cluster/tcl.hpp"
#include "cluster/impl.hpp"

namespace cluster {

Payload Cluster::Impl::base(PayloadType type, std::uint64_t channel) const {
  Payload p;
  fill_base(p, type, channel);
  return p;
}

void Cluster::Impl::fill_base(Payload& p, PayloadType type, std::uint64_t channel) const {
  p.sid.set().assign(settings_.sid);  // assign, not =: keeps a reused payload's storage
  p.hid.set().assign(settings_.hid);
  p.type = static_cast<std::uint64_t>(type);
  p.channel = channel;
  p.protocols.set() = protocol_ids;  // element-wise: no allocation when the sizes fit
}

std::string Cluster::Impl::props_string() const {
  tcl::Dict top;
  for (const auto& s : protocols) {
    Dict d = s->proto->props();
    // Direct protocols are always listed (even as "x {}"): peers only use what we advertise.
    if (!d.empty() || !s->traits.multicast) top.emplace_back(s->id, tcl::format_dict(d));
  }
  // The failure detector's entry (FailureDetectorHost::advertise): the reference ignores keys
  // that are not its protocols.
  for (const auto& [key, d] : advertised) top.emplace_back(key, tcl::format_dict(d));
  return tcl::format_dict(top);
}

bool Cluster::Impl::run_send_hooks(Payload& p, std::string_view protocol, const ServiceInfo* to) {
  HookContext ctx;
  ctx.payload = &p;
  ctx.service = to;
  ctx.protocol = protocol;
  ctx.channel = p.channel.value_or(0);
  ctx.local = to ? to->local : true;
  ctx.outgoing = true;
  if (hook_table.run(HookPoint::protocol_send, ctx, protocol) == Verdict::drop) {
    ++counters.dropped_hook;
    return false;
  }
  return true;
}

namespace {

// evaluate send + channel send: once per packet, before any protocol is chosen.
bool run_packet_send_hooks(const HookTable& hooks, Payload& p, const ServiceInfo* to, Counters& counters) {
  if (hooks.empty(HookPoint::evaluate_send) && hooks.empty(HookPoint::channel_send)) return true;
  HookContext ctx;
  ctx.payload = &p;
  ctx.service = to;
  ctx.channel = p.channel.value_or(0);
  ctx.local = to ? to->local : true;
  ctx.outgoing = true;
  if (hooks.run(HookPoint::evaluate_send, ctx) == Verdict::drop ||
      hooks.run(HookPoint::channel_send, ctx, std::to_string(ctx.channel)) == Verdict::drop) {
    ++counters.dropped_hook;
    return false;
  }
  return true;
}

}  // namespace

sdk::Result Cluster::Impl::multicast(Payload& p, MulticastFailure* why, bool direct_fallback) {
  MulticastFailure ignored;
  MulticastFailure& failure = why != nullptr ? *why : ignored;
  failure = MulticastFailure::none;
  ProtocolSlot* c = multicast_slot();
  if (c == nullptr) {
    failure = MulticastFailure::transport;
    return sdk::Result::failure("no multicast protocol");
  }
  if (!run_packet_send_hooks(hook_table, p, nullptr, counters) || !run_send_hooks(p, c->id, nullptr)) {
    failure = MulticastFailure::hook;
    return sdk::Result::failure("dropped by a send hook");
  }
  auto buffer = buffers.take();
  std::string& bytes = *buffer;
  sdk::Result r = sdk::Result::success();
  if (!encode_for(*c, p, bytes)) {
    failure = MulticastFailure::transport;
    return sdk::Result::failure("the sealer failed");
  }
  if (bytes.size() > opt.max_multicast_packet) {
    failure = MulticastFailure::too_large;
    r = sdk::Result::failure("packet of " + std::to_string(bytes.size()) + " bytes exceeds max_multicast_packet (" +
                             std::to_string(opt.max_multicast_packet) + ")");
  } else {
    r = c->proto->multicast(bytes);
    if (!r) failure = MulticastFailure::transport;
  }
  if (r) {
    count_sent(*c, bytes.size());
    return r;
  }
  // Too large, with direct sends to follow: not a failure (multicast_fallbacks counts it).
  if (direct_fallback && failure == MulticastFailure::too_large) return r;
  // Every failed multicast is counted and logged (at most one line a second: a dead route
  // fails each heartbeat, and a flood of sends must not become a flood of log lines).
  ++counters.send_failures;
  if (std::string more; multicast_failure_log.due(loop_->now(), more))
    log(sdk::LogLevel::warning,
        "multicast of a type " + std::to_string(p.type.value_or(0)) + " packet failed: " + r.message() + more);
  return r;
}

sdk::Result Cluster::Impl::send_to(ServiceState& s, Payload& p, const SendFlags& flags, sdk::ConnectionId via,
                                   std::string_view via_protocol) {
  if (left) return sdk::Result::failure("left the cluster");
  if (!p.filter.has()) p.filter.set().assign(1, s.info.sid);  // a reused payload keeps the storage
  if (!p.keepalive.has()) p.keepalive = true;  // we reuse connections; reference peers honour it
  if (!run_packet_send_hooks(hook_table, p, &s.info, counters)) return sdk::Result::failure("dropped by a send hook");

  // Candidates: the one the packet came on, then the peer's protocols in ITS priority order that
  // we also run. Chosen one at a time: most sends succeed at the first, and judging every
  // protocol of the peer up front cost each message a slot and props lookup per protocol.
  boost::container::small_vector<ProtocolSlot*, 8> tried;
  ProtocolSlot* const via_slot = via_protocol.empty() ? nullptr : slot(via_protocol);
  std::size_t next_id = 0;  // into s.info.protocols
  const auto next_candidate = [&]() -> ProtocolSlot* {
    if (via_slot != nullptr && tried.empty()) return via_slot;
    while (next_id < s.info.protocols.size()) {
      const std::string& id = s.info.protocols[next_id++];
      ProtocolSlot* sl = slot(id);
      if (sl == nullptr || std::find(tried.begin(), tried.end(), sl) != tried.end()) continue;
      if (sl->traits.multicast && (!flags.allow_multicast || beyond_our_segment(s.info))) continue;
      if (sl->traits.local_only && !s.info.local) continue;
      // A stream protocol whose props we have not learned yet cannot reach the peer: skip it
      // rather than count a failure (which would make the peer recreate a healthy server).
      if (!sl->traits.multicast && s.info.props_for(id) == nullptr) continue;
      if (!flags.protocols.empty() && std::find(flags.protocols.begin(), flags.protocols.end(), id) == flags.protocols.end())
        continue;
      return sl;
    }
    return nullptr;
  };
  std::vector<std::string> failed;
  std::string last_error;  // built on failure only: most sends succeed at the first try
  // Copied on the first failure only (a send that succeeds at once needs no copy): `s` stays
  // valid through every attempt (a loss is never synchronous inside a protocol's send), but
  // detector->policy->unreachable below may lose it.
  std::string uuid;
  // A protocol send hook may rewrite the packet for one protocol only: then each attempt gets
  // its own copy; without such hooks the packet is encoded as it is (no copy per message).
  const bool protocol_hooks = !hook_table.empty(HookPoint::protocol_send);
  while (ProtocolSlot* sl = next_candidate()) {
    tried.push_back(sl);
    Payload copy;
    Payload* attempt = &p;
    if (protocol_hooks) {
      copy = p;
      attempt = &copy;
      if (!run_send_hooks(copy, sl->id, &s.info)) return sdk::Result::failure("dropped by a protocol send hook");
    }
    auto buffer = buffers.take();
    std::string& bytes = *buffer;
    if (!encode_for(*sl, *attempt, bytes)) return sdk::Result::failure("the sealer failed");
    sdk::Result r = sl->traits.multicast
                        ? (bytes.size() > opt.max_multicast_packet ? sdk::Result::failure("too large for multicast")
                                                                   : sl->proto->multicast(bytes))
                        : sl->proto->send(s.info, bytes, sdk::SendOptions{sl->id == via_protocol ? via : 0});
    if (r) {
      count_sent(*sl, bytes.size());
      if (!failed.empty() && find(uuid) != nullptr) {
        // Tell the peer what failed so it can recreate those servers (type 8).
        Payload report = base(PayloadType::failed);
        tcl::Dict d{{"protocols", tcl::format_list(failed)}};
        report.data = tcl::format_dict(d);
        report.filter = StringList{s.info.sid};
        report.keepalive = true;
        // Through the send hooks like every packet (an auth hook must sign it too).
        if (run_packet_send_hooks(hook_table, report, &s.info, counters) && run_send_hooks(report, sl->id, &s.info)) {
          std::string rb;
          if (encode_for(*sl, report, rb) && (sl->traits.multicast ? sl->proto->multicast(rb) : sl->proto->send(s.info, rb, {})))
            count_sent(*sl, rb.size());
        }
      }
      return r;
    }
    ++counters.send_failures;
    if (uuid.empty()) uuid = s.info.uuid;
    // Without its props we only tried the connection the packet came on: the peer's server is
    // not to blame, and a failure report would make it recreate a healthy one.
    if (sl->traits.multicast || s.info.props_for(sl->id) != nullptr) failed.push_back(sl->id);
    last_error = sl->id + ": " + r.message();
    log(sdk::LogLevel::debug, "send to " + uuid + " over " + sl->id + " failed: " + r.message());
  }
  ++counters.unreachable;
  if (uuid.empty()) uuid = s.info.uuid;
  if (last_error.empty()) last_error = "no common protocol";
  if (find(uuid) != nullptr) detector->policy->unreachable(s.info);
  return sdk::Result::failure("cannot reach " + uuid + " (" + last_error + ")");
}

std::size_t Cluster::Impl::send_many(ServiceState* const* to, std::size_t n, Payload& p, const SendFlags& flags) {
  std::size_t ok = 0;
  std::vector<ServiceState*> direct;
  if (n > 3 && flags.allow_multicast && flags.protocols.empty() && multicast_slot() != nullptr) {
    // One filtered multicast instead of N direct sends, for the targets on our segment (heard
    // over the group lately; others, found through seeds, DNS or etcd, would never get it),
    // when it fits in a datagram (the filter alone passes 4096 bytes at about 450 targets) and
    // the group works; else direct sends of the packet as it was (hooks may have changed the
    // multicast copy).
    std::vector<ServiceState*> grouped;
    for (std::size_t i = 0; i < n; ++i) (on_our_segment(to[i]->info) ? grouped : direct).push_back(to[i]);
    if (grouped.size() > 3) {
      Payload filtered = p;
      StringList filter;
      for (auto* s : grouped) filter.push_back(s->info.sid);
      filtered.filter = std::move(filter);
      MulticastFailure why;
      if (multicast(filtered, &why, true)) {
        ok += grouped.size();
      } else {
        if (why == MulticastFailure::hook) return 0;  // vetoed: not to be sent at all
        ++counters.multicast_fallbacks;
        direct.insert(direct.end(), grouped.begin(), grouped.end());
      }
    } else {
      direct.insert(direct.end(), grouped.begin(), grouped.end());
    }
    to = direct.data();
    n = direct.size();
  }
  if (n == 1 && ok == 0) return send_to(*to[0], p, flags) ? 1 : 0;
  for (std::size_t i = 0; i < n; ++i) {
    auto copy = payloads.take();  // send_to sets the filter and send hooks may rewrite it, per target
    *copy = p;
    if (send_to(*to[i], *copy, flags)) ++ok;
  }
  return ok;
}

sdk::Result Cluster::Impl::send_soon(ServiceState& s, Payload p, const SendFlags& flags) {
  if (receiving == 0) return send_to(s, p, flags);
  later([this, uuid = s.info.uuid, p = std::move(p), flags]() mutable {
    if (ServiceState* m = find(uuid)) send_to(*m, p, flags);
  });
  return sdk::Result::success();
}

sdk::Result Cluster::Impl::send_only(ServiceState& s, Payload& p, std::string_view protocol) {
  if (left) return sdk::Result::failure("left the cluster");
  ProtocolSlot* sl = slot(protocol);
  if (sl == nullptr) return sdk::Result::failure("'" + std::string(protocol) + "' is not one of our protocols");
  if (sl->traits.multicast) return sdk::Result::failure("'" + std::string(protocol) + "' is a multicast protocol");
  if (sl->traits.local_only && !s.info.local)
    return sdk::Result::failure("'" + std::string(protocol) + "' reaches this host only");
  if (s.info.props_for(protocol) == nullptr)
    return sdk::Result::failure(s.info.uuid + " does not advertise '" + std::string(protocol) + "'");
  if (!p.filter.has()) p.filter = StringList{s.info.sid};
  if (!sl->traits.datagram && !p.keepalive.has()) p.keepalive = true;
  if (!run_packet_send_hooks(hook_table, p, &s.info, counters) || !run_send_hooks(p, sl->id, &s.info))
    return sdk::Result::failure("dropped by a send hook");
  std::string bytes;
  if (!encode_for(*sl, p, bytes)) return sdk::Result::failure("the sealer failed");
  // No fallback and no failure report: a detector's probe that fails is its own signal.
  sdk::Result r = sl->proto->send(s.info, bytes, sdk::SendOptions{});
  if (r) count_sent(*sl, bytes.size());
  return r;
}

sdk::Result Cluster::Impl::send_contact(const sdk::ContactPoint& at, Payload& p) {
  if (left) return sdk::Result::failure("left the cluster");
  ProtocolSlot* sl = slot(at.protocol);
  if (sl == nullptr) return sdk::Result::failure("contact over '" + at.protocol + "': not one of our protocols");
  if (sl->traits.multicast) return sdk::Result::failure("contact over '" + at.protocol + "': a multicast protocol");
  if (sl->traits.local_only && !at.local)
    return sdk::Result::failure("contact over '" + at.protocol + "': reaches this host only");
  if (!p.keepalive.has()) p.keepalive = true;
  // A member not known yet: the protocol sees it as a peer with these props and no identity
  // (connections to it are keyed by the contact's address, not by a uuid).
  ServiceInfo peer;
  peer.ip = at.ip;
  peer.local = at.local;
  peer.uuid = "contact:" + at.protocol + ":" + at.ip;
  for (const auto& [k, v] : at.props) peer.uuid += ":" + k + "=" + v;
  peer.protocols = {at.protocol};
  peer.props.emplace_back(at.protocol, at.props);
  if (!run_packet_send_hooks(hook_table, p, nullptr, counters) || !run_send_hooks(p, sl->id, nullptr))
    return sdk::Result::failure("dropped by a send hook");
  std::string bytes;
  if (!encode_for(*sl, p, bytes)) return sdk::Result::failure("the sealer failed");
  sdk::Result r = sl->proto->send(peer, bytes, sdk::SendOptions{});
  if (r) count_sent(*sl, bytes.size());
  else ++counters.send_failures;
  return r;
}

}  // namespace cluster
