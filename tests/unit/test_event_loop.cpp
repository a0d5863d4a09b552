// The event loop's timers.
#include <gtest/gtest.h>

#include "cluster/event_loop.hpp"

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
