// Cluster::stats() on the in-memory network: traffic per protocol equals what the protocols
// carried, query latency lands in the bucket of its outcome, hook runs are counted exactly and
// their time estimated from a sample.
#include <gtest/gtest.h>

#include <numeric>

#include "cluster/stats.hpp"
#include "memory_cluster.hpp"

using namespace cluster;
using namespace std::chrono_literals;

namespace {

class StatsTest : public test::MemoryClusterTest {
 protected:
  void pair() {
    a = member(fast({"asker"}), "127.0.0.1");
    b = member(fast({"worker"}), "127.0.0.2");
    ASSERT_TRUE(run_until([&] { return a->known_services() == 1 && b->known_services() == 1; }));
  }
  static ProtocolTraffic of(const Cluster& c, const std::string& id) {
    for (const auto& p : c.stats().protocols)
      if (p.protocol == id) return p;
    ADD_FAILURE() << "no protocol " << id;
    return {};
  }
  std::unique_ptr<Cluster> a, b;
};

std::size_t bucket_of(double seconds) {
  const auto& b = LatencyHistogram::kBounds;
  return static_cast<std::size_t>(std::lower_bound(b.begin(), b.end(), seconds) - b.begin());
}

}  // namespace

TEST(LatencyHistogram, BucketsAreLessOrEqualAndTheLastTakesTheRest) {
  LatencyHistogram h;
  h.record(100us);     // exactly the first bound: in it ("le")
  h.record(101us);     // just above: the second
  h.record(3ms);       // (2.5 ms, 5 ms]
  h.record(11s);       // above every bound
  EXPECT_EQ(h.counts[0], 1u);
  EXPECT_EQ(h.counts[1], 1u);
  EXPECT_EQ(h.counts[bucket_of(0.005)], 1u);
  EXPECT_EQ(h.counts.back(), 1u);
  EXPECT_EQ(h.count, 4u);
  EXPECT_NEAR(h.sum_seconds, 11.003201, 1e-9);
}

TEST_F(StatsTest, TrafficPerProtocolIsWhatEachProtocolCarried) {
  std::map<std::string, std::uint64_t> tapped;  // bytes sent, by host
  net.tap = [&](const std::string& from, std::string_view packet) { tapped[from] += packet.size(); };
  pair();
  const auto stats = a->stats();
  ASSERT_EQ(stats.protocols.size(), 2u);  // ours, in priority order
  EXPECT_EQ(stats.protocols[0].protocol, "t");
  EXPECT_EQ(stats.protocols[1].protocol, "c");
  std::uint64_t bytes = 0, packets = 0;
  for (const auto& p : stats.protocols) {
    bytes += p.bytes_sent;
    packets += p.packets_sent;
  }
  EXPECT_EQ(bytes, tapped["127.0.0.1"]);
  EXPECT_EQ(packets, a->counters().sent);
  net.tap = nullptr;  // `tapped` goes before the members' goodbyes

  // Ten 1000-byte events over t: what a counts out, b counts in, to the byte.
  const ProtocolTraffic a0 = of(*a, "t"), b0 = of(*b, "t");
  SendFlags only_t;
  only_t.protocols = {"t"};
  ASSERT_EQ(a->send(a->services(), std::string(1000, 'x'), only_t), 1u);
  for (int i = 0; i < 9; ++i) a->send(a->services(), std::string(1000, 'x'), only_t);
  ASSERT_TRUE(run_until([&] { return of(*b, "t").packets_received - b0.packets_received >= 10; }));
  const ProtocolTraffic a1 = of(*a, "t"), b1 = of(*b, "t");
  EXPECT_EQ(a1.packets_sent - a0.packets_sent, 10u);
  EXPECT_GE(a1.bytes_sent - a0.bytes_sent, 10u * 1000u);
  EXPECT_EQ(b1.packets_received - b0.packets_received, 10u);
  EXPECT_EQ(b1.bytes_received - b0.bytes_received, a1.bytes_sent - a0.bytes_sent);
}

TEST_F(StatsTest, QueryLatencyIsRecordedByOutcome) {
  pair();
  answer_with(*b, "b");
  QueryOptions o;
  o.resolve = {"worker"};
  o.query = "x";
  auto q = a->query(o);
  ASSERT_TRUE(run_until([&] { return q->done(); }));
  Stats s = a->stats();
  EXPECT_EQ(s.queries_completed.count, 1u);
  EXPECT_EQ(std::accumulate(s.queries_completed.counts.begin(), s.queries_completed.counts.end(), 0ull), 1u);
  EXPECT_EQ(s.queries_timed_out.count, 0u);

  // b vetoes its answer: the query waits for its 200 ms timeout.
  b->hook(HookPoint::evaluate_send, "mute", [](HookContext& ctx) {
    return ctx.payload->is(PayloadType::response) ? Verdict::drop : Verdict::pass;
  });
  o.timeout = 200ms;
  q = a->query(o);
  ASSERT_TRUE(run_until([&] { return q->done(); }));
  ASSERT_TRUE(q->timed_out());
  s = a->stats();
  EXPECT_EQ(s.queries_completed.count, 1u);
  ASSERT_EQ(s.queries_timed_out.count, 1u);
  EXPECT_GE(s.queries_timed_out.sum_seconds, 0.2);
  EXPECT_EQ(s.queries_timed_out.counts[bucket_of(0.25)], 1u) << s.queries_timed_out.sum_seconds;
}

TEST_F(StatsTest, HookRunsAreCountedAndTheirTimeEstimated) {
  pair();
  int runs = 0;
  b->hook(HookPoint::evaluate_receive, "slow", [&](HookContext&) {
    ++runs;
    const auto until = std::chrono::steady_clock::now() + 200us;
    while (std::chrono::steady_clock::now() < until) {
    }
    return Verdict::pass;
  });
  ASSERT_TRUE(run_until([&] { return runs >= 1; }));  // a heartbeat: run 0, timed
  const Stats before = b->stats();
  for (int i = 0; i < 70; ++i) a->send(a->services(), "e");
  ASSERT_TRUE(run_until([&] { return runs >= 70; }));
  const Stats s = b->stats();
  ASSERT_EQ(s.hooks.size(), 1u);  // only points whose hooks ran
  EXPECT_GE(s.hooks[0].seconds, before.hooks.empty() ? 0.0 : before.hooks[0].seconds);  // never falls
  EXPECT_EQ(s.hooks[0].point, HookPoint::evaluate_receive);
  EXPECT_EQ(s.hooks[0].runs, static_cast<std::uint64_t>(runs));
  // Three of the runs were timed (0, 32, 64), each at least 200 us and counting for 32 runs.
  EXPECT_GE(s.hooks[0].seconds, 3 * 32 * 200e-6);
  EXPECT_LT(s.hooks[0].seconds, 3 * 32 * 200e-6 * 100);  // not off by a unit (ms, us)
}
