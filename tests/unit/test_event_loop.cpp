// The event loop's timers.
#include <gtest/gtest.h>

#include <poll.h>
#include <unistd.h>

#include <thread>

#include "cluster/event_loop.hpp"
#include "cluster/sdk/timers.hpp"

using cluster::EventLoop;

namespace cluster {
struct EventLoopProbe {
  static std::size_t timer_heap_size(const EventLoop& loop) { return loop.timer_heap_size(); }
};
}  // namespace cluster
using cluster::EventLoopProbe;

TEST(EventLoopTimers, CancelledTimersDoNotAccumulate) {
  EventLoop loop;
  for (int i = 0; i < 100000; ++i) loop.cancel(loop.after(std::chrono::seconds(30), [] {}));
  EXPECT_LT(EventLoopProbe::timer_heap_size(loop), 3000u);
  int fired = 0;
  loop.after(std::chrono::milliseconds(1), [&] { ++fired; });
  loop.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(fired, 1);
}

// A transport batches the writes of one turn behind a zero-delay timer: when the writes come
// from posted work (Cluster calls from other threads), the batch must still go out in the same
// run_once, not after another epoll_wait.
TEST(EventLoopTimers, ZeroDelayTimerFromPostedWorkRunsInTheSameTurn) {
  EventLoop loop;
  int fired = 0;
  loop.post([&] { loop.after(std::chrono::milliseconds(0), [&] { ++fired; }); });
  loop.run_once(std::chrono::milliseconds(0));
  EXPECT_EQ(fired, 1);
}

// sdk::Timers: one-shot timers a plugin cancels together in stop().
TEST(EventLoopTimers, TimersFireOnceAndCancelAllStopsThePending) {
  EventLoop loop;
  cluster::sdk::Timers timers(loop);
  int fired = 0;
  timers.after(std::chrono::milliseconds(1), [&] { ++fired; });
  timers.after(std::chrono::milliseconds(1), [&] { ++fired; });
  timers.after(std::chrono::milliseconds(200), [&] { fired += 100; });
  EXPECT_EQ(timers.pending(), 3u);
  loop.run_for(std::chrono::milliseconds(30));
  EXPECT_EQ(fired, 2);
  EXPECT_EQ(timers.pending(), 1u);
  timers.cancel_all();
  loop.run_for(std::chrono::milliseconds(250));
  EXPECT_EQ(fired, 2);
  EXPECT_EQ(timers.pending(), 0u);
}

// A host with its own event loop (the Tcl binding, apps/tcl) watches descriptor() and asks
// next_timeout() when to call run_once(0ms): the descriptor must turn readable for posted work
// and for a ready socket, and next_timeout must follow the earliest live timer.
TEST(EventLoopForeignHost, DescriptorIsReadableWhenWorkIsPending) {
  EventLoop loop;
  loop.set_owner(std::this_thread::get_id());
  const auto readable = [&] {
    pollfd p{loop.descriptor(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
  };
  EXPECT_FALSE(readable());
  int ran = 0;
  std::thread([&] { loop.post([&] { ++ran; }); }).join();
  EXPECT_TRUE(readable());
  loop.run_once(std::chrono::milliseconds(0));
  EXPECT_EQ(ran, 1);
  EXPECT_FALSE(readable());

  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  int seen = 0;
  const auto w = loop.watch(fds[0], cluster::sdk::readable, [&](std::uint32_t) {
    char c;
    if (::read(fds[0], &c, 1) == 1) ++seen;
  });
  EXPECT_FALSE(readable());
  ASSERT_EQ(::write(fds[1], "x", 1), 1);
  EXPECT_TRUE(readable());
  loop.run_once(std::chrono::milliseconds(0));
  EXPECT_EQ(seen, 1);
  EXPECT_FALSE(readable());
  loop.unwatch(w);
  ::close(fds[0]);
  ::close(fds[1]);
}

// Work posted by the loop's own thread during a turn needs no wake-up (issue 17: three system
// calls per query round trip): nothing is written to the eventfd, next_timeout says 0 and the
// next turn runs it. Posted by the owner thread between turns (a Tcl command), it must wake.
TEST(EventLoopForeignHost, PostFromInsideATurnDoesNotWakeButBetweenTurnsDoes) {
  EventLoop loop;
  loop.set_owner(std::this_thread::get_id());
  const auto readable = [&] {
    pollfd p{loop.descriptor(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
  };
  int inner = 0;
  loop.post([&] { loop.post([&] { ++inner; }); });  // between turns: wakes
  EXPECT_TRUE(readable());
  loop.run_once(std::chrono::milliseconds(0));
  EXPECT_EQ(inner, 0);
  EXPECT_FALSE(readable()) << "a post from inside a turn wrote the wake-up eventfd";
  EXPECT_EQ(loop.next_timeout(std::chrono::milliseconds(1000)).count(), 0);
  loop.run_once(std::chrono::milliseconds(0));
  EXPECT_EQ(inner, 1);
  EXPECT_FALSE(readable());
  loop.post([&] { ++inner; });  // the owner thread again, outside a turn
  EXPECT_TRUE(readable());
  loop.run_once(std::chrono::milliseconds(0));
  EXPECT_EQ(inner, 2);
}

TEST(EventLoopForeignHost, NextTimeoutFollowsTheEarliestTimer) {
  using std::chrono::milliseconds;
  EventLoop loop;
  loop.set_owner(std::this_thread::get_id());
  EXPECT_EQ(loop.next_timeout(milliseconds(5000)), milliseconds(5000));  // no timer: the cap
  const auto t = loop.after(milliseconds(2000), [] {});
  EXPECT_GT(loop.next_timeout(milliseconds(5000)), milliseconds(1500));
  EXPECT_LE(loop.next_timeout(milliseconds(5000)), milliseconds(2000));
  EXPECT_EQ(loop.next_timeout(milliseconds(100)), milliseconds(100));   // capped
  bool fired = false;
  loop.after(milliseconds(0), [&] { fired = true; });
  EXPECT_EQ(loop.next_timeout(milliseconds(5000)), milliseconds(0));
  loop.run_once(milliseconds(0));
  EXPECT_TRUE(fired);
  loop.cancel(t);
  loop.post([] {});
  EXPECT_EQ(loop.next_timeout(milliseconds(5000)), milliseconds(0));  // posted work is due now
}
