// Cluster::send_async: sends from other threads through the bounded send queue (order per
// thread, back-pressure policies, outcomes, leave and destruction with requests queued).
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/stats.hpp"
#include "memory_cluster.hpp"

using namespace cluster;
using namespace std::chrono_literals;

namespace {

class SendAsync : public test::MemoryClusterTest {
 protected:
  // a sees b as `to`; b records the events it gets.
  void pair(Options ao = fast()) {
    a = member(std::move(ao));
    b = member(fast({"worker"}));
    ASSERT_TRUE(run_until([&] { return a->resolve({"worker"}).size() == 1 && b->known_services() == 1; }));
    to = a->resolve({"worker"}).front();
    ASSERT_TRUE(run_until([&] { return !to->proto_props("t").empty(); }));
    b->hook(HookPoint::event, "record", [this](HookContext& ctx) {
      std::lock_guard<std::mutex> lock(mu);
      got.push_back(ctx.payload->data.value_or(""));
      return Verdict::pass;
    });
  }
  std::size_t received() {
    std::lock_guard<std::mutex> lock(mu);
    return got.size();
  }
  // Keeps the loop (on its own thread) busy until release() or 5 s.
  void pause() {
    loop.post([f = released.get_future().share()] { f.wait_for(5s); });
  }
  void release() { released.set_value(); }
  // Read on the loop thread: from this one, counters() would wait behind the queued sends.
  std::uint64_t paused() {
    std::uint64_t n = 0;
    loop.call([&] { n = a->counters().send_queue_paused; });
    return n;
  }
  static bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds limit = 5000ms) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(1ms);
    return pred();
  }
  static Options limited(std::size_t limit, SendQueueFull policy, std::chrono::milliseconds block = 1000ms) {
    Options o = fast();
    o.send_queue_limit = limit;
    o.send_queue_full = policy;
    o.send_queue_block_ms = block;
    return o;
  }

  std::promise<void> released;
  std::mutex mu;
  std::vector<std::string> got;
  std::unique_ptr<Cluster> a, b;
  ServicePtr to;
};

TEST_F(SendAsync, OnTheLoopThreadItIsSentAtOnce) {
  pair();
  bool ran = false;
  const Queued q = a->send_async(to, "now", {}, [&](const SendOutcome& o) {
    ran = true;
    EXPECT_EQ(o.reached, 1u);
    EXPECT_TRUE(o.result.ok());
  });
  EXPECT_EQ(q, Queued::sent);
  EXPECT_TRUE(ran) << "done did not run before send_async returned";
  EXPECT_TRUE(run_until([&] { return received() == 1; }));
}

TEST_F(SendAsync, EachThreadsSendsArriveInOrder) {
  pair();
  constexpr int kThreads = 4, kEach = 5000;
  test::LoopThread runner(loop);
  std::atomic<int> refused{0};
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t)
    producers.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        if (a->send_async(to, std::to_string(t) + ":" + std::to_string(i)) != Queued::queued) ++refused;
    });
  for (auto& p : producers) p.join();
  EXPECT_EQ(refused.load(), 0);
  ASSERT_TRUE(wait_for([&] { return received() == kThreads * kEach; })) << received();
  runner.stop();
  std::vector<int> next(static_cast<std::size_t>(kThreads), 0);
  for (const auto& s : got) {
    const auto t = static_cast<std::size_t>(std::stoi(s.substr(0, s.find(':'))));
    const int i = std::stoi(s.substr(s.find(':') + 1));
    ASSERT_EQ(i, next[t]) << "thread " << t << " out of order";
    ++next[t];
  }
}

// A blocking call (send, tags_append, ...) from a thread waits behind that thread's earlier
// send_async: more than one drain's batch (1,024) is queued while the loop is held, so a call
// posted beside the queue would overtake the requests the next turns send.
TEST_F(SendAsync, BlockingCallsKeepTheOrderOfTheThreadsEarlierAsyncSends) {
  pair();
  constexpr int kBefore = 3000;
  test::LoopThread runner(loop);
  pause();
  std::thread producer([&] {
    for (int i = 0; i < kBefore; ++i) ASSERT_EQ(a->send_async(to, "a" + std::to_string(i)), Queued::queued);
    EXPECT_EQ(a->send({to}, "B"), 1u);  // blocks until sent
    a->tags_append({"after-b"});
    EXPECT_EQ(a->send_async(to, "C"), Queued::queued);
  });
  std::this_thread::sleep_for(50ms);  // the producer has queued its requests and waits in send()
  release();
  producer.join();
  ASSERT_TRUE(wait_for([&] { return received() == kBefore + 2; })) << received();
  runner.stop();
  for (int i = 0; i < kBefore; ++i) ASSERT_EQ(got[static_cast<std::size_t>(i)], "a" + std::to_string(i));
  EXPECT_EQ(got[kBefore], "B") << "the blocking send overtook the thread's queued ones";
  EXPECT_EQ(got[kBefore + 1], "C");
}

TEST_F(SendAsync, OutcomeTellsReachedOnTheLoopThread) {
  pair();
  auto c = member(fast({"other"}), "127.0.0.3");
  ASSERT_TRUE(run_until([&] { return a->resolve({"other"}).size() == 1; }));
  const ServicePtr gone = a->resolve({"other"}).front();
  c.reset();  // says goodbye: a forgets it
  ASSERT_TRUE(run_until([&] { return a->resolve({"other"}).empty(); }));
  test::LoopThread runner(loop);
  std::promise<SendOutcome> one, both;
  std::atomic<bool> on_loop{true};
  EXPECT_EQ(a->send_async(to, "x", {}, [&](const SendOutcome& o) {
    on_loop = on_loop && loop.in_loop_thread();
    one.set_value(o);
  }), Queued::queued);
  EXPECT_EQ(a->send_async({to, gone}, "y", {}, [&](const SendOutcome& o) {
    on_loop = on_loop && loop.in_loop_thread();
    both.set_value(o);
  }), Queued::queued);
  auto f1 = one.get_future(), f2 = both.get_future();
  ASSERT_EQ(f1.wait_for(5s), std::future_status::ready);
  ASSERT_EQ(f2.wait_for(5s), std::future_status::ready);
  const SendOutcome o1 = f1.get(), o2 = f2.get();
  EXPECT_EQ(o1.reached, 1u);
  EXPECT_TRUE(o1.result.ok());
  EXPECT_EQ(o2.reached, 1u);
  EXPECT_FALSE(o2.result.ok());
  EXPECT_EQ(o2.result.message(), "1 of 2 members not reached (gone, unknown or unreachable)");
  EXPECT_TRUE(on_loop.load());
}

TEST_F(SendAsync, ServiceHandleSendsAndIsClosedOnceTheClusterIsGone) {
  pair();
  {
    test::LoopThread runner(loop);
    std::promise<SendOutcome> done;
    EXPECT_EQ(to->send_async("via handle", 0, [&](const SendOutcome& o) { done.set_value(o); }), Queued::queued);
    auto f = done.get_future();
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(f.get().reached, 1u);
    ASSERT_TRUE(wait_for([&] { return received() == 1; }));
  }
  EXPECT_EQ(got.front(), "via handle");
  a.reset();
  EXPECT_EQ(to->send_async("late"), Queued::closed);
}

// send_async_copy copies: the caller may change or free its buffer as soon as the call returns.
// Small and large (above the 1 KiB of the recycled buffers) data arrive as given, interleaved
// in one thread's order with by-value send_async, with the flags kept (the protocol list: over
// `t` only) and done called with the outcome.
TEST_F(SendAsync, CopiedSendsArriveAsGivenInOrderWithTheirFlags) {
  pair();
  std::uint64_t t_before = 0;
  for (const auto& p : a->stats().protocols)
    if (p.protocol == "t") t_before = p.packets_sent;
  test::LoopThread runner(loop);
  std::atomic<int> done_ok{0};
  const std::string large(4000, 'L');
  std::vector<std::string> expected;
  std::thread producer([&] {
    SendFlags flags;
    flags.protocols = {"t"};
    std::string buffer;
    for (int i = 0; i < 300; ++i) {
      buffer = "copy " + std::to_string(i);
      const std::string& data = i % 50 == 49 ? large : buffer;
      ASSERT_EQ(a->send_async_copy(to, data, flags, [&](const SendOutcome& o) {
        if (o.result.ok() && o.reached == 1) ++done_ok;
      }), Queued::queued);
      expected.push_back(data);
      buffer.assign(buffer.size(), '#');  // ours again at once
      if (i % 100 == 0) {
        ASSERT_EQ(a->send_async(to, "value " + std::to_string(i)), Queued::queued);
        expected.push_back("value " + std::to_string(i));
      }
    }
  });
  producer.join();
  ASSERT_TRUE(wait_for([&] { return received() == expected.size(); })) << received();
  runner.stop();
  EXPECT_EQ(got, expected);
  EXPECT_EQ(done_ok.load(), 300);
  std::uint64_t over_t = 0;
  for (const auto& p : a->stats().protocols)
    if (p.protocol == "t") over_t = p.packets_sent;
  EXPECT_GE(over_t - t_before, 300u) << "the copies did not go over t";
}

// The copy path shares the queue's limits and refusals: full under `fail`, closed after leave.
// A copied send takes a member handle the loop handed back when it is the same member: sends
// that alternate between two members, and runs to one then the other, each reach their own.
TEST_F(SendAsync, CopiedSendsToAlternatingMembersReachEachTheirOwn) {
  pair();
  auto c = member(fast({"other"}));
  std::vector<std::string> got_c;
  c->hook(HookPoint::event, "record", [&](HookContext& ctx) {
    std::lock_guard<std::mutex> lock(mu);
    got_c.push_back(ctx.payload->data.value_or(""));
    return Verdict::pass;
  });
  ASSERT_TRUE(run_until([&] { return a->resolve({"other"}).size() == 1; }));
  const ServicePtr other = a->resolve({"other"}).front();
  ASSERT_TRUE(run_until([&] { return !other->proto_props("t").empty(); }));
  test::LoopThread runner(loop);
  std::thread([&] {
    for (int i = 0; i < 3000; ++i) {
      const bool to_b = i < 1000 ? i % 2 == 0 : i < 2000;  // alternating, then runs of 1,000
      ASSERT_EQ(a->send_async_copy(to_b ? to : other, (to_b ? "b" : "c") + std::to_string(i)), Queued::queued);
    }
  }).join();
  ASSERT_TRUE(wait_for([&] {
    std::lock_guard<std::mutex> lock(mu);
    return got.size() + got_c.size() == 3000;
  }));
  runner.stop();
  EXPECT_EQ(got.size(), 1500u);
  EXPECT_EQ(got_c.size(), 1500u);
  for (const auto& s : got) EXPECT_EQ(s[0], 'b') << s;
  for (const auto& s : got_c) EXPECT_EQ(s[0], 'c') << s;
}

TEST_F(SendAsync, CopiedSendsAreRefusedLikeTheOthers) {
  pair(limited(2, SendQueueFull::fail));
  test::LoopThread runner(loop);
  pause();
  EXPECT_EQ(a->send_async_copy(to, "1"), Queued::queued);
  EXPECT_EQ(a->send_async(to, "2"), Queued::queued);
  EXPECT_EQ(a->send_async_copy(to, "3"), Queued::full);
  release();
  ASSERT_TRUE(wait_for([&] { return received() == 2; }));
  EXPECT_EQ(a->counters().send_queue_full, 1u);
  a->leave();
  EXPECT_EQ(a->send_async_copy(to, "late"), Queued::closed);
  runner.stop();
  EXPECT_EQ(got, (std::vector<std::string>{"1", "2"}));
}

// Flow control: while "t" says more than half its limit (1 MiB here) waits for the member, the
// queue sends nothing more to anyone and fills up, so the producers meet the full policy; it
// goes on below a quarter (not at once below half), in order, and counts one pause.
TEST_F(SendAsync, ABackloggedMemberHoldsTheQueueUntilItsTransportDrains) {
  pair(limited(100, SendQueueFull::fail));
  const std::string uuid = to->uuid();
  test::LoopThread runner(loop);
  const auto set_backlog = [&](std::size_t bytes) { loop.call([&] { net.backlog[uuid] = bytes; }); };
  set_backlog(600 * 1024);
  for (int i = 0; i < 60; ++i) ASSERT_EQ(a->send_async(to, "m" + std::to_string(i)), Queued::queued);
  ASSERT_TRUE(wait_for([&] { return paused() == 1; }));
  int refused = 0;
  for (int i = 60; i < 160; ++i)
    if (a->send_async(to, "m" + std::to_string(i)) != Queued::queued) ++refused;
  EXPECT_GT(refused, 0) << "the queue did not fill while held";
  set_backlog(300 * 1024);  // under half, over a quarter: still held
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(received(), 0u) << "sent while the member was backlogged";
  set_backlog(0);
  ASSERT_TRUE(wait_for([&] { return received() == std::size_t(160 - refused); })) << received();
  EXPECT_EQ(refused, 60);
  runner.stop();
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], "m" + std::to_string(i));
  EXPECT_EQ(a->counters().send_queue_paused, 1u);
  EXPECT_EQ(a->counters().send_failures, 0u);
}

// The gate is asked once per 64 KiB to one member, not per message: 2,000 small sends ask it
// a handful of times.
TEST_F(SendAsync, TheBacklogIsAskedOncePer64KiBToOneMember) {
  pair();
  test::LoopThread runner(loop);
  int before = 0, after = 0;
  loop.call([&] { before = net.backlog_asked; });
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(a->send_async(to, std::string(60, 'x')), Queued::queued);
  ASSERT_TRUE(wait_for([&] { return received() == 2000; }));
  loop.call([&] { after = net.backlog_asked; });
  const int asked = after - before;
  runner.stop();
  EXPECT_GE(asked, 2);  // 120 KB: the first send and one 64 KiB later
  EXPECT_LE(asked, 8);
}

// A member whose transport does not drain for a second is not waited for: its sends go on (its
// transport's own limit decides), and the next ones to it are not held again until it drained.
TEST_F(SendAsync, AMemberThatDoesNotDrainIsWaitedForOneSecondAtMost) {
  pair();
  const std::string uuid = to->uuid();
  test::LoopThread runner(loop);
  loop.call([&] { net.backlog[uuid] = 4u << 20; });
  const std::string big(64 * 1024, 'b');  // every send is asked about
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(a->send_async(to, big), Queued::queued);
  ASSERT_TRUE(wait_for([&] { return received() == 5; }));
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 950ms);
  EXPECT_LT(waited, 3000ms);
  const auto t1 = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(a->send_async(to, big), Queued::queued);
  ASSERT_TRUE(wait_for([&] { return received() == 10; }));
  EXPECT_LT(std::chrono::steady_clock::now() - t1, 500ms) << "held again for a member given up on";
  EXPECT_EQ(a->counters().send_queue_paused, 1u);
  // Once it drained, it is waited for again.
  loop.call([&] { net.backlog[uuid] = 0; });
  ASSERT_EQ(a->send_async(to, big), Queued::queued);
  ASSERT_TRUE(wait_for([&] { return received() == 11; }));
  loop.call([&] { net.backlog[uuid] = 4u << 20; });
  ASSERT_EQ(a->send_async(to, big), Queued::queued);
  ASSERT_TRUE(wait_for([&] { return paused() == 2; }));
  EXPECT_EQ(received(), 11u);
  loop.call([&] { net.backlog[uuid] = 0; });
  ASSERT_TRUE(wait_for([&] { return received() == 12; }));
}

// Threads spread over lanes, each with its own send_queue_limit (a thread keeps its lane, and
// so its order): one thread's full lane does not refuse another thread's sends.
TEST_F(SendAsync, AThreadsFullLaneDoesNotRefuseAnotherThread) {
  pair(limited(2, SendQueueFull::fail));
  test::LoopThread runner(loop);
  pause();
  std::thread([&] {
    EXPECT_EQ(a->send_async(to, "a1"), Queued::queued);
    EXPECT_EQ(a->send_async(to, "a2"), Queued::queued);
    EXPECT_EQ(a->send_async(to, "a3"), Queued::full);
  }).join();
  std::thread([&] { EXPECT_EQ(a->send_async(to, "b1"), Queued::queued); }).join();
  release();
  ASSERT_TRUE(wait_for([&] { return received() == 3; }));
  runner.stop();
  EXPECT_EQ(a->counters().send_queue_full, 1u);
}

TEST_F(SendAsync, FailPolicyRefusesWhenFull) {
  pair(limited(8, SendQueueFull::fail));
  test::LoopThread runner(loop);
  pause();
  std::atomic<int> done{0};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(a->send_async(to, "m", {}, [&](const SendOutcome&) { ++done; }), Queued::queued);
  EXPECT_EQ(a->send_async(to, "m", {}, [&](const SendOutcome&) { done += 100; }), Queued::full);
  release();
  ASSERT_TRUE(wait_for([&] { return received() == 8; }));
  EXPECT_EQ(done.load(), 8) << "a refused request's done ran";
  EXPECT_EQ(a->counters().send_queue_full, 1u);
}

TEST_F(SendAsync, BlockPolicyTimesOutToFull) {
  pair(limited(4, SendQueueFull::block, 200ms));
  test::LoopThread runner(loop);
  pause();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(a->send_async(to, "m"), Queued::queued);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(a->send_async(to, "m"), Queued::full);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 190ms);
  release();
  ASSERT_TRUE(wait_for([&] { return received() == 4; }));
  EXPECT_EQ(a->counters().send_queue_full, 1u);
}

TEST_F(SendAsync, BlockPolicyWaitsForRoom) {
  pair(limited(4, SendQueueFull::block, 3000ms));
  test::LoopThread runner(loop);
  pause();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(a->send_async(to, "m"), Queued::queued);
  auto later = std::async(std::launch::async, [&] {
    std::this_thread::sleep_for(50ms);
    release();
  });
  EXPECT_EQ(a->send_async(to, "m"), Queued::queued);
  ASSERT_TRUE(wait_for([&] { return received() == 5; }));
  EXPECT_EQ(a->counters().send_queue_full, 0u);
}

TEST_F(SendAsync, DropOldestDropsTheOldestAndReportsIt) {
  pair(limited(4, SendQueueFull::drop_oldest));
  test::LoopThread runner(loop);
  pause();
  std::mutex m;
  std::vector<std::string> outcomes(6);
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(a->send_async(to, std::to_string(i), {}, [&, i](const SendOutcome& o) {
      std::lock_guard<std::mutex> lock(m);
      outcomes[static_cast<std::size_t>(i)] = o.result.ok() ? "ok" : o.result.message();
    }), Queued::queued);
  release();
  ASSERT_TRUE(wait_for([&] { return received() == 4; }));
  std::this_thread::sleep_for(20ms);
  runner.stop();
  EXPECT_EQ(got, (std::vector<std::string>{"2", "3", "4", "5"}));
  EXPECT_EQ(outcomes, (std::vector<std::string>{"dropped: send queue full", "dropped: send queue full", "ok", "ok",
                                                "ok", "ok"}));
  EXPECT_EQ(a->counters().send_queue_dropped, 2u);
}

TEST_F(SendAsync, LeaveSendsWhatWasQueuedBeforeIt) {
  pair();
  std::vector<std::string> seen_by_b;
  b->hook(HookPoint::service_lost, "lost", [&](HookContext&) {
    std::lock_guard<std::mutex> lock(mu);
    got.push_back("lost");
    return Verdict::pass;
  });
  test::LoopThread runner(loop);
  pause();
  auto leaving = std::async(std::launch::async, [&] { a->leave(); });
  std::this_thread::sleep_for(50ms);  // leave() waits behind the pause; the sends queue behind it
  std::atomic<int> ok{0}, failed{0};
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(a->send_async(to, std::to_string(i), {}, [&](const SendOutcome& o) { o.result.ok() ? ++ok : ++failed; }),
              Queued::queued);
  release();
  ASSERT_EQ(leaving.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(ok.load(), 100);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(a->send_async(to, "late", {}, [&](const SendOutcome&) { ++failed; }), Queued::closed);
  ASSERT_TRUE(wait_for([&] { return received() == 101; })) << received();
  runner.stop();
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)], std::to_string(i));
  EXPECT_EQ(got.back(), "lost") << "the goodbye overtook queued sends";
  EXPECT_EQ(failed.load(), 0);
}

// More than one drain's batch queued: the second drain is posted behind ~Cluster's leave and
// runs after the Cluster is gone (ASan: no use after free); every done ran exactly once.
TEST_F(SendAsync, DestroyingTheClusterWithAFullQueueReportsEverything) {
  constexpr int kCount = 3000;
  pair(limited(kCount, SendQueueFull::fail));
  test::LoopThread runner(loop);
  pause();
  std::vector<std::atomic<int>> calls(kCount);
  for (int i = 0; i < kCount; ++i)
    ASSERT_EQ(a->send_async(to, "m", {}, [&calls, i](const SendOutcome&) { ++calls[static_cast<std::size_t>(i)]; }),
              Queued::queued);
  auto destroyed = std::async(std::launch::async, [&] { a.reset(); });
  std::this_thread::sleep_for(50ms);
  release();
  ASSERT_EQ(destroyed.wait_for(5s), std::future_status::ready);
  std::this_thread::sleep_for(50ms);  // the leftover drain runs
  runner.stop();
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(calls[static_cast<std::size_t>(i)].load(), 1) << i;
}

}  // namespace
