// The event loop a cluster runs on; plugins register their sockets and timers here.
// Every callback runs on the loop thread. Only post() may be called from other threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace cluster::sdk {

enum Ready : std::uint32_t { readable = 1, writable = 2, error = 4, hangup = 8 };

using WatchId = std::uint64_t;  ///< 0 = invalid
using TimerId = std::uint64_t;  ///< 0 = invalid

class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;

  /// Calls fn(ready flags) whenever fd is ready for `interest` (readable|writable); errors and
  /// hang-ups are always reported. Returns 0 when the fd cannot be watched.
  virtual WatchId watch(int fd, std::uint32_t interest, std::function<void(std::uint32_t)> fn) noexcept = 0;
  virtual void modify(WatchId id, std::uint32_t interest) noexcept = 0;
  /// Stops watching; safe inside the watch's own callback. Does not close the fd.
  virtual void unwatch(WatchId id) noexcept = 0;
  /// Runs fn once after `delay`. Safe to cancel from anywhere on the loop thread.
  virtual TimerId after(std::chrono::milliseconds delay, std::function<void()> fn) noexcept = 0;
  virtual void cancel(TimerId id) noexcept = 0;
  /// Runs fn on the loop thread soon. Thread-safe. It cannot be cancelled: a plugin that may be
  /// stopped before fn runs should use after(0ms, fn) and cancel() it in stop() instead.
  virtual void post(std::function<void()> fn) noexcept = 0;
  virtual bool in_loop_thread() const noexcept = 0;
  /// Cached time of the current loop iteration.
  virtual Clock::time_point now() const noexcept = 0;

 protected:
  ~EventLoop() = default;
};

}  // namespace cluster::sdk
