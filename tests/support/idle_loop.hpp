// An sdk::EventLoop that never runs anything: for a component under test that needs a loop
// reference but arms nothing (the encrypt sealer only logs through its host).
#pragma once

#include "cluster/sdk/event_loop.hpp"

namespace cluster::test {

class IdleLoop final : public sdk::EventLoop {
 public:
  sdk::WatchId watch(int, std::uint32_t, std::function<void(std::uint32_t)>) noexcept override { return 0; }
  void modify(sdk::WatchId, std::uint32_t) noexcept override {}
  void unwatch(sdk::WatchId) noexcept override {}
  sdk::TimerId after(std::chrono::milliseconds, std::function<void()>) noexcept override { return 0; }
  void cancel(sdk::TimerId) noexcept override {}
  void post(std::function<void()>) noexcept override {}
  bool in_loop_thread() const noexcept override { return true; }
  Clock::time_point now() const noexcept override { return Clock::now(); }
};

}  // namespace cluster::test
