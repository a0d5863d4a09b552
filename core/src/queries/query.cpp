// Queries: the asking side (Cluster::query) and the answering side (the query hook).
#include "cluster/query.hpp"

#include <algorithm>
#include <stdexcept>

#include "cluster/impl.hpp"
#include "queries/query_control.hpp"

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

Query::Query(std::unique_ptr<State> state) : state_(std::move(state)) {}
Query::~Query() = default;

const std::string& Query::id() const noexcept { return state_->id; }
const std::string& Query::query() const noexcept { return state_->text; }
std::uint64_t Query::channel() const noexcept { return state_->channel; }
const ServicePtr& Query::service() const noexcept { return state_->current_service; }
const std::string& Query::payload() const noexcept { return state_->current.data; }
std::string Query::error() const { return state_->current.error ? state_->current.data : std::string(); }

std::size_t Query::remaining() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->waiting.size();
}

std::vector<std::string> Query::payloads() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->payloads;
}

std::map<std::string, QueryAnswer> Query::results() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->results;
}

bool Query::done() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->done;
}

bool Query::timed_out() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->timed_out;
}

bool Query::wait(std::chrono::milliseconds limit) {
  // Blocking the loop would stall for the whole limit and then report a timeout that never
  // happened: say so at once instead.
  if (state_->life && state_->life->on_loop_thread())
    throw std::logic_error("Query::wait() called on the cluster's loop thread (query " + state_->id +
                           "): the loop cannot deliver answers while it is blocked; use "
                           "QueryOptions::command, or wait on another thread");
  std::unique_lock<std::mutex> lock(state_->mu);
  return state_->cv.wait_for(lock, limit, [&] { return state_->done; });
}

QueryPtr QueryControl::make(std::string id, std::string text, std::uint64_t channel, bool collect, QueryCallback cb,
                            std::shared_ptr<Lifeline> life) {
  auto st = std::make_unique<Query::State>();
  st->id = std::move(id);
  st->text = std::move(text);
  st->channel = channel;
  st->collect = collect;
  st->cb = std::move(cb);
  st->life = std::move(life);
  return std::make_shared<Query>(std::move(st));
}

void QueryControl::expect(Query& q, const std::string& uuid) {
  std::lock_guard<std::mutex> lock(q.state_->mu);
  q.state_->waiting.push_back(uuid);
}

void QueryControl::fire(Query& q, QueryEvent e) {
  if (!q.state_->cb) return;
  try {
    q.state_->cb(e, q);
  } catch (...) {
    // A throwing callback must not break the loop; the query goes on.
  }
}

bool QueryControl::answer(Query& q, const ServicePtr& from, QueryAnswer a) {
  Query::State& st = *q.state_;
  {
    std::lock_guard<std::mutex> lock(st.mu);
    if (st.done) return false;
    auto it = std::find(st.waiting.begin(), st.waiting.end(), a.uuid);
    if (it == st.waiting.end()) return false;  // not a target, or answered already
    st.waiting.erase(it);
    st.payloads.push_back(a.data);
    if (st.collect) st.results[a.uuid] = a;
    st.current = std::move(a);
    st.current_service = from;
  }
  fire(q, st.current.error ? QueryEvent::error : QueryEvent::response);
  return true;
}

void QueryControl::finish(Query& q, bool timed_out) {
  Query::State& st = *q.state_;
  {
    std::lock_guard<std::mutex> lock(st.mu);
    if (st.done) return;
    st.timed_out = timed_out;
  }
  if (timed_out) fire(q, QueryEvent::timeout);
  {
    std::lock_guard<std::mutex> lock(st.mu);
    st.done = true;
    st.current_service.reset();
  }
  fire(q, QueryEvent::done);
  st.cv.notify_all();
}

// ---- the asking side ----

QueryPtr Cluster::Impl::start_query(QueryOptions o, std::vector<ServiceState*> targets) {
  if (o.id.empty()) o.id = settings_.sid + "-" + std::to_string(++query_counter);
  // Same id: the old one ends. Its done callback may start yet another with this id: end those
  // too (bounded), so the map never holds a query nobody will finish.
  for (int round = 0; round < 64; ++round) {
    auto old = queries.find(o.id);
    if (old == queries.end()) break;
    end_query(old->second.query, false);
  }
  QueryPtr q = QueryControl::make(o.id, o.query, o.channel, o.collect, std::move(o.command), lifeline);
  std::vector<std::string> uuids;
  for (auto* s : targets) {
    QueryControl::expect(*q, s->info.uuid);
    uuids.push_back(s->info.uuid);
  }
  if (left) {  // nothing can be sent: every target answers an error at once, no timer
    QueryControl::fire(*q, QueryEvent::start);
    for (auto* s : targets) QueryControl::answer(*q, s->handle, QueryAnswer{s->info.uuid, true, "left the cluster"});
    QueryControl::finish(*q, false);
    return q;
  }
  if (!targets.empty()) {
    auto& running = queries[o.id];
    running.query = q;
    running.timer = loop_->after(o.timeout, [this, q] { end_query(q, true); });
    running.started = loop_->now();
  }
  QueryControl::fire(*q, QueryEvent::start);
  if (targets.empty()) {
    QueryControl::finish(*q, false);
    return q;
  }
  // Inside a receive (a hook or callback started it) the packets go out after it.
  later([this, q, o = std::move(o), uuids = std::move(uuids)] { launch_query(q, o, uuids); });
  return q;
}

void Cluster::Impl::launch_query(const QueryPtr& q, const QueryOptions& o, const std::vector<std::string>& targets) {
  // The start callback (user code) may have ended it already (another query with the same id),
  // or left the cluster: then every target answers an error and the query ends now.
  if (q->done()) return;
  if (left) {
    for (const auto& uuid : targets) QueryControl::answer(*q, nullptr, QueryAnswer{uuid, true, "left the cluster"});
    end_query(q, false);
    return;
  }
  auto lease = payloads.take();  // storage kept from the last send: no allocation
  Payload& p = *lease;
  fill_base(p, PayloadType::query, o.channel);
  p.ruid.set().assign(o.id);
  p.data.set().assign(o.query);
  p.keepalive = true;
  SendFlags flags;
  flags.allow_multicast = o.broadcast;  // never over c unless -broadcast
  flags.protocols = o.protocols;
  flags.channel = o.channel;
  std::vector<std::string> grouped_out;  // broadcast: the targets the group does not reach
  const std::vector<std::string>* direct = &targets;
  if (o.broadcast) {
    direct = &grouped_out;
    // One filtered multicast for the targets the group reaches; members found through seeds,
    // DNS or etcd (and all of them, without a multicast protocol) get the query directly.
    StringList filter;
    for (const auto& uuid : targets) {
      ServiceState* s = find(uuid);
      if (s == nullptr) QueryControl::answer(*q, nullptr, QueryAnswer{uuid, true, "member lost"});  // gone since the start
      else if (multicast_slot() == nullptr || beyond_our_segment(s->info)) grouped_out.push_back(uuid);
      else filter.push_back(s->info.sid);
    }
    if (!filter.empty()) {
      Payload group = p;
      group.filter = std::move(filter);
      if (!multicast(group)) log(sdk::LogLevel::warning, "query " + o.id + ": multicast failed");
    }
  }
  {
    for (const auto& uuid : *direct) {
      if (q->done()) return;  // an answer's callback ended it
      ServiceState* s = find(uuid);
      if (s == nullptr) {  // gone since the query started: it cannot answer
        QueryControl::answer(*q, nullptr, QueryAnswer{uuid, true, "member lost"});
        continue;
      }
      auto copy = payloads.take();  // send_to sets the filter and hooks may rewrite it: one per target
      *copy = p;
      const ServicePtr handle = s->handle;
      // Unreachable: an error answer at once, so the query does not wait for the timeout.
      if (auto r = send_to(*s, *copy, flags); !r) QueryControl::answer(*q, handle, QueryAnswer{uuid, true, r.message()});
    }
  }
  if (!q->done() && q->remaining() == 0) end_query(q, false);
}

void Cluster::Impl::end_query(QueryPtr q, bool timed_out) {  // by value: the map entry goes
  auto it = queries.find(q->id());
  if (it != queries.end() && it->second.query == q) {
    if (it->second.timer) loop_->cancel(it->second.timer);
    (timed_out ? queries_timed_out : queries_completed).record(loop_->now() - it->second.started);
    queries.erase(it);
  }
  QueryControl::finish(*q, timed_out);
}

void Cluster::Impl::on_response(ServiceState& s, const Payload& p) {
  if (!p.ruid.has()) return;
  auto it = queries.find(*p.ruid);
  if (it == queries.end()) return;  // late (after timeout/done) or not ours: ignored
  QueryPtr q = it->second.query;
  const bool error = p.error.has();
  QueryControl::answer(*q, s.handle, QueryAnswer{s.info.uuid, error, error ? *p.error : p.data.value_or("")});
  if (!q->done() && q->remaining() == 0) end_query(q, false);
}

// ---- the answering side ----

void Cluster::Impl::on_query(const std::string& protocol, const std::string& uuid, Payload p, sdk::ConnectionId conn) {
  ServiceState* s = find(uuid);
  if (s == nullptr || left) return;  // it left before we could answer
  HookContext ctx;
  ctx.payload = &p;
  ctx.service = &s->info;
  ctx.protocol = protocol;
  ctx.channel = p.channel.value_or(0);
  ctx.local = s->info.local;
  Payload resp = base(PayloadType::response, p.channel.value_or(0));
  resp.ruid = p.ruid.value_or("");
  resp.keepalive = p.keepalive.value_or(false);
  resp.filter = StringList{s->info.sid};
  // A hook answers by setting ctx.answer and returning modified; drop refuses (ctx.reason is
  // the error text). When no hook answered, the querier gets an error instead of waiting.
  const Verdict v = hook_table.run(HookPoint::query, ctx);
  if (v == Verdict::drop) resp.error = ctx.reason.empty() ? std::string("query refused") : ctx.reason;
  else if (v == Verdict::modified) resp.data = std::move(ctx.answer);
  else resp.error = std::string("no query handler");
  if (left) return;
  s = find(uuid);  // the hook ran user code
  if (s == nullptr) return;
  // Back over the protocol (and connection) the query came on; others if that fails.
  SendFlags flags;
  flags.allow_multicast = true;
  send_to(*s, resp, flags, conn, protocol);
}

}  // namespace cluster
