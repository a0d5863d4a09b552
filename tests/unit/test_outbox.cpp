// What leaving, queries and stream limits do while a packet is being handled (the outbox:
// docs/architecture.md). Several of these crashed or read freed memory (the ASan build runs them).
#include <gtest/gtest.h>

#include <algorithm>

#include "cluster/sdk/discovery.hpp"
#include "membership_fixture.hpp"

namespace cluster::test {
namespace {

// A hook that calls leave() while a packet is handled: the goodbye must not wait in the outbox
// that leaving clears.
TEST_F(Membership, LeaveFromAHookInsideAReceiveStillSaysGoodbye) {
  Options slow = fast();
  slow.ttl = 10s;
  auto a = member(slow, "127.0.0.1");
  auto b = member(slow, "127.0.0.2");
  ASSERT_TRUE(run_until([&] { return knows(*a, *b) && knows(*b, *a); }));
  std::string reason;
  a->hook(HookPoint::service_lost, "why", [&](HookContext& ctx) { reason = ctx.reason; return Verdict::pass; });
  b->hook(HookPoint::event, "bye", [&](HookContext& ctx) {
    if (*ctx.payload->data == "bye") b->leave();
    return Verdict::pass;
  });
  a->send(a->resolve({b->sid()}), "bye");
  run_until([&] { return !knows(*a, *b); }, 1500ms);
  EXPECT_FALSE(knows(*a, *b)) << "b left from a hook, but a never heard a disconnect";
}

// A query started after leave() ends at once with error answers, and arms no timer.
TEST_F(Membership, AQueryAfterLeaveEndsAtOnceWithErrors) {
  auto a = member(fast(), "127.0.0.1");
  auto b = member(fast(), "127.0.0.2");
  ASSERT_TRUE(run_until([&] { return knows(*a, *b); }));
  a->leave();
  QueryOptions q;
  q.resolve = {b->sid()};
  q.query = "x";
  q.timeout = 300ms;
  auto qp = a->query(q);
  EXPECT_TRUE(qp->done()) << "a query after leave() waits for its timeout";
  EXPECT_FALSE(qp->timed_out());
  EXPECT_EQ(qp->payloads(), std::vector<std::string>{"left the cluster"});
  a.reset();  // no query timer may outlive the cluster (ASan: use after free)
  run_until([] { return false; }, 500ms);
}

// Cluster::heartbeat() and discover() from `prepare`, before the discovery exists.
TEST_F(Membership, HeartbeatAndDiscoverFromPrepareAreHarmless) {
  auto a = Cluster::join(fast(), net.plugins_for("127.0.0.1"), loop, [](Cluster& c) {
    c.heartbeat(true);  // before the discovery exists (this crashed)
    c.discover();
  });
  EXPECT_FALSE(a->sid().empty());
}

// A stream over max_buffered is closed after the protocol's received(), not inside it.
TEST_F(Membership, AnOverBudgetCloseWaitsUntilTheReceiveIsOver) {
  Options o = fast();
  o.max_packet = 4096;
  o.max_buffered = 16;
  auto a = member(o, "127.0.0.1");
  run_until([] { return false; }, 50ms);
  auto* t = proto_of("127.0.0.1", "t");
  ASSERT_NE(t, nullptr);
  std::string partial;
  partial.push_back(static_cast<char>(0xC0));
  partial.push_back(static_cast<char>(0x8D));
  partial.push_back(static_cast<char>(0x90));  // varint 400 = 0x90 0x03
  partial.push_back(static_cast<char>(0x03));
  partial.append(100, 'x');
  net.reentries.clear();
  t->deliver(partial, "127.0.0.9", 4242);
  std::string r;
  for (auto& s : net.reentries) r += s + " ";
  EXPECT_TRUE(net.reentries.empty()) << r;
}

// A service validate hook leaves while a query packet is handled: nothing (bind, the query
// answer) may be armed after leave(), or it would outlive the cluster.
TEST_F(Membership, NothingIsArmedAfterALeaveFromAHook) {
  Options slow = fast();
  slow.ttl = 10s;
  auto a = member(slow, "127.0.0.1");
  // b's discovery: the beacon, except that stop() says no goodbye (a plugin may do so).
  struct Quiet final : sdk::Discovery {
    explicit Quiet(sdk::DiscoveryHost& h) : host(h) {}
    sdk::DiscoveryHost& host;
    sdk::Result start() noexcept override { Payload p = host.packet(PayloadType::discovery, sdk::Record::full); host.multicast(p); return sdk::Result::success(); }
    void announce(sdk::Record) noexcept override {}
    void probe() noexcept override {}
    void newcomer(const ServiceInfo& m) noexcept override { Payload p = host.packet(PayloadType::heartbeat, sdk::Record::full); host.send(m.uuid, p); }
    void asked(const ServiceInfo&) noexcept override {}
    void missing_record(const ServiceInfo&, bool) noexcept override {}
    void stop() noexcept override {}
  };
  auto pm = net.plugins_for("127.0.0.2");
  pm->add_discovery("quiet", [](sdk::DiscoveryHost& h) { return std::make_unique<Quiet>(h); });
  Options qo = slow;
  qo.discovery = "quiet";
  auto b = Cluster::join(qo, pm, loop);
  ASSERT_TRUE(run_until([&] { return knows(*a, *b) && knows(*b, *a); }));
  run_until([] { return false; }, 200ms);  // let every outbox drain
  bool left = false;
  b->hook(HookPoint::service_validate, "leave", [&](HookContext& ctx) {
    if (ctx.payload && ctx.payload->ruid.has() && !left) { left = true; b->leave(); }
    return Verdict::pass;
  });
  QueryOptions q;
  q.resolve = {b->sid()};
  q.query = "x";
  q.timeout = 300ms;
  a->query(q);
  ASSERT_TRUE(run_until([&] { return left; }));
  b.reset();  // a zero-delay timer armed after leave() would call into the freed member (ASan)
  run_until([] { return false; }, 500ms);
  EXPECT_TRUE(left);
}

// A second query with the id of a running one ends the first (through the map entry it erases).
TEST_F(Membership, ASecondQueryWithARunningIdWhoseHandleWasDropped) {
  auto a = member(fast(), "127.0.0.1");
  auto b = member(fast(), "127.0.0.2");
  ASSERT_TRUE(run_until([&] { return knows(*a, *b); }));
  QueryOptions q;
  q.id = "fixed";
  q.resolve = {b->sid()};
  q.query = "x";
  q.timeout = 2s;
  a->query(q);  // handle dropped: only the map holds it (ending it read freed memory)
  auto second = a->query(q);
  ASSERT_TRUE(run_until([&] { return second->done(); }));
  EXPECT_FALSE(second->timed_out());
}

// leave() ends a query in flight, whose only owner is the running-queries map.
TEST_F(Membership, LeaveEndsAQueryInFlightWhoseHandleWasDropped) {
  auto a = member(fast(), "127.0.0.1");
  auto b = member(fast(), "127.0.0.2");
  ASSERT_TRUE(run_until([&] { return knows(*a, *b); }));
  QueryOptions q;
  q.resolve = {b->sid()};
  q.query = "x";
  q.timeout = 2s;
  bool done = false;
  q.command = [&](QueryEvent e, Query&) { done = done || e == QueryEvent::done; };
  a->query(q);  // handle dropped: only the map holds it
  a->leave();
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace cluster::test
