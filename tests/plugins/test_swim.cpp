// The swim failure detector (plugins/failure-swim, docs/failure-detection.md): its pure parts
// (suspicion timeouts against memberlist's numbers, local health, incarnation rules, the wire
// codec, the gossip queue), then SwimDetector itself on fake hosts joined by a fake network on a
// manual clock: probes and acks, indirect probes, suspicion to death, refutation, delegation of
// members that do not speak swim to the ttl detector.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cluster/bpacket/payload_codec.hpp"
#include "codec.hpp"
#include "gossip_queue.hpp"
#include "suspicion.hpp"
#include "swim_config.hpp"
#include "swim_detector.hpp"

namespace {

using namespace std::chrono_literals;
using cluster::Dict;
using cluster::Payload;
using cluster::PayloadType;
using cluster::ServiceInfo;
namespace sdk = cluster::sdk;
namespace swim = cluster::swim;
using swim::Kind;
using swim::Message;
using swim::Millis;
using swim::Op;
using swim::Update;
using Clock = std::chrono::steady_clock;

// ---- suspicion timeouts (memberlist util.go / suspicion.go) ----

TEST(SwimSuspicion, BoundsMatchMemberlist) {
  // memberlist's LAN profile at N = 20: suspicionMult 4, maxMult 6, probe interval 1 s.
  const auto b = swim::suspicion_bounds(4, 6, 20, 1000ms);
  EXPECT_EQ(b.min, 5204ms);  // 4 x 1.301 x 1 s
  EXPECT_EQ(b.max, 31224ms);
  EXPECT_EQ(b.k, 2);
  EXPECT_EQ(swim::suspicion_timeout(b, 0), 31224ms);
  // max - log(2)/log(3) x (max - min) = 31.224 - 0.6309 x 26.02 s
  EXPECT_EQ(swim::suspicion_timeout(b, 1), 14807ms);
  EXPECT_EQ(swim::suspicion_timeout(b, 2), 5204ms);
  EXPECT_EQ(swim::suspicion_timeout(b, 3), 5204ms) << "never below min";
}

TEST(SwimSuspicion, SmallClustersExpectNoConfirmations) {
  // Fewer than 10 members: log10 < 1 counts as 1.
  auto b = swim::suspicion_bounds(4, 4, 4, 500ms);
  EXPECT_EQ(b.min, 2000ms);
  EXPECT_EQ(b.max, 8000ms);
  EXPECT_EQ(b.k, 2);  // n - 2 = 2 members can confirm
  b = swim::suspicion_bounds(4, 4, 3, 500ms);
  EXPECT_EQ(b.k, 0) << "n - 2 < k: no confirmations expected";
  EXPECT_EQ(swim::suspicion_timeout(b, 0), b.min) << "k < 1 starts at min";
  b = swim::suspicion_bounds(4, 4, 0, 500ms);
  EXPECT_EQ(b.min, 2000ms);
  EXPECT_EQ(b.k, 0);
}

TEST(SwimSuspicion, ConfirmationsAreIndependentAndBounded) {
  const auto b = swim::suspicion_bounds(4, 6, 20, 1000ms);
  const auto t0 = Clock::time_point{} + 1h;
  swim::Suspicion s("a", b, t0);
  EXPECT_EQ(s.deadline(), t0 + 31224ms);
  EXPECT_FALSE(s.confirm("a")) << "the originator does not confirm its own suspicion";
  EXPECT_TRUE(s.confirm("b"));
  EXPECT_FALSE(s.confirm("b")) << "one confirmation per member";
  EXPECT_EQ(s.deadline(), t0 + 14807ms) << "measured from the start";
  EXPECT_TRUE(s.confirm("c"));
  EXPECT_EQ(s.deadline(), t0 + 5204ms);
  EXPECT_FALSE(s.confirm("d")) << "no more than k";
  EXPECT_EQ(s.confirmations(), 2);
}

// ---- local health ----

TEST(SwimAwareness, ClampsAndScales) {
  swim::Awareness a(4);
  EXPECT_FALSE(a.apply(-1)) << "never below 0";
  EXPECT_TRUE(a.apply(2));
  EXPECT_EQ(a.score(), 2);
  EXPECT_EQ(a.scale(500ms), 1500ms);
  EXPECT_TRUE(a.apply(5));
  EXPECT_EQ(a.score(), 3) << "at most awareness_max - 1";
  EXPECT_FALSE(a.apply(1));
  EXPECT_TRUE(a.apply(-1));
  EXPECT_EQ(a.score(), 2);
  swim::Awareness one(1);
  EXPECT_FALSE(one.apply(3));
  EXPECT_EQ(one.scale(500ms), 500ms);
}

// ---- incarnation rules ----

TEST(SwimRules, IncarnationOrdering) {
  using namespace swim::rules;
  EXPECT_FALSE(accept_alive(3, 3)) << "alive needs a higher incarnation";
  EXPECT_TRUE(accept_alive(3, 4));
  EXPECT_FALSE(accept_suspect(3, 2)) << "an old suspicion is ignored";
  EXPECT_TRUE(accept_suspect(3, 3));
  EXPECT_FALSE(accept_dead(3, 2));
  EXPECT_TRUE(accept_dead(3, 3));
  EXPECT_TRUE(must_refute(2, 2));
  EXPECT_TRUE(must_refute(2, 5));
  EXPECT_FALSE(must_refute(2, 1));
  EXPECT_EQ(refuted_incarnation(2, 2), 3u);
  EXPECT_EQ(refuted_incarnation(2, 7), 8u) << "above the accusation";
  EXPECT_EQ(refuted_incarnation(0, UINT64_MAX), UINT64_MAX) << "saturates, never wraps to 0";
}

// ---- codec ----

TEST(SwimCodec, RoundTrip) {
  Message m;
  m.op = Op::ping_req;
  m.seq = 4294967295u;
  m.target = "s1@host one";  // quoting: a space
  m.inc = swim::kMaxIncarnation;
  m.updates = {{Kind::alive, "a@h", 0, "a@h"}, {Kind::suspect, "b@h{x", 7, "c@h"}, {Kind::dead, "d@h", 9, "e@h\\"}};
  const std::string raw = swim::encode_raw(m);
  std::string why;
  const auto back = swim::decode("ping-req", raw, &why);
  ASSERT_TRUE(back) << why << " in " << raw;
  EXPECT_EQ(back->op, Op::ping_req);
  EXPECT_EQ(back->seq, m.seq);
  EXPECT_EQ(back->target, m.target);
  EXPECT_EQ(back->inc, m.inc);
  EXPECT_EQ(back->updates, m.updates);
  EXPECT_EQ(swim::encode_raw(Message{Op::gossip, 0, "", 3, {}}), "1 0 {} 3 {}");
  EXPECT_EQ(swim::encode_raw(Message{Op::ping, 5, "a@h", 1, {{Kind::suspect, "a@h", 1, "b@h"}}}),
            "1 5 a@h 1 {{s a@h 1 b@h}}");
  for (Op op : {Op::ping, Op::ack, Op::ping_req, Op::nack, Op::gossip})
    EXPECT_EQ(swim::parse_op(swim::op_name(op)), op);
  // Later elements are ignored (room for extensions within version 1).
  EXPECT_TRUE(swim::decode("ack", "1 5 a@h 1 {{a a@h 1 a@h extra}} more"));
}

TEST(SwimCodec, MalformedIsRefused) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"pong", "1 1 a@h 0 {}"},                   // unknown op
      {"ping", ""},                               // empty
      {"ping", "1 1 a@h 0"},                      // too short
      {"ping", "2 1 a@h 0 {}"},                   // another version
      {"ping", "1 -1 a@h 0 {}"},                  // negative seq
      {"ping", "1 4294967296 a@h 0 {}"},          // seq over 32 bits
      {"ping", "1 x a@h 0 {}"},                   // seq not a number
      {"ping", "1 1 {} 0 {}"},                    // a ping names someone
      {"ping", "1 1 a@h 18446744073709551616 {}"},  // incarnation over 64 bits
      {"ping", "1 1 a@h 4611686018427387905 {}"},   // incarnation over 2^62: no room left to refute
      {"ping", "1 1 a@h 0 {{s b@h 18446744073709551615 c@h}}"},  // a suspicion no refutation could beat
      {"ping", "1 1 a@h 0 {{x a@h 1 b@h}}"},      // unknown update kind
      {"ping", "1 1 a@h 0 {{a a@h 1}}"},          // short update
      {"ping", "1 1 a@h 0 {{a {} 1 b@h}}"},       // empty uuid
      {"ping", "1 1 a@h 0 {{a a@h z b@h}}"},      // update incarnation not a number
      {"ping", "1 1 a@h 0 {{a a@h 1 b@h}"},       // unbalanced
      {"ping", "1 1 \"a@h 0 {}"},                 // unbalanced quote
      {"ping", "1 1 a\x01@h 0 {}"},               // control character
      {"ping", "1 1 a@h 0 {\"}"},                 // updates not a list
  };
  for (const auto& [op, raw] : bad) EXPECT_FALSE(swim::decode(op, raw)) << op << " " << raw;
  std::vector<Update> many(swim::kMaxUpdatesPerMessage + 1, Update{Kind::alive, "a@h", 1, "a@h"});
  EXPECT_FALSE(swim::decode("gossip", swim::encode_raw(Message{Op::gossip, 0, "", 0, many})));
  many.pop_back();
  EXPECT_TRUE(swim::decode("gossip", swim::encode_raw(Message{Op::gossip, 0, "", 0, many})));
  EXPECT_FALSE(swim::decode("gossip", "1 0 {} 0 {" + std::string(swim::kMaxRawBytes, 'x') + "}"));
  EXPECT_FALSE(swim::decode("ping", "1 1 " + std::string(swim::kMaxUuidBytes + 1, 'u') + " 0 {}"));
  EXPECT_TRUE(swim::decode("ping", "1 1 a@h 4611686018427387904 {{s b@h 4611686018427387904 c@h}}"));
}

// ---- gossip queue ----

TEST(SwimGossip, RetransmitLimit) {
  EXPECT_EQ(swim::retransmit_limit(4, 0), 1) << "at least once";
  EXPECT_EQ(swim::retransmit_limit(4, 1), 4);
  EXPECT_EQ(swim::retransmit_limit(4, 9), 4);
  EXPECT_EQ(swim::retransmit_limit(4, 10), 8);  // ceil(log10(11)) = 2
  EXPECT_EQ(swim::retransmit_limit(4, 99), 8);
  EXPECT_EQ(swim::retransmit_limit(4, 100), 12);
}

TEST(SwimGossip, LeastSentNewestFirstUntilTheLimit) {
  swim::GossipQueue q(100);
  q.push({Kind::suspect, "a@h", 1, "x@h"});
  q.push({Kind::suspect, "b@h", 1, "x@h"});
  auto got = q.take(1000, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], "s b@h 1 x@h") << "newest first";
  q.push({Kind::dead, "c@h", 1, "x@h"});
  got = q.take(1000, 2);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], "d c@h 1 x@h") << "least sent first";
  EXPECT_EQ(q.size(), 1u) << "a and b went out twice: gone";
  // A newer update about a member replaces the queued one.
  q.push({Kind::alive, "c@h", 2, "c@h"});
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.find("c@h")->kind, Kind::alive);
  // The budget: what does not fit waits; a smaller one behind it may still go.
  q.clear();
  q.push({Kind::alive, std::string(50, 'l') + "@h", 1, "x@h"});
  q.push({Kind::alive, "s@h", 1, "x@h"});
  got = q.take(20, 5);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], "a s@h 1 x@h");
  got = q.take(20, 5, "s@h");
  EXPECT_TRUE(got.empty()) << "the skipped member's update and the long one stay";
  EXPECT_EQ(q.size(), 2u);
}

TEST(SwimGossip, BoundedSize) {
  swim::GossipQueue q(3);
  for (int i = 0; i < 10; ++i) q.push({Kind::alive, "m" + std::to_string(i) + "@h", 1, "x@h"});
  EXPECT_EQ(q.size(), 3u);
  EXPECT_NE(q.find("m9@h"), nullptr);
}

// ---- config ----

TEST(SwimConfig, DefaultsAndChecks) {
  const swim::Params p = swim::default_params();
  EXPECT_EQ(p.probe_interval, 400ms);
  EXPECT_EQ(p.probe_timeout, 200ms);
  EXPECT_EQ(p.indirect_checks, 3);
  EXPECT_EQ(p.suspicion_mult, 4);
  EXPECT_EQ(p.suspicion_max_mult, 4);
  EXPECT_EQ(p.awareness_max, 4);
  EXPECT_EQ(p.gossip_interval, 100ms);
  EXPECT_EQ(p.gossip_nodes, 3);
  EXPECT_EQ(p.retransmit_mult, 4);
  EXPECT_EQ(p.protocols, (std::vector<std::string>{"d", "t"}));
  EXPECT_EQ(swim::check_params(p), "");
  // Every default lies in its range (the host refuses a schema whose default is outside).
  for (const auto& r : swim::kRanges) {
    const auto* k = std::find_if(std::begin(swim::kKeys), std::end(swim::kKeys),
                                 [&](const sdk::ConfigKey& key) { return std::string(key.name) == r.key; });
    ASSERT_NE(k, std::end(swim::kKeys)) << r.key;
    const long long v = std::stoll(k->default_value);
    EXPECT_TRUE(v >= r.min && v <= r.max) << r.key;
  }
  swim::Params q = p;
  q.probe_timeout = 500ms;
  EXPECT_NE(swim::check_params(q).find("probe_timeout_ms"), std::string::npos);
  q = p;
  q.protocols = {"t", "c"};
  EXPECT_NE(swim::check_params(q).find("multicast"), std::string::npos);
  q.protocols = {};
  EXPECT_NE(swim::check_params(q), "");
}

// ---- the detector on fake hosts ----

/// A loop whose clock moves only when the test says so; timers due at the same time run in the
/// order they were set.
class ManualLoop final : public sdk::EventLoop {
 public:
  sdk::WatchId watch(int, std::uint32_t, std::function<void(std::uint32_t)>) noexcept override { return 0; }
  void modify(sdk::WatchId, std::uint32_t) noexcept override {}
  void unwatch(sdk::WatchId) noexcept override {}
  sdk::TimerId after(std::chrono::milliseconds delay, std::function<void()> fn) noexcept override {
    const sdk::TimerId id = ++next_;
    timers_[id] = Timer{now_ + delay, std::move(fn)};
    return id;
  }
  void cancel(sdk::TimerId id) noexcept override { timers_.erase(id); }
  void post(std::function<void()> fn) noexcept override { after(0ms, std::move(fn)); }
  bool in_loop_thread() const noexcept override { return true; }
  Clock::time_point now() const noexcept override { return now_; }

  /// Runs every timer due within `d`, in time order, moving the clock to each.
  void advance(std::chrono::milliseconds d) {
    const auto end = now_ + d;
    for (;;) {
      auto best = timers_.end();
      for (auto it = timers_.begin(); it != timers_.end(); ++it)
        if (it->second.due <= end && (best == timers_.end() || it->second.due < best->second.due)) best = it;
      if (best == timers_.end()) break;
      now_ = std::max(now_, best->second.due);
      auto fn = std::move(best->second.fn);
      timers_.erase(best);
      fn();
    }
    now_ = end;
  }
  std::size_t pending() const { return timers_.size(); }

 private:
  struct Timer {
    Clock::time_point due;
    std::function<void()> fn;
  };
  Clock::time_point now_ = Clock::time_point{} + 1h;
  sdk::TimerId next_ = 0;
  std::map<sdk::TimerId, Timer> timers_;
};

/// Records what the swim detector forwards to its ttl delegate.
struct RecordingTtl final : sdk::FailureDetector {
  std::vector<std::string> calls;
  bool stopped = false;
  sdk::Result start() noexcept override { return calls.push_back("start"), sdk::Result::success(); }
  void added(const ServiceInfo& m) noexcept override { calls.push_back("added " + m.uuid); }
  void heard(const ServiceInfo& m) noexcept override { calls.push_back("heard " + m.uuid); }
  void unreachable(const ServiceInfo& m) noexcept override { calls.push_back("unreachable " + m.uuid); }
  void received(const ServiceInfo& m, const Payload&) noexcept override { calls.push_back("received " + m.uuid); }
  void removed(const ServiceInfo& m) noexcept override { calls.push_back("removed " + m.uuid); }
  void stop() noexcept override {
    calls.push_back("stop");
    stopped = true;
  }
};

class Net;
struct Node;

/// A member's view of the shared clock: while it is paused (SIGSTOP) its timers wait, and run
/// when it resumes; once it is down (kill -9) they never run.
class NodeLoop final : public sdk::EventLoop {
 public:
  NodeLoop(ManualLoop& base, Node& node) : base_(base), node_(node) {}
  sdk::WatchId watch(int, std::uint32_t, std::function<void(std::uint32_t)>) noexcept override { return 0; }
  void modify(sdk::WatchId, std::uint32_t) noexcept override {}
  void unwatch(sdk::WatchId) noexcept override {}
  sdk::TimerId after(std::chrono::milliseconds delay, std::function<void()> fn) noexcept override;
  void cancel(sdk::TimerId id) noexcept override {
    base_.cancel(id);
    live_.erase(id);
  }
  void post(std::function<void()> fn) noexcept override { after(0ms, std::move(fn)); }
  bool in_loop_thread() const noexcept override { return true; }
  Clock::time_point now() const noexcept override { return base_.now(); }
  /// Runs the timers that came due while paused (unless cancelled since).
  void resume() {
    auto held = std::move(held_);
    held_.clear();
    for (auto& [id, fn] : held)
      if (live_.erase(id) != 0) fn();
  }

 private:
  ManualLoop& base_;
  Node& node_;
  std::set<sdk::TimerId> live_;
  std::vector<std::pair<sdk::TimerId, std::function<void()>>> held_;
};

/// One member: a FailureDetectorHost that keeps its members like the core does (declare(dead)
/// removes the member and calls removed() inside the call) and sends through the Net.
struct Node final : sdk::FailureDetectorHost {
  Node(Net& n, ManualLoop& l, std::string name, std::vector<std::string> protos) : net(n), lp(l, *this) {
    settings_.sid = std::move(name);
    settings_.hid = "h";
    protocols = std::move(protos);
    timings_.ttl = 60000ms;
  }
  Net& net;
  NodeLoop lp;
  sdk::ClusterSettings settings_;
  sdk::MembershipTimings timings_;
  sdk::PluginConfig config_;
  std::vector<std::string> protocols;
  std::unique_ptr<swim::SwimDetector> det;
  RecordingTtl* ttl = nullptr;
  std::map<std::string, ServiceInfo> members;
  std::map<sdk::PolicyCounter, int> counts;
  std::vector<std::string> logs;
  std::vector<std::string> declared;  ///< "<state> <uuid> <reason>"
  std::map<std::string, Dict> advertised;
  std::uint32_t health_score = 0;
  std::vector<std::pair<std::string, Payload>> sent;  ///< every send_via
  bool down = false;    ///< killed: receives nothing
  bool paused = false;  ///< stopped: what arrives waits
  std::vector<std::function<void()>> backlog;

  std::string uuid() const { return settings_.sid + "@" + settings_.hid; }
  ServiceInfo info() const {
    ServiceInfo i;
    i.sid = settings_.sid;
    i.hid = settings_.hid;
    i.uuid = uuid();
    i.protocols = protocols;
    i.protocols.push_back("c");
    for (const auto& p : protocols) i.props.push_back({p, Dict{{"port", "1"}}});
    for (const auto& [k, v] : advertised) i.props.push_back({k, v});
    return i;
  }
  int counted(sdk::PolicyCounter c) const {
    auto it = counts.find(c);
    return it == counts.end() ? 0 : it->second;
  }
  int declared_count(const std::string& prefix) const {
    return static_cast<int>(std::count_if(declared.begin(), declared.end(), [&](const std::string& d) {
      return d.rfind(prefix, 0) == 0;
    }));
  }

  // PolicyHost
  sdk::EventLoop& loop() noexcept override { return lp; }
  void log(sdk::LogLevel level, std::string_view message) noexcept override {
    logs.push_back(std::to_string(static_cast<int>(level)) + " " + std::string(message));
    if (std::getenv("SWIM_TEST_LOG") != nullptr && level >= sdk::LogLevel::info)
      std::cerr << settings_.sid << ": " << message << "\n";
  }
  const sdk::ClusterSettings& settings() const noexcept override { return settings_; }
  const sdk::MembershipTimings& timings() const noexcept override { return timings_; }
  const sdk::PluginConfig& config() const noexcept override { return config_; }
  Payload packet(PayloadType type, sdk::Record = sdk::Record::none) const override {
    Payload p;
    p.type = static_cast<std::uint64_t>(type);
    p.sid = settings_.sid;
    p.hid = settings_.hid;
    p.channel = 0;
    std::vector<std::string> ps = protocols;
    ps.push_back("c");
    p.protocols = ps;
    p.known = members.size();
    return p;
  }
  sdk::SendStatus multicast(Payload&) noexcept override { return sdk::SendStatus::sent; }
  sdk::Result send(std::string_view, Payload&) noexcept override { return sdk::Result::success(); }
  std::size_t known() const noexcept override { return members.size(); }
  void count(sdk::PolicyCounter what) noexcept override { ++counts[what]; }
  // FailureDetectorHost
  void declare(std::string_view uuid, sdk::Liveness state, std::string_view reason) noexcept override {
    const char* names[] = {"alive", "suspect", "dead"};
    declared.push_back(std::string(names[static_cast<int>(state)]) + " " + std::string(uuid) + " " + std::string(reason));
    if (state != sdk::Liveness::dead) return;
    auto it = members.find(std::string(uuid));
    if (it == members.end()) return;
    const ServiceInfo gone = it->second;
    members.erase(it);
    det->removed(gone);
  }
  void announce() noexcept override {}
  sdk::Result send_via(std::string_view uuid, std::string_view protocol, Payload& p) noexcept override;
  sdk::Result advertise(std::string_view key, const Dict& value) noexcept override {
    advertised[std::string(key)] = value;
    return sdk::Result::success();
  }
  std::unique_ptr<sdk::FailureDetector> builtin(std::string_view name) noexcept override {
    if (name != "ttl") return nullptr;
    auto t = std::make_unique<RecordingTtl>();
    ttl = t.get();
    return t;
  }
  void health(std::uint32_t score) noexcept override { health_score = score; }

  /// Admits `other` as the core would (added(), then heard() with its props).
  void admit(const ServiceInfo& other) {
    members[other.uuid] = other;
    det->added(other);
    det->heard(other);
  }
};

class Net {
 public:
  ManualLoop loop;
  std::vector<std::unique_ptr<Node>> nodes;
  std::set<std::pair<std::string, std::string>> cut;  ///< (from, to) sid pairs whose packets are lost
  Millis latency{1};

  Node& add(const std::string& name, swim::Params p = swim::default_params(), std::vector<std::string> protos = {"t"}) {
    nodes.push_back(std::make_unique<Node>(*this, loop, name, std::move(protos)));
    Node& n = *nodes.back();
    n.det = std::make_unique<swim::SwimDetector>(n, std::move(p));
    // Deterministic runs; SWIM_TEST_SEED=<n> tries other choices.
    const char* seed = std::getenv("SWIM_TEST_SEED");
    n.det->seed(nodes.size() + (seed != nullptr ? std::strtoull(seed, nullptr, 10) * 1000 : 0));
    return n;
  }
  /// Starts everyone, then every member admits every other.
  void start_all() {
    for (auto& n : nodes) {
      auto r = n->det->start();
      ASSERT_TRUE(r) << r.message();
    }
    for (auto& a : nodes)
      for (auto& b : nodes)
        if (a != b) a->admit(b->info());
  }
  Node* by_uuid(const std::string& uuid) {
    for (auto& n : nodes)
      if (n->uuid() == uuid) return n.get();
    return nullptr;
  }
  void deliver(Node& from, const std::string& to_uuid, const Payload& p) {
    Node* to = by_uuid(to_uuid);
    if (to == nullptr || cut.count({from.settings_.sid, to->settings_.sid}) != 0) return;
    const std::string from_uuid = from.uuid();
    loop.after(latency, [this, to, from_uuid, p] {
      if (to->down) return;
      auto run = [to, from_uuid, p] {
        auto it = to->members.find(from_uuid);
        if (it == to->members.end() || to->down) return;  // the core drops... or admits; our members know each other
        const ServiceInfo info = it->second;
        to->det->message(info, p);
      };
      if (to->paused) to->backlog.push_back(run);
      else run();
    });
  }
  /// SIGCONT: what arrived meanwhile is read first, then the timers that came due run.
  void resume(Node& n) {
    n.paused = false;
    auto backlog = std::move(n.backlog);
    n.backlog.clear();
    for (auto& f : backlog) f();
    n.lp.resume();
  }
  void stop_all() {
    for (auto& n : nodes) n->det->stop();
  }
};

sdk::TimerId NodeLoop::after(std::chrono::milliseconds delay, std::function<void()> fn) noexcept {
  auto id = std::make_shared<sdk::TimerId>(0);
  *id = base_.after(delay, [this, id, fn = std::move(fn)]() mutable {
    if (node_.down) {
      live_.erase(*id);
      return;
    }
    if (node_.paused) {
      held_.emplace_back(*id, std::move(fn));
      return;
    }
    live_.erase(*id);
    fn();
  });
  live_.insert(*id);
  return *id;
}

sdk::Result Node::send_via(std::string_view uuid, std::string_view protocol, Payload& p) noexcept {
  auto it = members.find(std::string(uuid));
  if (it == members.end()) return sdk::Result::failure("unknown member");
  if (it->second.props_for(protocol) == nullptr) return sdk::Result::failure("no props");
  if (down) return sdk::Result::failure("we are down");
  sent.emplace_back(std::string(uuid), p);
  net.deliver(*this, std::string(uuid), p);
  return sdk::Result::success();
}

swim::Params fast_params() {
  swim::Params p = swim::default_params();
  p.protocols = {"d", "t"};
  return p;
}

class SwimDetectorTest : public ::testing::Test {
 protected:
  void TearDown() override {
    net.stop_all();
    net.loop.advance(100ms);  // packets in flight
    EXPECT_EQ(net.loop.pending(), 0u) << "stop() left timers armed";
  }
  Net net;
};

TEST_F(SwimDetectorTest, StartAdvertisesAndPicksTheProbeProtocol) {
  swim::Params p = fast_params();
  p.protocols = {"d", "u", "t"};
  Node& a = net.add("a", p, {"u", "t"});
  ASSERT_TRUE(a.det->start());
  EXPECT_EQ(a.advertised["swim"], (Dict{{"v", "1"}}));
  ASSERT_NE(a.ttl, nullptr);
  EXPECT_EQ(a.ttl->calls, std::vector<std::string>{"start"});
  EXPECT_GT(a.det->raw_budget(), 500u);
  // d is not ours: t is used. A member without the swim props key stays with ttl.
  ServiceInfo b = a.info();
  b.sid = "b";
  b.uuid = "b@h";
  a.admit(b);
  EXPECT_EQ(a.det->protocol_of("b@h"), "t");
  ServiceInfo c = b;
  c.sid = "c";
  c.uuid = "c@h";
  c.props.clear();
  c.props.push_back({"t", Dict{{"port", "2"}}});
  a.admit(c);
  EXPECT_FALSE(a.det->state_of("c@h"));
  EXPECT_TRUE(a.det->delegated("c@h"));
  // A member that speaks swim but shares no probe protocol with us (only u, and not local).
  ServiceInfo d = b;
  d.sid = "d";
  d.uuid = "d@h";
  d.protocols = {"u", "c"};
  d.props = {{"u", Dict{{"path", "/x"}}}, {"swim", Dict{{"v", "1"}}}};
  a.admit(d);
  EXPECT_TRUE(a.det->delegated("d@h"));
  d.local = true;
  a.det->heard(d);
  EXPECT_EQ(a.det->protocol_of("d@h"), "u");
  // Another wire version: not ours.
  ServiceInfo e = b;
  e.sid = "e";
  e.uuid = "e@h";
  e.props = {{"t", Dict{{"port", "3"}}}, {"swim", Dict{{"v", "2"}}}};
  a.admit(e);
  EXPECT_TRUE(a.det->delegated("e@h"));
}

TEST_F(SwimDetectorTest, StartFailsWithoutAProbeProtocolAndLeavesNoTimer) {
  swim::Params p = fast_params();
  p.protocols = {"d"};
  Node& a = net.add("a", p, {"t"});
  const auto r = a.det->start();
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("[swim] protocol"), std::string::npos) << r.message();
  EXPECT_EQ(net.loop.pending(), 0u);
}

TEST_F(SwimDetectorTest, MembersWithoutSwimStayWithTheTtlDetector) {
  Node& a = net.add("a");
  ASSERT_TRUE(a.det->start());
  ServiceInfo tcl;  // a reference member: t and c, no swim key
  tcl.sid = "tcl";
  tcl.hid = "h";
  tcl.uuid = "tcl@h";
  tcl.protocols = {"t", "c"};
  a.members[tcl.uuid] = tcl;
  a.det->added(tcl);  // the first packet: no props yet
  tcl.props = {{"t", Dict{{"port", "9"}}}};
  a.det->heard(tcl);
  a.det->unreachable(tcl);
  a.det->received(tcl, Payload{});
  EXPECT_EQ(a.ttl->calls, (std::vector<std::string>{"start", "added tcl@h", "heard tcl@h", "unreachable tcl@h",
                                                      "received tcl@h"}));
  net.loop.advance(3000ms);
  EXPECT_EQ(a.counted(sdk::PolicyCounter::probe_sent), 0) << "never probed";
  // Its props arrive later with the swim key (an upgraded build, a slow record): from then on it
  // is probed, and ttl forgets it.
  ServiceInfo up = a.info();
  up.sid = "up";
  up.uuid = "up@h";
  a.members[up.uuid] = up;
  ServiceInfo bare = up;
  bare.props.clear();
  a.det->added(bare);
  EXPECT_TRUE(a.det->delegated("up@h"));
  a.det->heard(up);
  EXPECT_FALSE(a.det->delegated("up@h"));
  EXPECT_EQ(a.det->state_of("up@h"), swim::SwimDetector::State::alive);
  EXPECT_EQ(a.ttl->calls.back(), "removed up@h");
  // Removal of a delegated member goes to ttl; pings (type 3) always do.
  a.det->removed(tcl);
  EXPECT_EQ(a.ttl->calls.back(), "removed tcl@h");
  a.det->received(up, Payload{});
  EXPECT_EQ(a.ttl->calls.back(), "received up@h");
  a.det->stop();
  a.det->stop();  // idempotent
  EXPECT_EQ(std::count(a.ttl->calls.begin(), a.ttl->calls.end(), "stop"), 1);
}

TEST_F(SwimDetectorTest, HealthyMembersAckEveryProbe) {
  Node& a = net.add("a");
  Node& b = net.add("b");
  Node& c = net.add("c");
  net.start_all();
  net.loop.advance(10000ms);
  for (Node* n : {&a, &b, &c}) {
    EXPECT_GE(n->counted(sdk::PolicyCounter::probe_sent), 18) << n->uuid();
    EXPECT_EQ(n->counted(sdk::PolicyCounter::probe_indirect), 0) << n->uuid();
    EXPECT_EQ(n->counted(sdk::PolicyCounter::probe_failed), 0) << n->uuid();
    EXPECT_EQ(n->counted(sdk::PolicyCounter::suspicion), 0) << n->uuid();
    EXPECT_EQ(n->health_score, 0u);
    EXPECT_TRUE(n->declared.empty());
    EXPECT_LE(n->det->pending(), 1u) << "at most the probe in flight";
  }
  // Round robin: each member probed the two others equally often (within one round).
  std::map<std::string, int> pings;
  for (const auto& [to, p] : a.sent)
    if (*p.op == "ping") ++pings[to];
  EXPECT_LE(std::abs(pings["b@h"] - pings["c@h"]), 1);
  // Every packet: type 9, op and raw set.
  for (const auto& [to, p] : a.sent) {
    EXPECT_TRUE(p.is(PayloadType::detector));
    ASSERT_TRUE(p.op.has() && p.raw.has());
    EXPECT_TRUE(swim::decode(*p.op, *p.raw)) << *p.raw;
  }
}

TEST_F(SwimDetectorTest, IndirectProbesReachAMemberWeCannotReach) {
  Node& a = net.add("a");
  Node& b = net.add("b");
  Node& c = net.add("c");
  net.start_all();
  net.cut.insert({"a", "c"});
  net.cut.insert({"c", "a"});
  net.loop.advance(10000ms);
  EXPECT_GE(a.counted(sdk::PolicyCounter::probe_indirect), 5);
  EXPECT_EQ(a.counted(sdk::PolicyCounter::probe_failed), 0) << "b relayed c's acks";
  EXPECT_EQ(a.counted(sdk::PolicyCounter::suspicion), 0);
  EXPECT_EQ(a.det->state_of("c@h"), swim::SwimDetector::State::alive);
  EXPECT_EQ(c.det->state_of("a@h"), swim::SwimDetector::State::alive);
  EXPECT_EQ(b.counted(sdk::PolicyCounter::nack_sent), 0);
  EXPECT_EQ(a.health_score, 0u);
}

TEST_F(SwimDetectorTest, RelaysNackWhenTheTargetIsSilentAndTheProberKeepsItsHealth) {
  Node& a = net.add("a");
  Node& b = net.add("b");
  Node& c = net.add("c");
  Node& d = net.add("d");
  net.start_all();
  d.down = true;
  net.loop.advance(2000ms);  // every prober probed d once at least (and the nacks came), before d is dead
  EXPECT_GE(b.counted(sdk::PolicyCounter::nack_sent) + c.counted(sdk::PolicyCounter::nack_sent) +
                a.counted(sdk::PolicyCounter::nack_sent),
            1);
  // Every prober got its nacks: the failure is d's, not ours.
  for (Node* n : {&a, &b, &c}) EXPECT_EQ(n->health_score, 0u) << n->uuid();
}

TEST_F(SwimDetectorTest, AKilledMemberIsSuspectedThenDeclaredDeadEverywhere) {
  Node& a = net.add("a");
  Node& b = net.add("b");
  Node& c = net.add("c");
  Node& d = net.add("d");
  net.start_all();
  net.loop.advance(2000ms);
  d.down = true;
  const auto killed = net.loop.now();
  Clock::time_point all_dead{};
  for (int i = 0; i < 200 && all_dead == Clock::time_point{}; ++i) {
    net.loop.advance(50ms);
    if (!a.members.count("d@h") && !b.members.count("d@h") && !c.members.count("d@h")) all_dead = net.loop.now();
  }
  ASSERT_NE(all_dead, Clock::time_point{}) << "d was not declared dead everywhere within 10 s";
  const auto took = std::chrono::duration_cast<Millis>(all_dead - killed);
  std::cout << "[ timing   ] every member declared d dead " << took.count() << " ms after it died\n";
  // n = 4: min 2 s, max 8 s, k = 2; the probers suspect it within ~2 s and confirm each other.
  EXPECT_LE(took, 4500ms);
  EXPECT_GE(took, 2000ms) << "not before the least suspicion timeout";
  int suspicions = 0, confirmations = 0;
  for (Node* n : {&a, &b, &c}) {
    suspicions += n->counted(sdk::PolicyCounter::suspicion);
    confirmations += n->counted(sdk::PolicyCounter::confirmation);
    EXPECT_EQ(n->declared_count("dead d@h swim: "), 1) << n->uuid();
    EXPECT_FALSE(n->det->state_of("d@h"));
    EXPECT_EQ(n->ttl->calls.back(), "start") << "ttl never saw d";
  }
  EXPECT_GE(suspicions, 1);
  EXPECT_EQ(confirmations, 3);
  // Nobody else was touched.
  for (Node* n : {&a, &b, &c})
    for (Node* m : {&a, &b, &c})
      if (n != m) {
        EXPECT_EQ(n->det->state_of(m->uuid()), swim::SwimDetector::State::alive);
      }
}

TEST_F(SwimDetectorTest, APausedMemberRefutesAndIsNotLost) {
  // suspicion_mult 6 at n = 4: k = 0, every suspicion lasts 3 s; d pauses 2 s.
  swim::Params p = swim::default_params();
  p.suspicion_mult = 6;
  Node& a = net.add("a", p);
  Node& b = net.add("b", p);
  Node& c = net.add("c", p);
  Node& d = net.add("d", p);
  net.start_all();
  net.loop.advance(2000ms);
  d.paused = true;
  net.loop.advance(2000ms);
  int suspicions = 0;
  for (Node* n : {&a, &b, &c}) suspicions += n->counted(sdk::PolicyCounter::suspicion);
  EXPECT_GE(suspicions, 1) << "nobody suspected the paused member";
  net.resume(d);
  net.loop.advance(5000ms);
  EXPECT_GE(d.counted(sdk::PolicyCounter::refutation), 1);
  EXPECT_GE(d.det->incarnation(), 1u);
  for (Node* n : {&a, &b, &c}) {
    EXPECT_TRUE(n->members.count("d@h")) << n->uuid() << " lost d";
    EXPECT_EQ(n->det->state_of("d@h"), swim::SwimDetector::State::alive) << n->uuid();
    EXPECT_EQ(n->det->incarnation_of("d@h"), d.det->incarnation()) << n->uuid();
    EXPECT_EQ(n->declared_count("dead "), 0);
    if (n->counted(sdk::PolicyCounter::suspicion) > 0) {
      EXPECT_EQ(n->declared_count("alive d@h swim: refuted, incarnation "), 1) << n->uuid();
    }
  }
}

TEST_F(SwimDetectorTest, SuspectAndDeadAboutUsAreRefuted) {
  Node& a = net.add("a");
  Node& b = net.add("b");
  net.start_all();
  auto gossip = [&](std::vector<Update> ups, std::uint64_t sender_inc = 0) {
    Payload p = b.packet(PayloadType::detector);
    p.op = "gossip";
    p.raw = swim::encode_raw(Message{Op::gossip, 0, "", sender_inc, std::move(ups)});
    a.det->message(a.members["b@h"], p);
  };
  gossip({{Kind::suspect, "a@h", 0, "b@h"}});
  EXPECT_EQ(a.det->incarnation(), 1u);
  EXPECT_EQ(a.counted(sdk::PolicyCounter::refutation), 1);
  EXPECT_EQ(a.health_score, 1u) << "having to refute costs local health";
  gossip({{Kind::suspect, "a@h", 0, "b@h"}});
  EXPECT_EQ(a.det->incarnation(), 1u) << "an accusation older than our incarnation is ignored";
  gossip({{Kind::dead, "a@h", 5, "b@h"}});
  EXPECT_EQ(a.det->incarnation(), 6u) << "above the accusation";
  EXPECT_EQ(a.counted(sdk::PolicyCounter::refutation), 2);
  EXPECT_TRUE(a.declared.empty());
  // The refutation goes out: b learns incarnation 6 from the next message.
  net.loop.advance(1000ms);
  EXPECT_EQ(b.det->incarnation_of("a@h"), 6u);
  EXPECT_EQ(b.det->state_of("a@h"), swim::SwimDetector::State::alive);
}

TEST_F(SwimDetectorTest, IncarnationRulesForGossipAboutOthers) {
  Node& a = net.add("a");
  Node& b = net.add("b");
  Node& c = net.add("c");
  net.start_all();
  b.down = c.down = true;  // only the test talks to a
  auto gossip = [&](std::vector<Update> ups, std::uint64_t sender_inc = 0) {
    Payload p = b.packet(PayloadType::detector);
    p.op = "gossip";
    p.raw = swim::encode_raw(Message{Op::gossip, 0, "", sender_inc, std::move(ups)});
    a.det->message(a.members["b@h"], p);
  };
  using State = swim::SwimDetector::State;
  gossip({{Kind::alive, "c@h", 3, "c@h"}});
  EXPECT_EQ(a.det->incarnation_of("c@h"), 3u);
  gossip({{Kind::suspect, "c@h", 2, "b@h"}});
  EXPECT_EQ(a.det->state_of("c@h"), State::alive) << "older than known: ignored";
  gossip({{Kind::suspect, "c@h", 3, "b@h"}});
  EXPECT_EQ(a.det->state_of("c@h"), State::suspect);
  EXPECT_EQ(a.counted(sdk::PolicyCounter::suspicion), 1);
  EXPECT_EQ(a.declared_count("suspect c@h swim: suspected by b@h"), 1);
  gossip({{Kind::alive, "c@h", 3, "c@h"}});
  EXPECT_EQ(a.det->state_of("c@h"), State::suspect) << "alive at the same incarnation does not clear";
  gossip({{Kind::alive, "c@h", 4, "c@h"}});
  EXPECT_EQ(a.det->state_of("c@h"), State::alive);
  EXPECT_EQ(a.declared_count("alive c@h swim: refuted, incarnation 4"), 1);
  gossip({{Kind::dead, "c@h", 3, "b@h"}});
  EXPECT_TRUE(a.members.count("c@h")) << "an old dead is ignored";
  // Unknown members: ignored (admission is the discoveries' job).
  gossip({{Kind::dead, "zz@h", 9, "b@h"}, {Kind::suspect, "yy@h", 9, "b@h"}});
  EXPECT_EQ(a.declared.size(), 2u);
  // The sender's own incarnation in the header: a higher one is its refutation. (The suspicion
  // comes from c: one about b from b itself would be forged, and is ignored.)
  {
    Payload p = c.packet(PayloadType::detector);
    p.op = "gossip";
    p.raw = swim::encode_raw(Message{Op::gossip, 0, "", 0, {{Kind::suspect, "b@h", 0, "c@h"}}});
    a.det->message(a.members["c@h"], p);
  }
  EXPECT_EQ(a.det->state_of("b@h"), State::suspect);
  gossip({}, 2);
  EXPECT_EQ(a.det->state_of("b@h"), State::alive);
  EXPECT_EQ(a.det->incarnation_of("b@h"), 2u);
  gossip({{Kind::dead, "c@h", 4, "b@h"}});
  EXPECT_FALSE(a.members.count("c@h"));
  EXPECT_EQ(a.declared_count("dead c@h swim: declared dead by b@h"), 1);
  EXPECT_EQ(a.counted(sdk::PolicyCounter::confirmation), 1);
  // c comes back (re-admitted by its packets): the dead about it still circulating is stale.
  a.admit(c.info());
  EXPECT_EQ(a.det->incarnation_of("c@h"), 4u);
  gossip({{Kind::dead, "c@h", 4, "b@h"}, {Kind::suspect, "c@h", 4, "b@h"}});
  EXPECT_TRUE(a.members.count("c@h"));
  EXPECT_EQ(a.det->state_of("c@h"), State::alive);
  // Our own probes are fresh evidence, grace or not (c is down).
  net.loop.advance(2000ms);
  EXPECT_EQ(a.declared_count("suspect c@h swim: no ack"), 1);
}

// A member never reports its own suspicion or death (it refutes instead): such an update from
// its own uuid is forged, and is ignored rather than acted on.
TEST_F(SwimDetectorTest, ASenderAccusingItselfIsIgnored) {
  Node& a = net.add("a");
  Node& b = net.add("b");
  net.add("c");
  net.start_all();
  Payload p = b.packet(PayloadType::detector);
  p.op = "gossip";
  p.raw = swim::encode_raw(Message{Op::gossip, 0, "", 0, {{Kind::dead, "b@h", 0, "b@h"}, {Kind::suspect, "b@h", 0, "c@h"}}});
  a.det->message(a.members["b@h"], p);
  EXPECT_EQ(a.det->state_of("b@h"), swim::SwimDetector::State::alive);
  EXPECT_TRUE(a.members.count("b@h"));
}

// A member probed over a protocol its own [swim] protocol does not list answers over any direct
// protocol both run: an unanswered probe would make the prober suspect it again and again.
TEST_F(SwimDetectorTest, AProbeIsAnsweredOverAnySharedProtocol) {
  swim::Params only_t = swim::default_params();
  only_t.protocols = {"t"};
  swim::Params only_d = swim::default_params();
  only_d.protocols = {"d"};
  Node& a = net.add("a", only_t, {"t"});
  Node& b = net.add("b", only_d, {"t", "d"});
  net.start_all();
  net.loop.advance(3000ms);
  EXPECT_EQ(a.det->protocol_of("b@h"), "t");
  EXPECT_EQ(b.det->protocol_of("a@h"), "") << "b cannot probe a (no d there): ttl judges it";
  EXPECT_GT(a.counted(sdk::PolicyCounter::probe_sent), 0);
  EXPECT_EQ(a.counted(sdk::PolicyCounter::suspicion), 0) << "b left a's probes unanswered";
  EXPECT_EQ(a.det->state_of("b@h"), swim::SwimDetector::State::alive);
}

TEST_F(SwimDetectorTest, MalformedMessagesAreIgnored) {
  Node& a = net.add("a");
  Node& b = net.add("b");
  net.start_all();
  const std::vector<std::pair<std::string, std::string>> junk = {
      {"ping", "1 1 a@h"}, {"ack", "{"}, {"nack", std::string(100000, '{')}, {"?", "1 1 a@h 0 {}"},
      {"gossip", "1 0 {} 0 {{d a@h}}"}, {"ping", "1 1 b@h 0 {}"} /* not us */, {"ack", "1 77 a@h 0 {}"} /* late */};
  const auto sent = a.sent.size();
  for (const auto& [op, raw] : junk) {
    Payload p = b.packet(PayloadType::detector);
    p.op = op;
    p.raw = raw;
    a.det->message(a.members["b@h"], p);
  }
  a.det->message(a.members["b@h"], Payload{});
  EXPECT_EQ(a.sent.size(), sent) << "nothing answered";
  EXPECT_TRUE(a.declared.empty());
  EXPECT_EQ(a.det->incarnation(), 0u);
  const auto debug_lines = std::count_if(a.logs.begin(), a.logs.end(), [](const std::string& l) {
    return l.find("malformed") != std::string::npos;
  });
  EXPECT_EQ(debug_lines, 1) << "logged at most once a second";
}

TEST_F(SwimDetectorTest, PacketsStayWithinTheBudgetAndTheBuddyGoesFirst) {
  Node& a = net.add("a");
  ASSERT_TRUE(a.det->start());
  // 60 members with long uuids, all suspected by gossip: far more updates than one packet holds.
  ServiceInfo from = a.info();
  for (int i = 0; i < 60; ++i) {
    ServiceInfo m = a.info();
    m.sid = "member-with-a-rather-long-service-id-" + std::to_string(i);
    m.uuid = m.sid + "@h";
    a.admit(m);
  }
  ServiceInfo messenger = a.info();  // gossip about others comes from a member not in it
  messenger.sid = "messenger";
  messenger.uuid = "messenger@h";
  a.admit(messenger);
  const std::string sender = "member-with-a-rather-long-service-id-0@h";
  std::vector<Update> ups{{Kind::suspect, sender, 0, "member-with-a-rather-long-service-id-1@h"}};
  for (int i = 1; i < 60; ++i)
    ups.push_back({Kind::suspect, "member-with-a-rather-long-service-id-" + std::to_string(i) + "@h", 0, sender});
  Payload g = a.packet(PayloadType::detector);
  g.op = "gossip";
  g.raw = swim::encode_raw(Message{Op::gossip, 0, "", 0, ups});
  a.det->message(a.members["messenger@h"], g);
  EXPECT_EQ(a.counted(sdk::PolicyCounter::suspicion), 60);
  net.loop.advance(600ms);  // a probe round and gossip
  ASSERT_FALSE(a.sent.empty());
  bool saw_ping = false;
  for (auto [to, p] : a.sent) {
    p.filter = std::vector<std::string>{to.substr(0, to.find('@'))};  // as the core sets it
    std::string bytes;
    cluster::bpacket::encode_payload(p, bytes);
    EXPECT_LE(bytes.size(), swim::kPacketBudget - swim::kHookReserve) << *p.op;
    EXPECT_LE(p.raw->size(), a.det->raw_budget());
    const auto m = swim::decode(*p.op, *p.raw);
    ASSERT_TRUE(m);
    if (m->op == Op::ping) {
      saw_ping = true;
      ASSERT_FALSE(m->updates.empty());
      EXPECT_EQ(m->updates[0].kind, Kind::suspect) << "buddy system: the suspicion goes to the suspect first";
      EXPECT_EQ(m->updates[0].uuid, to);
      EXPECT_GT(m->updates.size(), 3u) << "and the queue fills the rest";
    }
  }
  EXPECT_TRUE(saw_ping);
}

TEST_F(SwimDetectorTest, LocalHealthRisesWhenRelaysStaySilent) {
  // We cannot hear anyone (our inbound is cut): every probe fails without nacks.
  Node& a = net.add("a");
  Node& b = net.add("b");
  Node& c = net.add("c");
  net.start_all();
  net.cut.insert({"b", "a"});
  net.cut.insert({"c", "a"});
  net.loop.advance(3000ms);
  EXPECT_GE(a.health_score, 2u);
  EXPECT_LE(a.health_score, 3u) << "awareness_max 4";
  EXPECT_TRUE(std::any_of(a.logs.begin(), a.logs.end(), [](const std::string& l) {
    return l.find("swim: local health score") != std::string::npos;
  }));
  EXPECT_EQ(b.health_score, 0u);
  EXPECT_EQ(c.health_score, 0u);
}

}  // namespace
