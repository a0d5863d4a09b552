// Host-application pitfalls: handles that outlive their Cluster or its membership, waiting on
// the loop thread, hooks from other threads, duplicate hook names.
#include <gtest/gtest.h>

#include <future>
#include <stdexcept>
#include <thread>

#include "memory_cluster.hpp"

using namespace cluster;
using namespace std::chrono_literals;

namespace {

class Handles : public test::MemoryClusterTest {
 protected:
  // a sees b (tags worker) as `seen`.
  void pair() {
    a = member(fast({"asker"}));
    b = member(fast({"worker"}));
    ASSERT_TRUE(run_until([&] { return a->resolve({"worker"}).size() == 1 && b->known_services() == 1; }));
    seen = a->resolve({"worker"}).front();
    ASSERT_TRUE(run_until([&] { return !seen->proto_props("t").empty(); }));
  }
  std::unique_ptr<Cluster> a, b;
  ServicePtr seen;
};

}  // namespace

TEST_F(Handles, ServiceOutlivesItsCluster) {
  pair();
  const std::string uuid = b->uuid();
  const std::string props = seen->props();
  a.reset();
  EXPECT_FALSE(seen->alive());
  const ServiceInfo last = seen->info();
  EXPECT_EQ(last.uuid, uuid);
  EXPECT_EQ(last.tags, std::vector<std::string>{"worker"}) << "the last state known";
  EXPECT_EQ(seen->props(), props);
  const sdk::Result sent = seen->send("hello");
  EXPECT_FALSE(sent);
  EXPECT_EQ(sent.message(), "service " + uuid + ": the cluster is gone (destroyed)");

  std::vector<std::string> events;
  QueryOptions o;
  o.command = [&](QueryEvent e, Query& q) {
    events.push_back(std::string(query_event_name(e)) + (e == QueryEvent::error ? " " + q.error() : ""));
  };
  o.collect = true;
  QueryPtr q = seen->query("x", o);
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->done());
  EXPECT_TRUE(q->wait(0ms));
  EXPECT_EQ(events, (std::vector<std::string>{"start", "error the cluster is gone (destroyed)", "done"}));
  ASSERT_EQ(q->results().count(uuid), 1u);
  EXPECT_TRUE(q->results().at(uuid).error);
}

TEST_F(Handles, NotAliveAfterLeave) {
  pair();
  EXPECT_TRUE(seen->alive());
  a->leave();
  EXPECT_FALSE(seen->alive());
  const sdk::Result sent = seen->send("hello");
  EXPECT_FALSE(sent);
  EXPECT_EQ(sent.message(), "service " + b->uuid() + ": the cluster has left");
  EXPECT_EQ(seen->info().tags, std::vector<std::string>{"worker"});
}

TEST_F(Handles, LostMemberKeepsItsLastState) {
  pair();
  // A change the handle itself never looked at: its last state comes from the cluster.
  b->tags_replace({"worker", "v2"});
  ASSERT_TRUE(run_until([&] { return a->resolve({"v2"}).size() == 1; }));
  b->leave();
  ASSERT_TRUE(run_until([&] { return a->known_services() == 0; }));
  EXPECT_FALSE(seen->alive());
  const ServiceInfo last = seen->info();
  EXPECT_EQ(last.tags, (std::vector<std::string>{"worker", "v2"}));
  EXPECT_EQ(last.protocols, b->config().protocols);
  EXPECT_FALSE(seen->send("x"));
}

TEST_F(Handles, WaitOnTheLoopThreadThrowsAtOnce) {
  pair();
  QueryOptions o;
  o.resolve = {"worker"};
  o.timeout = 2s;
  QueryPtr q = a->query(o);  // this thread runs the loop
  const auto t0 = std::chrono::steady_clock::now();
  try {
    q->wait(2s);
    ADD_FAILURE() << "wait() on the loop thread returned";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("Query::wait() called on the cluster's loop thread"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
  // Also from inside a hook (the loop thread of a cluster that runs on another thread is the
  // same case; here the callback of the query itself).
  bool threw = false;
  o.command = [&](QueryEvent e, Query& running) {
    if (e != QueryEvent::start) return;
    try {
      running.wait(1s);
    } catch (const std::logic_error&) {
      threw = true;
    }
  };
  a->query(o);
  EXPECT_TRUE(threw);
}

TEST_F(Handles, HooksFromAnotherThreadRunOnTheLoop) {
  pair();
  test::LoopThread runner(loop);
  // Keep the loop busy: a registry call that runs on it must wait for this.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  loop.post([released] { released.wait_for(5s); });
  auto added = std::async(std::launch::async, [&] {
    return a->hooks().add(HookPoint::event, "from.other.thread", [](HookContext&) { return Verdict::pass; });
  });
  EXPECT_EQ(added.wait_for(200ms), std::future_status::timeout) << "hooks().add ran off the loop thread";
  release.set_value();
  ASSERT_EQ(added.wait_for(5s), std::future_status::ready);
  const HookId id = added.get();
  EXPECT_NE(id, 0u);
  EXPECT_TRUE(a->hooks().remove(id));
  EXPECT_FALSE(a->hooks().remove(id));
  runner.stop();
}

TEST_F(Handles, DuplicateHookNameFailsLoudly) {
  std::vector<std::string> errors;
  a = member(fast({}, [&](sdk::LogLevel level, std::string_view m) {
    if (level == sdk::LogLevel::error) errors.emplace_back(m);
  }));
  EXPECT_NE(a->hook(HookPoint::event, "once", [](HookContext&) { return Verdict::pass; }), 0u);
  try {
    a->hook(HookPoint::query, "once", [](HookContext&) { return Verdict::pass; });
    ADD_FAILURE() << "a duplicate hook name was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "hook name 'once' is taken: hook names are unique per cluster");
  }
  EXPECT_THROW(a->hook(HookPoint::query, "empty", HookFn{}), std::invalid_argument);
  // The registry interface is noexcept (plugins use it): 0, and an error in the log.
  EXPECT_EQ(a->hooks().add(HookPoint::query, "once", [](HookContext&) { return Verdict::pass; }), 0u);
  EXPECT_EQ(errors, std::vector<std::string>{"hook 'once' not added: the name is taken (names are unique per cluster)"});
}
