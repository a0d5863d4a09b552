// Queries and hooks on the in-memory network (PROTOCOL.md section 8, the seed's Hooks).
#include <gtest/gtest.h>

#include <future>
#include <set>
#include <thread>

#include "memory_cluster.hpp"

using namespace cluster;
using namespace std::chrono_literals;

namespace {

class Queries : public test::MemoryClusterTest {
 protected:
  // Three members; a asks, b and c answer.
  void trio() {
    a = member(fast({"asker"}));
    b = member(fast({"worker"}));
    c = member(fast({"worker"}));
    ASSERT_TRUE(run_until([&] { return a->known_services() == 2 && b->known_services() == 2 && c->known_services() == 2; }));
    answer_with(*b, "b");
    answer_with(*c, "c");
  }
  std::unique_ptr<Cluster> a, b, c;
};

}  // namespace

TEST_F(Queries, LifecycleEventsInOrderAndCollectedResults) {
  trio();
  std::vector<std::string> events;
  QueryOptions o;
  o.resolve = {"worker"};
  o.query = "version";
  o.collect = true;
  o.command = [&](QueryEvent e, Query& q) {
    events.push_back(std::string(query_event_name(e)));
    if (e == QueryEvent::response) {
      EXPECT_EQ(q.result(), (q.service()->sid() == b->sid() ? "b:" : "c:") + std::string("version"));
    }
  };
  auto q = a->query(o);
  ASSERT_TRUE(run_until([&] { return q->done(); }));
  EXPECT_EQ(events, (std::vector<std::string>{"start", "response", "response", "done"}));
  EXPECT_FALSE(q->timed_out());
  EXPECT_EQ(q->remaining(), 0u);
  auto results = q->results();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[b->uuid()].data, "b:version");
  EXPECT_EQ(results[c->uuid()].data, "c:version");
  EXPECT_EQ(q->payloads().size(), 2u);
}

TEST_F(Queries, ResultsAreOnlyKeptWithCollect) {
  trio();
  QueryOptions o;
  o.resolve = {"worker"};
  o.query = "x";
  auto q = a->query(o);
  ASSERT_TRUE(run_until([&] { return q->done(); }));
  EXPECT_TRUE(q->results().empty());
  EXPECT_EQ(q->payloads().size(), 2u);
}

TEST_F(Queries, TimeoutFiresThenDoneAndLateAnswersAreIgnored) {
  trio();
  net.muted.insert("127.0.0.9");
  auto d = member(fast({"worker"}), "127.0.0.9");  // a worker whose packets never arrive...
  net.muted.erase("127.0.0.9");
  // a missed d's first heartbeat; a periodic one makes it ask d alone for its tags.
  ASSERT_TRUE(run_until([&] { return a->resolve({"worker"}).size() == 3; }));
  answer_with(*d, "d");
  const HookId slow = d->hook(HookPoint::evaluate_send, "slow", [&](HookContext& ctx) {  // ...for its responses
    return ctx.payload->is(PayloadType::response) ? Verdict::drop : Verdict::pass;
  });
  std::vector<std::string> events;
  QueryOptions o;
  o.resolve = {"worker"};
  o.query = "q";
  o.timeout = 300ms;
  o.command = [&](QueryEvent e, Query&) { events.push_back(std::string(query_event_name(e))); };
  const auto t0 = std::chrono::steady_clock::now();
  auto q = a->query(o);
  ASSERT_TRUE(run_until([&] { return q->done(); }));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 290ms);
  EXPECT_EQ(events, (std::vector<std::string>{"start", "response", "response", "timeout", "done"}));
  EXPECT_TRUE(q->timed_out());
  EXPECT_EQ(q->remaining(), 1u);
  // The slow answer arrives after the timeout: ignored, no event.
  d->hooks().remove(slow);
  d.reset();
  run_until([] { return false; }, 100ms);
  EXPECT_EQ(events.size(), 5u);
}

TEST_F(Queries, DoneAsSoonAsEveryTargetAnsweredNotAtTimeout) {
  trio();
  QueryOptions o;
  o.resolve = {"worker"};
  o.query = "fast";
  o.timeout = 10s;
  const auto t0 = std::chrono::steady_clock::now();
  auto q = a->query(o);
  ASSERT_TRUE(run_until([&] { return q->done(); }));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
}

TEST_F(Queries, ErrorsAndVetoesBecomeErrorAnswers) {
  a = member(fast({"asker"}));
  b = member(fast({"thrower"}));
  c = member(fast({"refuser"}));
  auto d = member(fast({"silent"}));  // no query hook at all
  ASSERT_TRUE(run_until([&] { return a->known_services() == 3; }));
  b->hook(HookPoint::query, "t", [](HookContext&) -> Verdict { throw std::runtime_error("invalid command name \"foo\""); });
  c->hook(HookPoint::query, "r", [](HookContext& ctx) {
    if (!ctx.local) return Verdict::pass;
    ctx.reason = "Only Remote can Query";
    return Verdict::drop;
  });
  QueryOptions o;
  o.resolve = {"thrower", "refuser", "silent"};
  o.query = "foo";
  o.collect = true;
  std::vector<std::string> kinds;
  o.command = [&](QueryEvent e, Query& q) {
    if (e == QueryEvent::error) kinds.push_back(q.error());
  };
  auto q = a->query(o);
  run_until([&] { return q->done(); });
  for (auto& [k, v] : q->results()) fprintf(stderr, "DBG %s %d %s\n", k.c_str(), v.error, v.data.c_str());
  fprintf(stderr, "DBG b=%s c=%s d=%s\n", b->uuid().c_str(), c->uuid().c_str(), d->uuid().c_str());
  auto r = q->results();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_TRUE(r[b->uuid()].error);
  EXPECT_NE(r[b->uuid()].data.find("invalid command name \"foo\""), std::string::npos);
  EXPECT_EQ(r[c->uuid()].data, "Only Remote can Query");
  EXPECT_EQ(r[d->uuid()].data, "no query handler");
  EXPECT_EQ(kinds.size(), 3u);
}

TEST_F(Queries, ReusingARunningIdEndsTheOldQuery) {
  trio();
  b->hook(HookPoint::evaluate_send, "hold", [](HookContext& ctx) {
    return ctx.payload->is(PayloadType::response) ? Verdict::drop : Verdict::pass;
  });
  QueryOptions o;
  o.id = "same";
  o.resolve = {b->sid()};
  o.query = "first";
  auto first = a->query(o);
  EXPECT_FALSE(first->done());
  o.resolve = {c->sid()};
  o.query = "second";
  auto second = a->query(o);
  EXPECT_TRUE(first->done());
  EXPECT_FALSE(first->timed_out());
  ASSERT_TRUE(run_until([&] { return second->done(); }));
  EXPECT_EQ(second->payloads(), std::vector<std::string>{"c:second"});
}

TEST_F(Queries, GeneratedIdsAreUnique) {
  trio();
  QueryOptions o;
  o.resolve = {"worker"};
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) ids.insert(a->query(o)->id());
  EXPECT_EQ(ids.size(), 50u);
  run_until([&] { return false; }, 50ms);
}

TEST_F(Queries, BroadcastQueryIsOneMulticast) {
  trio();
  QueryOptions o;
  o.resolve = {"worker"};
  o.query = "all";
  o.broadcast = true;
  const int directs = net.directs, multicasts = net.multicasts;
  auto q = a->query(o);
  EXPECT_EQ(net.multicasts, multicasts + 1);
  EXPECT_EQ(net.directs, directs);
  ASSERT_TRUE(run_until([&] { return q->done(); }));
  EXPECT_EQ(q->payloads().size(), 2u);
}

TEST_F(Queries, DirectQueriesNeverUseMulticast) {
  trio();
  std::string proto;
  b->hook(HookPoint::query, "proto", [&](HookContext& ctx) { return (proto = std::string(ctx.protocol)), Verdict::pass; }, -1);
  auto q = a->resolve({b->sid()})[0]->query("x", QueryOptions{});
  ASSERT_TRUE(run_until([&] { return q->done(); }));
  EXPECT_EQ(proto, "t");
  EXPECT_EQ(q->payloads(), std::vector<std::string>{"b:x"});
}

TEST_F(Queries, EmptyResolutionIsDoneAtOnceAndMissingResolveThrows) {
  trio();
  QueryOptions o;
  o.resolve = {"nobody"};
  std::vector<std::string> events;
  o.command = [&](QueryEvent e, Query&) { events.push_back(std::string(query_event_name(e))); };
  auto q = a->query(o);
  EXPECT_TRUE(q->done());
  EXPECT_EQ(events, (std::vector<std::string>{"start", "done"}));
  EXPECT_THROW(a->query(QueryOptions{}), std::invalid_argument);
}

TEST_F(Queries, WaitBlocksAnotherThreadUntilDone) {
  trio();
  test::LoopThread runner(loop);
  QueryOptions o;
  o.resolve = {"worker"};
  o.query = "blocking";
  auto q = a->query(o);  // from this thread: runs on the loop and returns
  EXPECT_TRUE(q->wait(2s));
  EXPECT_EQ(q->payloads().size(), 2u);
  runner.stop();
}

// ---- hooks: every point, pass / mutate / drop ----

TEST_F(Queries, ReceiveHooksMutateAndDropInOrder) {
  trio();
  std::vector<std::string> order;
  std::string seen;
  b->hook(HookPoint::evaluate_receive, "second", [&](HookContext& ctx) {
    order.push_back("second");
    if (ctx.payload->is(PayloadType::event)) ctx.payload->data = *ctx.payload->data + "+second";
    return Verdict::modified;
  }, 10);
  b->hook(HookPoint::evaluate_receive, "first", [&](HookContext& ctx) {
    order.push_back("first");
    if (ctx.payload->is(PayloadType::event)) ctx.payload->data = *ctx.payload->data + "+first";
    return Verdict::modified;
  }, 1);
  b->hook(HookPoint::channel_receive, "ch5-drop", [](HookContext&) { return Verdict::drop; }, 0, "5");
  b->hook(HookPoint::protocol_receive, "t-tag", [](HookContext& ctx) {
    if (ctx.payload->is(PayloadType::event)) ctx.payload->data = *ctx.payload->data + "+t";
    return Verdict::modified;
  }, 0, "t");
  b->hook(HookPoint::event, "ev", [&](HookContext& ctx) { return (seen = *ctx.payload->data), Verdict::pass; });
  b->subscribe(5);
  auto to_b = a->resolve({b->sid()});
  a->send(to_b, "x");
  ASSERT_TRUE(run_until([&] { return !seen.empty(); }));
  EXPECT_EQ(seen, "x+first+second+t");
  ASSERT_GE(order.size(), 2u);
  EXPECT_EQ(order[order.size() - 2], "first");
  seen.clear();
  SendFlags ch5;
  ch5.channel = 5;
  const auto dropped = b->counters().dropped_hook;
  a->send(to_b, "y", ch5);
  ASSERT_TRUE(run_until([&] { return b->counters().dropped_hook > dropped; }));
  EXPECT_TRUE(seen.empty());
}

TEST_F(Queries, SendHooksMutateAndVeto) {
  trio();
  std::string seen_b, seen_c;
  b->hook(HookPoint::event, "ev", [&](HookContext& ctx) { return (seen_b = *ctx.payload->data), Verdict::pass; });
  c->hook(HookPoint::event, "ev", [&](HookContext& ctx) { return (seen_c = *ctx.payload->data), Verdict::pass; });
  a->hook(HookPoint::evaluate_send, "stamp", [](HookContext& ctx) {
    if (ctx.payload->is(PayloadType::event)) ctx.payload->data = "stamped:" + *ctx.payload->data;
    return Verdict::modified;
  });
  a->hook(HookPoint::protocol_send, "t-only", [&](HookContext& ctx) {
    return ctx.service && ctx.service->sid == c->sid() ? Verdict::drop : Verdict::pass;
  }, 0, "t");
  a->send(a->resolve({b->sid()}), "hi");
  ASSERT_TRUE(run_until([&] { return !seen_b.empty(); }));
  EXPECT_EQ(seen_b, "stamped:hi");
  const auto dropped = a->counters().dropped_hook;
  SendFlags only_t;
  only_t.protocols = {"t"};
  EXPECT_EQ(a->send(a->resolve({c->sid()}), "no", only_t), 0u);
  EXPECT_GT(a->counters().dropped_hook, dropped);
  run_until([] { return false; }, 50ms);
  EXPECT_TRUE(seen_c.empty());
}

TEST_F(Queries, ChannelSendHookIsScoped) {
  trio();
  int ch9 = 0;
  a->hook(HookPoint::channel_send, "count9", [&](HookContext&) { return ++ch9, Verdict::pass; }, 0, "9");
  a->send(a->resolve({b->sid()}), "on 0");
  EXPECT_EQ(ch9, 0);
  SendFlags f;
  f.channel = 9;
  a->send(a->resolve({b->sid()}), "on 9", f);
  EXPECT_EQ(ch9, 1);
}

TEST_F(Queries, BroadcastHookSeesMulticastEvents) {
  trio();
  std::string via;
  b->hook(HookPoint::broadcast, "bc", [&](HookContext& ctx) { return (via = std::string(ctx.protocol)), Verdict::pass; });
  Payload p;
  p.data = "to all";
  a->broadcast(p);
  ASSERT_TRUE(run_until([&] { return !via.empty(); }));
  EXPECT_EQ(via, "c");
}

TEST_F(Queries, ServiceValidateCanIgnoreAKnownMember) {
  trio();
  int events = 0;
  b->hook(HookPoint::event, "ev", [&](HookContext&) { return ++events, Verdict::pass; });
  b->hook(HookPoint::service_validate, "no-a", [&](HookContext& ctx) {
    return ctx.service->sid == a->sid() ? Verdict::drop : Verdict::pass;
  });
  a->send(a->resolve({b->sid()}), "ignored");
  c->send(c->resolve({b->sid()}), "accepted");
  ASSERT_TRUE(run_until([&] { return events == 1; }));
  run_until([] { return false; }, 50ms);
  EXPECT_EQ(events, 1);
}

TEST_F(Queries, DuplicateHookNamesAreRefusedAndHooksCanBeRemoved) {
  trio();
  const HookId id = a->hook(HookPoint::event, "once", [](HookContext&) { return Verdict::pass; });
  EXPECT_NE(id, 0u);
  EXPECT_THROW(a->hook(HookPoint::query, "once", [](HookContext&) { return Verdict::pass; }), std::invalid_argument);
  EXPECT_TRUE(a->hooks().remove(id));
  EXPECT_FALSE(a->hooks().remove(id));
  EXPECT_NE(a->hook(HookPoint::query, "once", [](HookContext&) { return Verdict::pass; }), 0u);
}
