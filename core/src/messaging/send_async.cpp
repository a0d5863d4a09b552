// Cluster::send_async: inline on the loop thread, through the SendQueue from any other.
#include <atomic>
#include <string>

#include <boost/container/small_vector.hpp>
#include <utility>

#include "cluster/impl.hpp"
#include "cluster/lifeline.hpp"

namespace cluster {

namespace {

void finish(SendRequest& r, std::size_t reached, std::size_t wanted) {
  if (!r.done) return;
  SendOutcome o;
  o.reached = reached;
  if (reached < wanted)
    o.result = sdk::Result::failure(std::to_string(wanted - reached) + " of " + std::to_string(wanted) +
                                    " members not reached (gone, unknown or unreachable)");
  r.done(o);
}

}  // namespace

void Cluster::Impl::send_request(SendRequest& r) {
  boost::container::small_vector<ServiceState*, 4> targets;
  const auto add = [&](const ServicePtr& s) {
    if (s)
      if (auto* st = find(s->uuid())) targets.push_back(st);
  };
  if (r.one) add(r.one);
  for (const auto& s : r.to) add(s);
  const std::size_t wanted = (r.one ? 1 : 0) + r.to.size();
  if (receiving == 0) {
    auto lease = payloads.take();  // storage kept from the last send: no allocation
    fill_base(*lease, PayloadType::event, r.flags.channel);
    lease->data.set().assign(r.data);
    return finish(r, send_many(targets.data(), targets.size(), *lease, r.flags), wanted);
  }
  Payload p = base(PayloadType::event, r.flags.channel);
  p.data = std::move(r.data);
  // From a hook inside a receive: sent once it is over; done learns the true outcome then.
  std::vector<std::string> uuids;
  for (auto* st : targets) uuids.push_back(st->info.uuid);
  later([this, uuids = std::move(uuids), p = std::move(p), r = std::move(r), wanted]() mutable {
    std::vector<ServiceState*> still;
    for (const auto& u : uuids)
      if (auto* st = find(u)) still.push_back(st);
    finish(r, send_many(still, p, r.flags), wanted);
  });
}

namespace {
constexpr std::size_t kMaxHighMark = 1u << 20;  // more waiting buys no speed, only latency
constexpr std::chrono::seconds kBacklogPatience{1};
}  // namespace

bool Cluster::Impl::backlogged(ServiceState& member) {
  // Held above half the protocol's limit (at most 1 MiB), released below half of that: the
  // transport has room to take what the kernel cannot yet, and each hold is worth its timer.
  const bool was = member.backlogged_since != Clock::time_point{};
  bool over = false;
  for (ProtocolSlot* sl : backlog_protocols) {
    const sdk::Backlog b = sl->proto->backlog(member.info);
    const std::size_t high = b.limit == 0 ? kMaxHighMark : std::min(b.limit / 2, kMaxHighMark);
    if (b.bytes > (was ? high / 2 : high)) {
      over = true;
      break;
    }
  }
  if (!over) {
    member.backlogged_since = {};
    return false;
  }
  if (!was) member.backlogged_since = loop_->now();
  // A member that has not read for kBacklogPatience is not waited for: the sends to it (and to
  // everyone behind them in the queue) go on, and its transport's own limit decides.
  return loop_->now() - member.backlogged_since < kBacklogPatience;
}

bool Cluster::Impl::backlogged(const SendRequest& r) {
  if (backlog_protocols.empty()) return false;
  const auto over = [&](const ServicePtr& s) {
    ServiceState* st = s ? find(s->uuid()) : nullptr;
    return st != nullptr && backlogged(*st);
  };
  if (over(r.one)) return true;
  for (const auto& s : r.to)
    if (over(s)) return true;
  return false;
}

SendQueue* Cluster::Impl::send_lane() const {
  static std::atomic<unsigned> threads{0};
  thread_local const unsigned mine = threads.fetch_add(1, std::memory_order_relaxed);
  return send_queues.empty() ? nullptr : send_queues[mine % send_queues.size()].get();
}

Queued Cluster::Impl::submit_send(SendRequest&& r) {
  if (!joined || loop_->in_loop_thread()) {
    if (leaving || left) return Queued::closed;
    send_request(r);
    return Queued::sent;
  }
  return send_lane()->push(std::move(r));
}

Queued Cluster::send_async(std::vector<ServicePtr> to, std::string data, SendFlags flags, SendDone done) {
  return impl_->submit_send(SendRequest{nullptr, std::move(to), std::move(data), std::move(flags), std::move(done), {}});
}

Queued Cluster::send_async(ServicePtr to, std::string data, SendFlags flags, SendDone done) {
  return impl_->submit_send(SendRequest{std::move(to), {}, std::move(data), std::move(flags), std::move(done), {}});
}

Queued Cluster::Impl::submit_send_copy(const ServicePtr& to, std::string_view data, const SendFlags& flags,
                                       SendDone&& done) {
  if (joined && !loop_->in_loop_thread()) return send_lane()->push_copy(to, data, flags, std::move(done));
  return submit_send(SendRequest{to, {}, std::string(data), flags, std::move(done), {}});
}

Queued Cluster::send_async_copy(const ServicePtr& to, std::string_view data, const SendFlags& flags, SendDone done) {
  return impl_->submit_send_copy(to, data, flags, std::move(done));
}

Queued Service::send_async(std::string data, std::uint64_t channel, SendDone done) {
  Queued q = Queued::closed;  // the cluster is gone (destroyed)
  life_->with([&](Cluster::Impl& im) {
    SendFlags flags;
    flags.channel = channel;
    q = im.submit_send(SendRequest{shared_from_this(), {}, std::move(data), std::move(flags), std::move(done), {}});
  });
  return q;
}

}  // namespace cluster
