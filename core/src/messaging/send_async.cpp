// Cluster::send_async: inline on the loop thread, through the SendQueue from any other.
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

Queued Cluster::Impl::submit_send(SendRequest&& r) {
  if (!joined || loop_->in_loop_thread()) {
    if (leaving || left) return Queued::closed;
    send_request(r);
    return Queued::sent;
  }
  return send_queue->push(std::move(r));
}

Queued Cluster::send_async(std::vector<ServicePtr> to, std::string data, SendFlags flags, SendDone done) {
  return impl_->submit_send(SendRequest{nullptr, std::move(to), std::move(data), std::move(flags), std::move(done), {}});
}

Queued Cluster::send_async(ServicePtr to, std::string data, SendFlags flags, SendDone done) {
  return impl_->submit_send(SendRequest{std::move(to), {}, std::move(data), std::move(flags), std::move(done), {}});
}

Queued Cluster::Impl::submit_send_copy(const ServicePtr& to, std::string_view data, const SendFlags& flags,
                                       SendDone&& done) {
  if (joined && !loop_->in_loop_thread()) return send_queue->push_copy(to, data, flags, std::move(done));
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
