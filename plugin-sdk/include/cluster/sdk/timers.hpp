// One-shot timers a plugin cancels together in its stop(): the pattern every policy and
// transport needs (a callback left armed after stop() would call into a deleted object).
// Loop thread only, like the EventLoop calls it wraps.
#pragma once

#include <chrono>
#include <memory>
#include <set>
#include <utility>

#include "cluster/sdk/event_loop.hpp"

namespace cluster::sdk {

class Timers {
 public:
  explicit Timers(EventLoop& loop) noexcept : loop_(loop) {}
  Timers(const Timers&) = delete;
  Timers& operator=(const Timers&) = delete;
  ~Timers() { cancel_all(); }

  /// Runs fn once after `delay`, unless cancel_all() came first.
  template <class F>
  void after(std::chrono::milliseconds delay, F fn) {
    auto id = std::make_shared<TimerId>(0);
    *id = loop_.after(delay, [this, id, fn = std::move(fn)]() mutable {
      ids_.erase(*id);
      fn();
    });
    ids_.insert(*id);
  }
  /// Cancels every timer still pending; later after() calls work again.
  void cancel_all() noexcept {
    for (TimerId id : ids_) loop_.cancel(id);
    ids_.clear();
  }
  std::size_t pending() const noexcept { return ids_.size(); }

 private:
  EventLoop& loop_;
  std::set<TimerId> ids_;
};

}  // namespace cluster::sdk
