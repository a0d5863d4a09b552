// The receive pipeline (PROTOCOL.md section 6, "Receive checks, in order").
#include <algorithm>

#include "cluster/bpacket/payload_codec.hpp"
#include "cluster/tcl.hpp"
#include "cluster/text.hpp"
#include "cluster/impl.hpp"

namespace cluster {
namespace {

bool contains(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

void Cluster::Impl::on_bytes(ProtocolSlot& slot, std::string_view bytes, const sdk::Origin& origin) {
  if (left) return;
  // Check 1, before any decoding: remote = 0 accepts only this host.
  if (opt.remote == 0 && !origin.local) {
    ++counters.dropped_remote;
    return;
  }
  auto on_frame = [&](const bpacket::Frame& f) { on_packet(slot, f.body, origin); };
  if (slot.traits.datagram || origin.conn == 0) {
    if (bpacket::for_each_frame(bytes, bpacket::kDatagramLimit, on_frame) != 0) ++counters.dropped_malformed;
    return;
  }
  StreamState& st = stream_state(slot, origin.conn);
  const auto skipped_before = st.decoder.skipped();
  bool completed = false;
  st.decoder.feed(bytes, [&](const bpacket::Frame& f) {
    completed = true;
    on_frame(f);
  });
  // Nothing on_packet does reaches the protocol (its effects wait in the outbox), so the
  // connection and its decoder are still there.
  if (st.decoder.skipped() != skipped_before) ++counters.dropped_malformed;
  stream_fed(slot, origin.conn, completed);
}

void Cluster::Impl::on_packet(ProtocolSlot& slot, std::string_view body, const sdk::Origin& origin) {
  if (left) return;
  // Check 1b: the envelope (label, seal); nothing reads a packet before it passed.
  if (envelope.active() || (!body.empty() && body.front() == 14))
    if (!open_envelope(body, body)) return;
  Payload& p = decoded;
  const std::string& my_sid = settings_.sid;
  // Check 2: decode, stopping early for our own packets and for packets filtered to others.
  bool own = false, filtered = false;
  const bpacket::Status st = bpacket::decode_payload(body, p, [&](const Payload& so_far, FieldId id) {
    if (id == FieldId::sid && *so_far.sid == my_sid) return !(own = true);
    if (id == FieldId::filter) {
      const auto& f = *so_far.filter;
      const bool mine = contains(f, my_sid) || contains(f, settings_.hid) ||
                        std::any_of(tags.begin(), tags.end(), [&](const std::string& t) { return contains(f, t); });
      if (!mine) return !(filtered = true);
    }
    return true;
  });
  if (own) { ++counters.dropped_own; return; }
  if (filtered) { ++counters.dropped_filter; return; }
  if (!st) { ++counters.dropped_malformed; return; }
  ++counters.received;
  ++slot.traffic.packets_received;

  // Check 3: channel.
  const std::uint64_t channel = p.channel.value_or(0);
  if (!channels.count(channel)) { ++counters.dropped_channel; return; }

  // Validation needs sid hid type channel protocols. The reference also requires "c" among the
  // protocols; we accept members without it (found through seeds, DNS, etcd: no multicast).
  if (!p.sid.has() || !p.hid.has() || !p.type.has() || !p.protocols.has() ||
      // Ids end up in logs and on terminals: a control character in one (forged) is refused.
      p.sid->empty() || has_control(*p.sid) || has_control(*p.hid)) {
    ++counters.dropped_invalid;
    return;
  }
  const bool local = origin.local && *p.hid == settings_.hid;
  // sid@hid into a lent buffer: no allocation per packet once warm (on_packet may nest).
  auto uuid_buffer = buffers.take();
  std::string& uuid = *uuid_buffer;
  auto make_uuid = [&p, &uuid] { uuid.assign(*p.sid).append(1, '@').append(*p.hid); };
  make_uuid();
  ServiceState* known = find(uuid);

  // Check 4: hooks.
  HookContext ctx;
  ctx.payload = &p;
  ctx.service = known ? &known->info : nullptr;
  ctx.protocol = slot.id;
  ctx.channel = channel;
  ctx.local = local;
  const bool receive_hooks = !hook_table.empty(HookPoint::evaluate_receive) ||
                             !hook_table.empty(HookPoint::channel_receive) ||
                             !hook_table.empty(HookPoint::protocol_receive);
  if (receive_hooks) {
    if (hook_table.run(HookPoint::evaluate_receive, ctx) == Verdict::drop ||
        hook_table.run(HookPoint::channel_receive, ctx, std::to_string(channel)) == Verdict::drop ||
        hook_table.run(HookPoint::protocol_receive, ctx, slot.id) == Verdict::drop) {
      ++counters.dropped_hook;
      return;
    }
    if (left) return;  // a hook may have left the cluster
    // Hooks may have rewritten identity fields: re-derive.
    if (!p.sid.has() || !p.hid.has() || !p.type.has()) { ++counters.dropped_invalid; return; }
    make_uuid();
    known = find(uuid);
  }

  // Check 5: remote = 0 also needs our hid.
  if (opt.remote == 0 && *p.hid != settings_.hid) { ++counters.dropped_remote; return; }
  // Channels 1 (system) and 2 (LAN) only from local members.
  if ((channel == 1 || channel == 2) && !local) { ++counters.dropped_channel; return; }

  const auto type = static_cast<PayloadType>(*p.type);
  if (known == nullptr) {
    if (type == PayloadType::disconnect) return;  // never heard of it: nothing to forget
    if (recently_left.contains(uuid, loop_->now())) {  // sent before its goodbye, arrived after
      ++counters.dropped_departed;
      return;
    }
    if (services.size() >= opt.max_members) {
      ++counters.refused_members;
      if (std::string more; refused_member_log.due(loop_->now(), more))
        log(sdk::LogLevel::warning, "refused new member " + uuid + ": max_members (" + std::to_string(opt.max_members) +
                                        ") reached" + more);
      return;
    }
    ServiceState fresh;
    fresh.info.sid = *p.sid;
    fresh.info.hid = *p.hid;
    fresh.info.uuid = uuid;
    fresh.info.local = *p.hid == settings_.hid;
    fresh.info.protocols = *p.protocols;
    if (p.tags.has()) fresh.info.tags = *p.tags;
    fresh.info.ip = origin.ip;
    fresh.info.last_seen = loop_->now();
    if (slot.traits.multicast) fresh.info.found_by = "multicast";  // else once its props are known (dispatch)
    // Back after a short absence: what we knew stands until its packets say otherwise.
    if (auto before = recently_lost.take(uuid, loop_->now())) {
      if (!p.tags.has()) fresh.info.tags = std::move(before->tags);
      if (!p.data.has()) fresh.info.props = std::move(before->props);
      fresh.restored = true;
    }
    ctx.service = &fresh.info;
    if (hook_table.run(HookPoint::service_evaluate, ctx) == Verdict::drop) {
      ++counters.dropped_hook;
      return;
    }
    fresh.handle = std::make_shared<Service>(lifeline, fresh.info.sid, fresh.info.hid);
    known = &services.add(uuid, std::move(fresh));
    detector->policy->added(known->info);
    // We missed its first heartbeat (a periodic one carries no props or tags), or it probes us
    // (a detector packet: back after a false verdict, before its next heartbeat): the discovery
    // fetches its record (the beacon asks with a discovery filtered to its sid).
    if ((type == PayloadType::heartbeat || type == PayloadType::detector) && !p.data.has()) {
      known->last_ask = loop_->now();
      later([this, uuid] {
        each_discovery([&](sdk::Discovery& d) {
          if (ServiceState* s = find(uuid)) d.missing_record(s->info, true);
        });
      });
    }
  } else {
    if (hook_table.run(HookPoint::service_validate, ctx) == Verdict::drop) {
      ++counters.dropped_hook;
      return;
    }
    ServiceInfo& info = known->info;
    if (info.protocols != *p.protocols) info.protocols = *p.protocols;
    // Our ask (or its answer) was lost: while we lack the props of a direct protocol it offers
    // (and we run), ask again at its bare heartbeats, at most once a second.
    if (type == PayloadType::heartbeat && !p.data.has() && lacks_props(info) &&
        loop_->now() - known->last_ask >= std::chrono::seconds(1)) {
      known->last_ask = loop_->now();
      later([this, uuid] {
        each_discovery([&](sdk::Discovery& d) {
          if (ServiceState* s = find(uuid)) d.missing_record(s->info, false);
        });
      });
    }
    if (!origin.ip.empty() && !slot.traits.local_only) info.ip = origin.ip;
    if (p.tags.has() && *p.tags != info.tags) {
      info.tags = *p.tags;
      HookContext tc;
      tc.service = &info;
      tc.payload = &p;
      tc.protocol = slot.id;
      tc.channel = channel;
      tc.local = local;
      hook_table.run(HookPoint::tags_changed, tc);
    }
  }
  if (slot.traits.multicast) known->info.heard_multicast = loop_->now();
  // A stream connection we accepted belongs to this member: let the protocol reuse it.
  if (origin.conn != 0) {
    auto b = slot.bound.find(origin.conn);
    if (b == slot.bound.end() || b->second != uuid) {
      slot.bound[origin.conn] = uuid;
      later([&slot, conn = origin.conn, uuid] { slot.proto->bind(conn, uuid); });
    }
  }
  dispatch(slot, *known, uuid, p, origin);
}

void Cluster::Impl::dispatch(ProtocolSlot& slot, ServiceState& s, const std::string& uuid, Payload& p,
                             const sdk::Origin& origin) {
  const auto type = static_cast<PayloadType>(*p.type);
  // Props first: the failure detector decides by them whom it probes (a swim member advertises
  // `swim {v 1}`), and a heartbeat or discovery carrying them may be the last for a while.
  if ((type == PayloadType::heartbeat || type == PayloadType::discovery) && p.data.has())
    merge_props(s.info, *p.data, false);
  if (type == PayloadType::heartbeat || type == PayloadType::discovery || type == PayloadType::response) {
    s.info.last_seen = loop_->now();
    detector->policy->heard(s.info);
  }
  switch (type) {
    case PayloadType::disconnect:
      later([this, uuid] { lose(uuid, "left"); });
      return;
    case PayloadType::heartbeat:
      if (s.info.found_by.empty() && !s.info.props.empty()) s.info.found_by = found_by(slot, type, s.info);
      if (p.op.has()) tell_discoveries(uuid, p);
      break;
    case PayloadType::discovery: {
      if (s.info.found_by.empty() && !s.info.props.empty()) s.info.found_by = found_by(slot, type, s.info);
      if (p.op.has()) tell_discoveries(uuid, p);
      // A filtered discovery asks us (it passed the filter check); a plain one is a newcomer's
      // (it wants everything it needs to know about us).
      const bool asked = p.filter.has();
      later([this, uuid, asked] {
        each_discovery([&](sdk::Discovery& d) {
          ServiceState* m = find(uuid);  // again for each: the one before may have lost it
          if (m == nullptr) return;
          if (asked) d.asked(m->info);
          else d.newcomer(m->info);
        });
      });
      break;
    }
    case PayloadType::ping:
      later([this, uuid, ping = p] {
        if (ServiceState* m = find(uuid)) detector->policy->received(m->info, ping);
      });
      break;
    case PayloadType::flush:
      if (p.data.has()) merge_props(s.info, *p.data, true);
      break;
    case PayloadType::detector:
      if (detector->abi_minor >= 4)  // built before message() existed: ignored like an unknown type
        later([this, uuid, copy = p] {
          // A copy: the message may get its sender declared dead (removed) while it is handled.
          if (ServiceState* m = find(uuid)) {
            const ServiceInfo sender = m->info;
            detector->policy->message(sender, copy);
          }
        });
      break;
    case PayloadType::failed:
      later([this, uuid, report = p] { on_failed_report(uuid, report); });
      break;
    case PayloadType::event: {
      HookContext ctx;
      ctx.payload = &p;
      ctx.service = &s.info;
      ctx.protocol = slot.id;
      ctx.channel = p.channel.value_or(0);
      ctx.local = s.info.local;
      if (slot.traits.multicast) hook_table.run(HookPoint::broadcast, ctx);
      hook_table.run(HookPoint::event, ctx);
      break;
    }
    case PayloadType::query:
      later([this, protocol = slot.id, uuid, query = p, conn = origin.conn]() mutable {
        on_query(protocol, uuid, std::move(query), conn);
      });
      break;
    case PayloadType::response:
      on_response(s, p);
      break;
    default:
      break;  // unknown types are ignored (counted as received)
  }
  ServiceState* still = find(uuid);
  if (still == nullptr) return;
  // Discovered once we know its props and tags: at its first heartbeat/discovery carrying them.
  // A bare periodic heartbeat made us ask it directly (on_packet); if that answer does not come,
  // the second bare heartbeat announces it anyway.
  if (p.data.has() && (type == PayloadType::heartbeat || type == PayloadType::discovery)) still->heard_full = true;
  const bool complete =
      p.data.has() || still->restored || (type == PayloadType::heartbeat && ++still->bare_heartbeats >= 2);
  if (!still->discovered && complete && (type == PayloadType::heartbeat || type == PayloadType::discovery)) {
    still->discovered = true;
    HookContext ctx;
    ctx.service = &still->info;
    ctx.protocol = slot.id;
    ctx.local = still->info.local;
    hook_table.run(HookPoint::service_discovered, ctx);
  }
  // A packet without keepalive does not close its stream: the reference never sets keepalive
  // on events or replies and goes on writing on the same socket, so closing here reset its
  // next packets (PROTOCOL.md section 7, corrected). The transports close idle streams.
}

void Cluster::Impl::tell_discoveries(const std::string& uuid, const Payload& p) {
  later([this, uuid, copy = p] {
    for (std::size_t i = 0; i < discoveries.size() && !leaving && !left; ++i) {
      if (discoveries[i]->abi_minor < 3) continue;  // built before message() existed
      ServiceState* m = find(uuid);
      if (m == nullptr) return;
      discoveries[i]->policy->message(m->info, copy);
    }
  });
}

void Cluster::Impl::on_failed_report(const std::string& uuid, const Payload& p) {
  if (!p.data.has() || left) return;
  tcl::Dict d;
  std::vector<std::string> failed;
  if (!tcl::parse_dict(*p.data, d)) return;
  const std::string* list = tcl::dict_get(d, "protocols");
  if (list == nullptr || !tcl::parse_list(*list, failed)) return;
  log(sdk::LogLevel::notice, uuid + " could not reach us over " + *list + ": refreshing");
  for (const auto& id : failed)
    if (ProtocolSlot* sl = slot(id))
      if (auto r = sl->proto->refresh(); !r) log(sdk::LogLevel::warning, "refresh of '" + id + "' failed: " + r.message());
  props_dirty = true;
  each_discovery([](sdk::Discovery& disc) { disc.announce(sdk::Record::full); });
}

}  // namespace cluster
