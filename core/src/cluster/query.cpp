// Queries: the asking side (Cluster::query) and the answering side (the query hook).
#include "cluster/query.hpp"

#include <algorithm>
#include <stdexcept>

#include "impl.hpp"

namespace cluster {

std::string_view query_event_name(QueryEvent e) noexcept {
  switch (e) {
    case QueryEvent::start: return "start";
    case QueryEvent::response: return "response";
    case QueryEvent::error: return "error";
    case QueryEvent::timeout: return "timeout";
    case QueryEvent::done: return "done";
  }
  return "?";
}

Query::Query(std::string id, std::string text, std::uint64_t channel, bool collect, QueryCallback cb)
    : id_(std::move(id)), text_(std::move(text)), channel_(channel), collect_(collect), cb_(std::move(cb)) {}

std::size_t Query::remaining() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_.size();
}

std::vector<std::string> Query::payloads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return payloads_;
}

std::map<std::string, QueryAnswer> Query::results() const {
  std::lock_guard<std::mutex> lock(mu_);
  return results_;
}

bool Query::done() const {
  std::lock_guard<std::mutex> lock(mu_);
  return done_;
}

bool Query::timed_out() const {
  std::lock_guard<std::mutex> lock(mu_);
  return timed_out_;
}

bool Query::wait(std::chrono::milliseconds limit) {
  // Blocking the loop would stall for the whole limit and then report a timeout that never
  // happened: say so at once instead.
  if (life_ && life_->on_loop_thread())
    throw std::logic_error("Query::wait() called on the cluster's loop thread (query " + id_ +
                           "): the loop cannot deliver answers while it is blocked; use "
                           "QueryOptions::command, or wait on another thread");
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, limit, [&] { return done_; });
}

void Query::expect(const std::string& uuid) {
  std::lock_guard<std::mutex> lock(mu_);
  waiting_.push_back(uuid);
}

void Query::fire(QueryEvent e) {
  if (!cb_) return;
  try {
    cb_(e, *this);
  } catch (...) {
    // A throwing callback must not break the loop; the query goes on.
  }
}

bool Query::answer(const ServicePtr& from, QueryAnswer a) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_) return false;
    auto it = std::find(waiting_.begin(), waiting_.end(), a.uuid);
    if (it == waiting_.end()) return false;  // not a target, or answered already
    waiting_.erase(it);
    payloads_.push_back(a.data);
    if (collect_) results_[a.uuid] = a;
    current_ = std::move(a);
    current_service_ = from;
  }
  fire(current_.error ? QueryEvent::error : QueryEvent::response);
  return true;
}

void Query::finish(bool timed_out) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_) return;
    timed_out_ = timed_out;
  }
  if (timed_out) fire(QueryEvent::timeout);
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    current_service_.reset();
  }
  fire(QueryEvent::done);
  cv_.notify_all();
}

// ---- the asking side ----

QueryPtr Cluster::Impl::start_query(QueryOptions o, std::vector<ServiceState*> targets) {
  if (o.id.empty()) o.id = settings_.sid + "-" + std::to_string(++query_counter);
  if (auto old = queries.find(o.id); old != queries.end()) end_query(o.id, false);  // same id: end the old
  auto q = std::make_shared<Query>(o.id, o.query, o.channel, o.collect, std::move(o.command));
  q->attach(lifeline);
  for (auto* s : targets) q->expect(s->info.uuid);
  q->fire(QueryEvent::start);
  if (targets.empty()) {
    q->finish(false);
    return q;
  }
  auto& running = queries[o.id];
  running.query = q;
  running.timer = loop_->after(o.timeout, [this, id = o.id] { end_query(id, true); });
  Payload p = base(PayloadType::query, o.channel);
  p.ruid = o.id;
  p.data = o.query;
  p.keepalive = true;
  SendFlags flags;
  flags.allow_multicast = o.broadcast;  // never over c unless -broadcast
  flags.protocols = o.protocols;
  flags.channel = o.channel;
  if (o.broadcast) {
    StringList filter;
    for (auto* s : targets) filter.push_back(s->info.sid);
    p.filter = std::move(filter);
    if (!multicast(p)) log(sdk::LogLevel::warning, "query " + o.id + ": multicast failed");
  } else {
    for (auto* s : targets) {
      Payload copy = p;
      const std::string uuid = s->info.uuid;
      if (auto r = send_to(*s, copy, flags); !r) {
        // Unreachable: an error answer at once, so the query does not wait for the timeout.
        auto it = queries.find(o.id);
        if (it != queries.end()) it->second.query->answer(s->handle, QueryAnswer{uuid, true, r.message()});
      }
    }
  }
  if (auto it = queries.find(o.id); it != queries.end() && it->second.query == q && q->remaining() == 0)
    end_query(o.id, false);
  return q;
}

void Cluster::Impl::end_query(const std::string& id, bool timed_out) {
  auto it = queries.find(id);
  if (it == queries.end()) return;
  RunningQuery r = std::move(it->second);
  queries.erase(it);
  if (r.timer) loop_->cancel(r.timer);
  r.query->finish(timed_out);
}

void Cluster::Impl::on_response(ServiceState& s) {
  const Payload& p = scratch;
  if (!p.ruid.has()) return;
  auto it = queries.find(*p.ruid);
  if (it == queries.end()) return;  // late (after timeout/done) or not ours: ignored
  QueryPtr q = it->second.query;
  const bool error = p.error.has();
  q->answer(s.handle, QueryAnswer{s.info.uuid, error, error ? *p.error : p.data.value_or("")});
  if (q->remaining() == 0) end_query(q->id(), false);
}

// ---- the answering side ----

void Cluster::Impl::on_query(ProtocolSlot& slot, ServiceState& s, const sdk::Origin& origin) {
  Payload& p = scratch;
  HookContext ctx;
  ctx.payload = &p;
  ctx.service = &s.info;
  ctx.protocol = slot.id;
  ctx.channel = p.channel.value_or(0);
  ctx.local = s.info.local;
  Payload resp = base(PayloadType::response, p.channel.value_or(0));
  resp.ruid = p.ruid.value_or("");
  resp.keepalive = p.keepalive.value_or(false);
  resp.filter = StringList{s.info.sid};
  // A hook answers by setting ctx.answer and returning modified; drop refuses (ctx.reason is
  // the error text). When no hook answered, the querier gets an error instead of waiting.
  const Verdict v = hook_table.run(HookPoint::query, ctx);
  if (v == Verdict::drop) resp.error = ctx.reason.empty() ? std::string("query refused") : ctx.reason;
  else if (v == Verdict::modified) resp.data = std::move(ctx.answer);
  else resp.error = std::string("no query handler");
  if (left) return;
  // Back over the protocol (and connection) the query came on; others if that fails.
  SendFlags flags;
  flags.allow_multicast = true;
  send_to(s, resp, flags, origin.conn, slot.id);
}

}  // namespace cluster
