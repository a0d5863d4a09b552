// Answering discoveries and asking about unknown members, batched in bursts (see impl.hpp).
#include <algorithm>

#include "impl.hpp"

namespace cluster {
namespace {

// Long enough to gather a cold start's discoveries, short next to a heartbeat period.
constexpr std::chrono::milliseconds kBurstWindow{50};
constexpr std::size_t kDirectAnswersMax = 3;  // like send_many: more targets, one multicast
constexpr std::size_t kSidsPerAsk = 64;       // keeps an ask near 600 bytes
// An unanswered ask is retried after 250 ms, 500 ms, 1 s, 2 s, 4 s: under 30 % loss an ask and
// its answer both get through about half the time, so five tries leave ~3 % to the next ones.
constexpr std::chrono::milliseconds kAskRetryFirst{250};
constexpr int kAskRetries = 5;

void add_unique(std::vector<std::string>& v, const std::string& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

}  // namespace

void Cluster::Impl::answer_directly(ServiceState& s) {
  Payload reply = base(PayloadType::heartbeat);
  reply.known = services.size();
  reply.data = props_string();
  reply.tags = tags;
  send_to(s, reply, SendFlags{});
}

void Cluster::Impl::answer_discovery(ServiceState& s) {
  if (answer_window) {
    add_unique(answer_pending, s.info.uuid);
    return;
  }
  answer_window = true;
  after(kBurstWindow, [this] { flush_answers(); });
  answer_directly(s);
}

void Cluster::Impl::answer_ask(ServiceState& s) {
  if (full_heartbeat_too_large) {  // a multicast would go out bare: answer this one directly
    answer_directly(s);
    return;
  }
  // The first ask of a burst is answered at once; the others within the window by one more
  // heartbeat at its end (under loss every asker retries: one heartbeat per ask was a storm).
  if (ask_answer_window) {
    ask_answer_pending = true;
    return;
  }
  ask_answer_window = true;
  after(kBurstWindow, [this] {
    ask_answer_window = false;
    if (ask_answer_pending && !left) send_heartbeat(true);
    ask_answer_pending = false;
  });
  send_heartbeat(true);
}

void Cluster::Impl::schedule_ask_retry(const std::string& uuid, int attempt) {
  if (attempt >= kAskRetries) return;
  after(kAskRetryFirst * (1 << attempt), [this, uuid, attempt] {
    ServiceState* s = find(uuid);
    if (s == nullptr || s->heard_full) return;
    s->last_ask = loop_->now();
    ask_about(s->info.sid);
    schedule_ask_retry(uuid, attempt + 1);
  });
}

void Cluster::Impl::flush_answers() {
  answer_window = false;
  std::vector<std::string> pending;
  pending.swap(answer_pending);
  if (left || pending.empty()) return;
  if (pending.size() > kDirectAnswersMax) {
    ++counters.burst_answers;
    send_heartbeat(true);
    return;
  }
  for (const auto& uuid : pending)
    if (ServiceState* s = find(uuid)) answer_directly(*s);
}

void Cluster::Impl::send_ask(std::vector<std::string> sids) {
  Payload ask = base(PayloadType::discovery);
  ask.known = services.size();
  ask.data = props_string();
  ask.tags = tags;
  ask.filter = std::move(sids);
  if (multicast(ask)) ++counters.asks_sent;
}

void Cluster::Impl::ask_about(const std::string& sid) {
  if (ask_window) {
    add_unique(ask_pending, sid);
    return;
  }
  ask_window = true;
  after(kBurstWindow, [this] { flush_asks(); });
  send_ask({sid});
}

void Cluster::Impl::flush_asks() {
  ask_window = false;
  std::vector<std::string> pending;
  pending.swap(ask_pending);
  if (left) return;
  for (std::size_t i = 0; i < pending.size(); i += kSidsPerAsk) {
    const auto end = pending.begin() + static_cast<std::ptrdiff_t>(std::min(pending.size(), i + kSidsPerAsk));
    send_ask(std::vector<std::string>(pending.begin() + static_cast<std::ptrdiff_t>(i), end));
  }
}

}  // namespace cluster
