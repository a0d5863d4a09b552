// The event loop's timers.
#include <gtest/gtest.h>

#include "cluster/event_loop.hpp"

using cluster::EventLoop;

TEST(EventLoopTimers, CancelledTimersDoNotAccumulate) {
  EventLoop loop;
  for (int i = 0; i < 100000; ++i) loop.cancel(loop.after(std::chrono::seconds(30), [] {}));
  EXPECT_LT(loop.timer_heap_size(), 3000u);
  int fired = 0;
  loop.after(std::chrono::milliseconds(1), [&] { ++fired; });
  loop.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(fired, 1);
}
