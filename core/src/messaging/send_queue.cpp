#include "messaging/send_queue.hpp"

#include <utility>

namespace cluster {

SendQueue::SendQueue(EventLoop& loop, std::size_t limit, SendQueueFull policy, std::chrono::milliseconds block,
                     Sink sink)
    : loop_(loop), limit_(limit), policy_(policy), block_(block), sink_(std::move(sink)) {}

Queued SendQueue::push(SendRequest r) {
  bool first = false;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (closed_) return Queued::closed;
    if (waiting() >= limit_) {
      if (policy_ == SendQueueFull::fail) {
        full_.fetch_add(1, std::memory_order_relaxed);
        return Queued::full;
      }
      if (policy_ == SendQueueFull::drop_oldest) {
        dropped_.push_back(std::move(in_[head_++]));  // reported on the loop thread
        dropped_count_.fetch_add(1, std::memory_order_relaxed);
      } else {
        ++waiters_;
        const bool room = space_.wait_for(lock, block_, [&] { return closed_ || waiting() < limit_; });
        --waiters_;
        if (closed_) return Queued::closed;
        if (!room) {
          full_.fetch_add(1, std::memory_order_relaxed);
          return Queued::full;
        }
      }
    }
    // The consumed front is dropped once it is most of the vector: amortized O(1) per push.
    if (head_ > 4096 && head_ * 2 > in_.size()) {
      in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
    in_.push_back(std::move(r));
    first = !std::exchange(scheduled_, true);
  }
  if (first) loop_.post([q = shared_from_this()] { q->drain(); });
  return Queued::queued;
}

void SendQueue::run(SendRequest& r) {
  try {
    if (sink_) {
      sink_(r);  // calls done
    } else if (r.done) {
      SendOutcome o;
      o.result = sdk::Result::failure("left the cluster");
      r.done(o);
    }
  } catch (...) {
    // A throwing done must not cost the rest of the batch its sends.
  }
}

void SendQueue::report_dropped(std::vector<SendRequest>& dropped) {
  for (auto& r : dropped) {
    if (!r.done) continue;
    SendOutcome o;
    o.result = sdk::Result::failure("dropped: send queue full");
    try {
      r.done(o);
    } catch (...) {
    }
  }
  dropped.clear();
}

void SendQueue::drain() {
  std::vector<SendRequest> dropped;
  bool more = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;  // close_and_flush took everything
    const std::size_t n = std::min(kDrainPerTurn, waiting());
    out_.clear();
    pos_ = 0;
    for (std::size_t i = 0; i < n; ++i) out_.push_back(std::move(in_[head_++]));
    if (head_ == in_.size()) {
      in_.clear();  // keeps its capacity: no reallocation in steady state
      head_ = 0;
    }
    dropped.swap(dropped_);
    more = waiting() > 0;
    scheduled_ = more;
    if (waiters_ > 0) space_.notify_all();
  }
  report_dropped(dropped);
  // By index, moved out first: a done that calls leave() flushes the rest through close_and_flush.
  while (pos_ < out_.size()) {
    SendRequest r = std::move(out_[pos_++]);
    run(r);
  }
  if (more) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
  }
  if (more) loop_.post([q = shared_from_this()] { q->drain(); });
}

void SendQueue::close_and_flush() {
  std::vector<SendRequest> rest, dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
    for (std::size_t i = head_; i < in_.size(); ++i) rest.push_back(std::move(in_[i]));
    in_.clear();
    head_ = 0;
    dropped.swap(dropped_);
    space_.notify_all();
  }
  report_dropped(dropped);
  // The batch in progress (a done called leave()) comes first: it is older.
  while (pos_ < out_.size()) {
    SendRequest r = std::move(out_[pos_++]);
    run(r);
  }
  for (auto& r : rest) run(r);
  sink_ = nullptr;  // drops the cluster pointer: a drain still posted finds nothing to do
}

}  // namespace cluster
