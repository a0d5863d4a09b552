// Members leaving the table, their props, and the failure detector's verdicts.
#include <algorithm>

#include "cluster/tcl.hpp"
#include "cluster/impl.hpp"

namespace cluster {

void Cluster::Impl::declare(std::string_view uuid, sdk::Liveness state, std::string_view reason) {
  ServiceState* s = find(uuid);
  if (s == nullptr || left) return;
  if (state == sdk::Liveness::dead) {
    // Its tags and props are kept for a short return (recently_lost), whatever the reason.
    // From added()/heard() (a packet is being handled) the loss waits until after it, since
    // it reaches the protocols (peer_lost).
    later([this, u = std::string(uuid), why = reason.empty() ? std::string("dead") : std::string(reason)] {
      lose(u, why);
    });
    return;
  }
  if (s->liveness == state) return;
  s->liveness = state;
  log(sdk::LogLevel::debug, std::string(uuid) + (state == sdk::Liveness::suspect ? " suspect (" : " alive (") +
                                std::string(reason) + ")");
}

void Cluster::Impl::lose(const std::string& uuid, std::string_view why) {
  std::optional<ServiceState> removed = services.remove(uuid);
  if (!removed) return;
  ServiceState& s = *removed;
  s.handle->remember(s.info);  // its handles show this last state from now on
  // A detector's verdict (expired, or a probing detector's dead) may be wrong or short-lived:
  // keep what we knew for its return. A member that left comes back with a new sid.
  if (why != "left") recently_lost.remember(s.info, loop_->now());
  else recently_left.remember(uuid, loop_->now());
  // Thousands of (forged) members expiring leave megabytes glibc would keep: the sweep trims.
  freed_since_trim += kMemberFootprint;
  if (freed_since_trim >= kTrimAfterFreeing) schedule_stream_sweep();
  log(sdk::LogLevel::debug, uuid + " lost (" + std::string(why) + ")");
  if (detector) detector->policy->removed(s.info);
  for (auto& sl : protocols) {
    sl->proto->peer_lost(s.info);
    for (auto b = sl->bound.begin(); b != sl->bound.end();)
      b = b->second == uuid ? sl->bound.erase(b) : std::next(b);
  }
  if (!s.discovered) return;  // never announced: its loss is no news either
  HookContext ctx;
  ctx.service = &s.info;
  ctx.local = s.info.local;
  ctx.reason = std::string(why);
  hook_table.run(HookPoint::service_lost, ctx);
}

void Cluster::Impl::merge_props(ServiceInfo& info, const std::string& data, bool replace) {
  tcl::Dict top;
  if (!tcl::parse_dict(data, top)) return;  // malformed props: keep what we had
  if (replace) info.props.clear();
  for (auto& [proto, value] : top) {
    tcl::Dict d;
    if (!tcl::parse_dict(value, d)) continue;
    auto it = std::find_if(info.props.begin(), info.props.end(), [&pr = proto](const auto& e) { return e.first == pr; });
    if (it == info.props.end()) info.props.emplace_back(proto, std::move(d));
    else it->second = std::move(d);
  }
}

bool Cluster::Impl::lacks_props(const ServiceInfo& info) {
  for (const auto& id : info.protocols) {
    const ProtocolSlot* sl = slot(id);
    if (sl != nullptr && !sl->traits.multicast && info.props_for(id) == nullptr) return true;
  }
  return false;
}

}  // namespace cluster
