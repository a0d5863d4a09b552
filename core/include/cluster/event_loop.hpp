// The epoll event loop every cluster runs on (sockets, timers, posted work). One thread runs
// it; every callback, hook and protocol method executes there.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cluster/export.hpp"
#include "cluster/sdk/event_loop.hpp"

namespace cluster {

class CLUSTER_API EventLoop final : public sdk::EventLoop {
 public:
  /// Throws std::system_error when epoll/eventfd cannot be created.
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  sdk::WatchId watch(int fd, std::uint32_t interest, std::function<void(std::uint32_t)> fn) noexcept override;
  void modify(sdk::WatchId id, std::uint32_t interest) noexcept override;
  void unwatch(sdk::WatchId id) noexcept override;
  sdk::TimerId after(std::chrono::milliseconds delay, std::function<void()> fn) noexcept override;
  void cancel(sdk::TimerId id) noexcept override;
  void post(std::function<void()> fn) noexcept override;
  bool in_loop_thread() const noexcept override;
  Clock::time_point now() const noexcept override { return now_; }

  /// Runs until stop(). The calling thread becomes the loop thread.
  void run();
  /// Runs for at most `d` (or until stop()); for tests and single-threaded hosts.
  void run_for(std::chrono::milliseconds d);
  /// Processes what is ready, waiting at most `timeout`; returns the number of callbacks run.
  std::size_t run_once(std::chrono::milliseconds timeout);
  /// Declares which thread will run the loop, before it starts (so calls from other threads
  /// are posted, not run inline). A loop that never ran belongs to whoever calls it.
  void set_owner(std::thread::id id) noexcept { owner_ = id; }
  /// The loop's epoll descriptor: readable whenever run_once(0ms) has a socket or posted work to
  /// handle (posted work writes the wake-up eventfd, which it watches). A host that runs another
  /// event loop (Tcl's notifier, apps/tcl) watches it and calls run_once(0ms) when it is readable,
  /// and again after next_timeout() for the timers. Owned by the loop: never close it.
  int descriptor() const noexcept { return epfd_; }
  /// How long until the earliest timer is due (0 when one is due or work is posted), at most
  /// `cap`: when such a host must call run_once(0ms) next if the descriptor stays quiet.
  std::chrono::milliseconds next_timeout(std::chrono::milliseconds cap) const {
    return std::chrono::milliseconds(wait_timeout_ms(cap));
  }
  /// Makes run() return soon. Thread-safe.
  void stop() noexcept;

  /// Runs fn on the loop thread and waits for it (runs inline when already there). Must not be
  /// called while the loop is not running, except from the loop thread.
  void call(const std::function<void()>& fn);

 private:
  struct Watch {
    int fd;
    std::uint32_t interest;
    std::function<void(std::uint32_t)> fn;
  };
  struct TimerEntry {
    Clock::time_point due;
    sdk::TimerId id;
    bool operator>(const TimerEntry& o) const { return due > o.due || (due == o.due && id > o.id); }
  };

  void wake() noexcept;
  std::size_t run_posted();
  std::size_t run_timers();
  /// Timer heap entries, live or cancelled: the tests check cancelled ones are compacted away.
  std::size_t timer_heap_size() const noexcept { return timer_queue_.size(); }
  friend struct EventLoopProbe;  // the tests' view of timer_heap_size
  int wait_timeout_ms(std::chrono::milliseconds cap) const;

  int epfd_ = -1;
  int wakefd_ = -1;
  Clock::time_point now_;
  std::atomic<bool> stop_{false};
  std::atomic<std::thread::id> owner_{};
  /// Inside run_once (read and written by the owner thread only): a post made there needs no
  /// wake-up, the turn's end runs it or the next wait sees it pending (wait_timeout_ms).
  bool in_turn_ = false;
  sdk::WatchId next_watch_ = 1;
  sdk::TimerId next_timer_ = 1;
  std::unordered_map<sdk::WatchId, std::shared_ptr<Watch>> watches_;
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> timer_queue_;
  std::unordered_map<sdk::TimerId, std::function<void()>> timers_;
  std::mutex posted_mu_;
  std::vector<std::function<void()>> posted_;
  std::vector<std::function<void()>> running_;  // swapped with posted_ to run outside the lock
};

}  // namespace cluster
