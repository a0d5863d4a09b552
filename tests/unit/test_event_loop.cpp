// The event loop's timers.
#include <gtest/gtest.h>

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
