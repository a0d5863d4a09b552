// A loop on a thread of its own (tests and the bench): the thread owns the loop from before
// it starts running; stop() (or the destructor) stops the loop and joins the thread.
#pragma once

#include <future>
#include <thread>

#include "cluster/event_loop.hpp"

namespace cluster::test {

/// Runs `loop.run()` on a new thread, which owns the loop from before it starts running; stop()
/// (or the destructor) stops the loop, joins the thread and gives the loop back to no thread.
class LoopThread {
 public:
  explicit LoopThread(EventLoop& loop) : loop_(loop) {
    std::promise<void> go;
    auto ready = go.get_future();
    thread_ = std::thread([this, f = std::move(ready)]() mutable {
      f.wait();
      loop_.run();
    });
    loop_.set_owner(thread_.get_id());
    go.set_value();
  }
  ~LoopThread() { stop(); }
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;

  void stop() {
    if (!thread_.joinable()) return;
    loop_.stop();
    thread_.join();
    loop_.set_owner(std::thread::id());
  }

 private:
  EventLoop& loop_;
  std::thread thread_;
};

}  // namespace cluster::test
