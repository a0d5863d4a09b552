// The bounded queue of sends made off the loop thread (Cluster::send_async): producers append
// under a mutex, the loop takes batches. One post (one eventfd write at most) per
// empty -> non-empty transition, however many producers; a batch goes out within one loop
// turn, so the stream transports' per-turn write batching applies.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cluster/cluster.hpp"

namespace cluster {

/// One send_async: to `one` (when set) and to each of `to`.
struct SendRequest {
  ServicePtr one;
  std::vector<ServicePtr> to;
  std::string data;
  SendFlags flags;
  SendDone done;
};

class SendQueue : public std::enable_shared_from_this<SendQueue> {
 public:
  /// Sends one request and calls its done (loop thread).
  using Sink = std::function<void(SendRequest&)>;
  static constexpr std::size_t kDrainPerTurn = 1024;  // keeps sockets and timers served between batches

  SendQueue(EventLoop& loop, std::size_t limit, SendQueueFull policy, std::chrono::milliseconds block, Sink sink);

  /// Any thread except the loop's (which sends inline): queued, full or closed.
  Queued push(SendRequest r);
  /// Loop thread: refuses further pushes (blocked producers get `closed`), then sends everything
  /// accepted before and reports what drop_oldest dropped. Idempotent.
  void close_and_flush();

  std::uint64_t refused_full() const noexcept { return full_.load(std::memory_order_relaxed); }
  std::uint64_t dropped() const noexcept { return dropped_count_.load(std::memory_order_relaxed); }

 private:
  void drain();  // loop thread, posted
  void run(SendRequest& r);
  static void report_dropped(std::vector<SendRequest>& dropped);
  std::size_t waiting() const { return in_.size() - head_; }  // under mu_

  EventLoop& loop_;
  const std::size_t limit_;
  const SendQueueFull policy_;
  const std::chrono::milliseconds block_;
  Sink sink_;  // loop thread only; empty once closed

  std::mutex mu_;
  std::condition_variable space_;
  int waiters_ = 0;
  std::vector<SendRequest> in_;  // [head_, end) wait; the front is consumed by index, not erased
  std::size_t head_ = 0;
  std::vector<SendRequest> dropped_;  // by drop_oldest, reported by the next drain
  bool scheduled_ = false;
  bool closed_ = false;

  std::vector<SendRequest> out_;  // the batch being sent (loop thread)
  std::size_t pos_ = 0;

  std::atomic<std::uint64_t> full_{0}, dropped_count_{0};
};

}  // namespace cluster
