// The multicast beacon (PROTOCOL.md section 6): a full heartbeat and a discovery at start, a
// heartbeat every period, discoveries answered, unknown members asked about, a disconnect at
// the end. Bursts: a cold start of N members makes each answer N - 1 discoveries and, when
// datagrams were lost, ask about unknown senders: answering each directly costs N^2
// connections, asking each alone N^2 multicasts. The first of a burst is handled at once (a
// lone newcomer waits for nothing); the rest, within the burst window, are answered by one
// multicast heartbeat with our record (more than 3) or directly, and asked about with one
// filtered discovery naming up to 64 of them, picked at random.
//
// The window grows with the group, as RTCP's report interval does (RFC 3550, 6.2): every
// multicast costs each of the N members a delivery, and in a cold start all N ask and answer
// at once. With 50 ms windows and one ask per 64 missing sids, 1,000 members on one host sent
// ~N^2/64 asks per window, each read by all N, and never converged (docs/benchmarks.md,
// "Scale"). Now one ask per window, and the window stays 50 ms up to 200 known members (cold
// starts of 50 and 200 keep their 0.2 s and 1 s targets) and then grows with the cube of N, to
// at most 10 s (0.4 s at 400, 6.25 s at 1,000): measured on one host, 1,000 converged in 16 s.
// 10 ms per member (linear) converged 1,000 in 12.5 s but slowed a cold start of 200 from
// 0.3 s to 2.1 s; the square, 23.5 s. The first of each window still goes out at once, so a
// lone newcomer or a single loss waits for nothing.
#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "cluster/sdk/timers.hpp"
#include "policies/builtin_policies.hpp"

namespace cluster::policies {
namespace {

using namespace std::chrono_literals;

// Long enough to gather a cold start's discoveries, short next to a heartbeat period; longer
// in big groups (see the top).
constexpr std::chrono::milliseconds kBurstWindow{50};
constexpr double kWindowKnee = 200;  // known members
constexpr std::chrono::milliseconds kWindowMax{10000};
constexpr std::size_t kDirectAnswersMax = 3;  // like sends to many: more targets, one multicast
constexpr std::size_t kSidsPerAsk = 64;       // keeps an ask near 600 bytes
// An unanswered ask is retried after 250 ms, 500 ms, 1 s, 2 s, 4 s: under 30 % loss an ask and
// its answer both get through about half the time, so five tries leave ~3 % to the next ones.
constexpr std::chrono::milliseconds kAskRetryFirst{250};
constexpr int kAskRetries = 5;

class MulticastBeacon final : public sdk::Discovery {
 public:
  explicit MulticastBeacon(sdk::DiscoveryHost& host) : host_(host) {}

  sdk::Result start() noexcept override {
    heartbeat(sdk::Record::full);
    probe();
    schedule_heartbeat();
    return sdk::Result::success();
  }

  void announce(sdk::Record what) noexcept override { heartbeat(what); }

  void probe() noexcept override {
    if (stopped_) return;
    Payload p = host_.packet(PayloadType::discovery, sdk::Record::full);
    host_.multicast(p);
  }

  void newcomer(const ServiceInfo& member) noexcept override {
    if (answer_window_) {
      answer_pending_.insert(member.uuid);
      return;
    }
    answer_window_ = true;
    after(window(), [this] { flush_answers(); });
    answer_directly(member.uuid);
  }

  // A discovery filtered to us (someone lacks our record): one full multicast heartbeat answers
  // it and everyone else who missed it; no connect that loss can stall.
  void asked(const ServiceInfo& member) noexcept override {
    if (full_too_large_) {  // a multicast would go out bare: answer this one directly
      answer_directly(member.uuid);
      return;
    }
    // The first ask of a burst is answered at once; the others within the window by one more
    // heartbeat at its end (under loss every asker retries: one heartbeat per ask was a storm).
    if (ask_answer_window_) {
      ask_answer_pending_ = true;
      return;
    }
    ask_answer_window_ = true;
    after(window(), [this] {
      ask_answer_window_ = false;
      if (ask_answer_pending_) heartbeat(sdk::Record::full);
      ask_answer_pending_ = false;
    });
    heartbeat(sdk::Record::full);
  }

  void missing_record(const ServiceInfo& member, bool first) noexcept override {
    ask_about(member.uuid, member.sid);
    // Asked again on our own schedule, not only at its next bare heartbeat.
    if (first) schedule_ask_retry(member.uuid, member.sid, 0);
  }

  void stop() noexcept override {
    if (stopped_) return;
    stopped_ = true;  // first: a send hook run by the goodbye may lead here again
    Payload p = host_.packet(PayloadType::disconnect, sdk::Record::full);
    p.data.reset();  // the reference's disconnect carries our tags, not our props
    host_.multicast(p);
    if (heartbeat_timer_ != 0) host_.loop().cancel(heartbeat_timer_);
    timers_.cancel_all();
  }

 private:
  template <class F>
  void after(std::chrono::milliseconds d, F fn) {
    timers_.after(d, std::move(fn));
  }

  void schedule_heartbeat() {
    heartbeat_timer_ = host_.loop().after(host_.timings().heartbeat, [this] {
      heartbeat_timer_ = 0;
      if (stopped_) return;
      heartbeat(sdk::Record::changed);
      if (!stopped_) schedule_heartbeat();
    });
  }

  void heartbeat(sdk::Record what) {
    if (stopped_) return;
    Payload p = host_.packet(PayloadType::heartbeat, what);
    const bool record = p.data.has() || p.tags.has();
    const sdk::SendStatus st = host_.multicast(p);
    if (st == sdk::SendStatus::sent) {
      if (p.data.has() && p.tags.has()) full_too_large_ = false;
      return;
    }
    if (st == sdk::SendStatus::too_large && record) {
      // Never stop heartbeating: peers would expire a live member. Tags are checked to fit, but
      // props or a hook's additions may not: a bare heartbeat keeps us alive, and peers that
      // lack our record ask for it (answered directly, over a stream protocol). Said once,
      // when it starts (each failed attempt is counted, its warning rate-limited).
      if (!full_too_large_)
        host_.log(sdk::LogLevel::error, "our heartbeat with props and tags exceeds max_multicast_packet (" +
                                            std::to_string(host_.timings().max_multicast_packet) +
                                            " bytes): sent without them");
      full_too_large_ = true;
      Payload bare = host_.packet(PayloadType::heartbeat);
      host_.multicast(bare);
    }
  }

  void answer_directly(const std::string& uuid) {
    Payload reply = host_.packet(PayloadType::heartbeat, sdk::Record::full);
    host_.send(uuid, reply);
  }

  void flush_answers() {
    answer_window_ = false;
    std::unordered_set<std::string> pending;
    pending.swap(answer_pending_);
    if (pending.empty()) return;
    if (pending.size() > kDirectAnswersMax) {
      host_.count(sdk::PolicyCounter::burst_answer);
      heartbeat(sdk::Record::full);
      return;
    }
    for (const auto& uuid : pending) answer_directly(uuid);  // send() skips members gone since
  }

  void schedule_ask_retry(const std::string& uuid, const std::string& sid, int attempt) {
    if (attempt >= kAskRetries) return;
    after(kAskRetryFirst * (1 << attempt), [this, uuid, sid, attempt] {
      if (!host_.awaiting_record(uuid)) return;
      ask_about(uuid, sid);
      schedule_ask_retry(uuid, sid, attempt + 1);
    });
  }

  // 50 ms up to kWindowKnee known members, then growing with the cube of the group (top).
  std::chrono::milliseconds window() const noexcept {
    const double x = static_cast<double>(host_.known()) / kWindowKnee;
    if (x <= 1) return kBurstWindow;
    const double ms = static_cast<double>(kBurstWindow.count()) * x * x * x;
    return ms >= static_cast<double>(kWindowMax.count()) ? kWindowMax
                                                          : std::chrono::milliseconds(static_cast<std::int64_t>(ms));
  }

  void ask_about(const std::string& uuid, const std::string& sid) {
    if (ask_window_) {
      if (ask_pending_sids_.insert(sid).second) ask_pending_.emplace_back(uuid, sid);
      return;
    }
    ask_window_ = true;
    after(window(), [this] { flush_asks(); });
    send_ask({sid});
  }

  // One ask per window: up to 64 sids still awaited, picked at random so that the askers of a
  // cold start name different members (each answer is a multicast: it serves every asker).
  // The rest wait for the next window.
  void flush_asks() {
    ask_window_ = false;
    std::vector<std::string> sids;
    while (sids.size() < kSidsPerAsk && !ask_pending_.empty()) {
      std::swap(ask_pending_[rng_() % ask_pending_.size()], ask_pending_.back());
      auto [uuid, sid] = std::move(ask_pending_.back());
      ask_pending_.pop_back();
      ask_pending_sids_.erase(sid);
      if (host_.awaiting_record(uuid)) sids.push_back(std::move(sid));
    }
    if (sids.empty()) return;
    if (!ask_pending_.empty()) {
      ask_window_ = true;
      after(window(), [this] { flush_asks(); });
    }
    send_ask(std::move(sids));
  }

  void send_ask(std::vector<std::string> sids) {
    Payload ask = host_.packet(PayloadType::discovery, sdk::Record::full);
    ask.filter = std::move(sids);
    if (host_.multicast(ask) == sdk::SendStatus::sent) host_.count(sdk::PolicyCounter::ask_sent);
  }

  sdk::DiscoveryHost& host_;
  bool stopped_ = false;
  sdk::TimerId heartbeat_timer_ = 0;
  sdk::Timers timers_{host_.loop()};  ///< one-shot: burst windows, ask retries
  bool full_too_large_ = false;  ///< our last full heartbeat did not fit: asks answered directly
  std::unordered_set<std::string> answer_pending_;  ///< uuids whose discovery waits for our answer
  bool answer_window_ = false;
  std::vector<std::pair<std::string, std::string>> ask_pending_;  ///< uuid, sid of members to ask about
  std::unordered_set<std::string> ask_pending_sids_;  ///< the sids of ask_pending_
  std::minstd_rand rng_{std::random_device{}()};
  bool ask_window_ = false;
  bool ask_answer_window_ = false;   ///< an ask was answered within the burst window
  bool ask_answer_pending_ = false;  ///< more asks came in that window: one heartbeat at its end
};

}  // namespace

std::unique_ptr<sdk::Discovery> make_multicast_beacon(sdk::DiscoveryHost& host) {
  return std::make_unique<MulticastBeacon>(host);
}

}  // namespace cluster::policies
