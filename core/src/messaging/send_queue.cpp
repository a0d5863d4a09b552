#include "messaging/send_queue.hpp"

#include <utility>

namespace cluster {

SendQueue::SendQueue(EventLoop& loop, std::size_t limit, SendQueueFull policy, std::chrono::milliseconds block,
                     Sink sink, Gate gate)
    : loop_(loop), limit_(limit), policy_(policy), block_(block), sink_(std::move(sink)), gate_(std::move(gate)) {}

namespace {
constexpr std::size_t kRecycledBytes = 1024;  // larger data is moved, not copied
constexpr std::size_t kMaxSpare = 1024;       // buffers kept for reuse (at most 1 MiB)
constexpr std::size_t kRecycledProtocols = 8;  // longer protocol lists are moved, not copied
}  // namespace

bool SendQueue::admit(std::unique_lock<AdaptiveMutex>& lock, Queued& refused) {
  if (closed_) {
    refused = Queued::closed;
    return false;
  }
  if (waiting() < limit_) return true;
  if (policy_ == SendQueueFull::fail) {
    full_.fetch_add(1, std::memory_order_relaxed);
    refused = Queued::full;
    return false;
  }
  if (policy_ == SendQueueFull::drop_oldest && !in_.empty()) {
    // The oldest not yet taken by the loop (what it took is being sent; when it took all,
    // this waits as `block` does). O(n), only when shedding load.
    dropped_.push_back(std::move(in_.front()));  // reported on the loop thread
    in_.erase(in_.begin());
    dropped_count_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  ++waiters_;
  const bool room = space_.wait_for(lock, block_, [&] { return closed_ || waiting() < limit_; });
  --waiters_;
  if (closed_) {
    refused = Queued::closed;
    return false;
  }
  if (!room) {
    full_.fetch_add(1, std::memory_order_relaxed);
    refused = Queued::full;
    return false;
  }
  return true;
}

void SendQueue::post_drain() {
  loop_.post([q = shared_from_this()] { q->drain(); });
}

void SendQueue::take_spare(std::string& dst) {
  if (spare_.empty()) return;
  dst.swap(spare_.back());
  spare_.pop_back();
}

void SendQueue::take_spare(std::vector<std::string>& dst) {
  if (spare_protocols_.empty()) return;
  dst.swap(spare_protocols_.back());
  spare_protocols_.pop_back();
}

Queued SendQueue::push(SendRequest&& r) {
  bool first = false;
  CallersStorage callers;  // what the caller allocated, when copied: freed here, on its thread
  {
    std::unique_lock<AdaptiveMutex> lock(mu_);
    Queued refused = Queued::closed;
    if (!admit(lock, refused)) return refused;
    adopt(r, callers);
    in_.push_back(std::move(r));
    first = first_to_schedule();
  }
  if (first) post_drain();
  return Queued::queued;
}

Queued SendQueue::push_copy(const ServicePtr& to, std::string_view data, const SendFlags& flags, SendDone&& done) {
  // Data too large for a spare buffer is copied before the lock, not under it.
  std::string large;
  if (data.size() > kRecycledBytes) large.assign(data);
  bool first = false;
  {
    std::unique_lock<AdaptiveMutex> lock(mu_);
    Queued refused = Queued::closed;
    if (!admit(lock, refused)) return refused;
    SendRequest& r = in_.emplace_back();
    if (!spare_ones_.empty() && spare_ones_.back() == to) {
      r.one = std::move(spare_ones_.back());
      spare_ones_.pop_back();
    } else {
      r.one = to;
    }
    if (!large.empty()) {
      r.data.swap(large);
    } else {
      take_spare(r.data);
      r.data.assign(data);
    }
    if (!flags.protocols.empty() && flags.protocols.size() <= kRecycledProtocols) take_spare(r.flags.protocols);
    r.flags = flags;  // copy-assignment keeps the recycled list's storage: short ids, no allocation
    r.done = std::move(done);
    first = first_to_schedule();
  }
  if (first) post_drain();
  return Queued::queued;
}

bool SendQueue::call(const std::function<void()>& fn) {
  std::promise<void> finished;
  SendRequest r;
  r.call = [&fn, &finished] {
    try {
      fn();
      finished.set_value();
    } catch (...) {
      finished.set_exception(std::current_exception());
    }
  };
  bool first = false;
  {
    std::lock_guard<AdaptiveMutex> lock(mu_);
    if (closed_) return false;
    in_.push_back(std::move(r));
    first = first_to_schedule();
  }
  if (first) post_drain();
  finished.get_future().get();
  return true;
}

void SendQueue::adopt(SendRequest& r, CallersStorage& callers) {
  if (r.data.size() <= kRecycledBytes && !spare_.empty()) {
    callers.data.swap(r.data);
    take_spare(r.data);
    r.data.assign(callers.data);
  }
  auto& protocols = r.flags.protocols;
  if (!protocols.empty() && protocols.size() <= kRecycledProtocols && !spare_protocols_.empty()) {
    callers.protocols.swap(protocols);
    take_spare(protocols);
    protocols.assign(callers.protocols.begin(), callers.protocols.end());  // short ids: no allocation
  }
}

void SendQueue::recycle() {
  for (auto& b : used_)
    if (spare_.size() < kMaxSpare) spare_.push_back(std::move(b));
  used_.clear();
  for (auto& p : used_protocols_)
    if (spare_protocols_.size() < kMaxSpare) spare_protocols_.push_back(std::move(p));
  used_protocols_.clear();
  for (auto& o : used_ones_)
    if (spare_ones_.size() < kMaxSpare) spare_ones_.push_back(std::move(o));
  // used_ones_ keeps the excess: drain releases it after unlocking (a last reference may go).
}

void SendQueue::run(SendRequest& r) {
  if (r.call) {
    // Behind leave() (its flush runs the rest) a waiting call runs after it, as a post would.
    if (flushing_) loop_.post(std::move(r.call));
    else r.call();
    return;
  }
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

bool SendQueue::must_wait(const SendRequest& r) {
  if (!gate_ || r.call) return false;
  const Service* target = r.to.empty() ? r.one.get() : nullptr;  // several members: always asked
  if (!holding_ && target != nullptr && target == checked_ && unchecked_bytes_ < kCheckEvery) {
    unchecked_bytes_ += r.data.size();
    return false;
  }
  checked_ = target;
  unchecked_bytes_ = r.data.size();
  if (!gate_(r)) {
    holding_ = false;
    return false;
  }
  if (!holding_) paused_.fetch_add(1, std::memory_order_relaxed);
  holding_ = true;
  return true;
}

void SendQueue::drain() {
  std::vector<SendRequest> dropped;
  {
    std::lock_guard<AdaptiveMutex> lock(mu_);
    if (closed_) return;  // close_and_flush took everything
    if (pos_ == out_.size()) {  // the last batch is sent: take everything waiting
      out_.clear();             // keeps its capacity, as in_ keeps out_'s
      pos_ = 0;
      out_.swap(in_);
      taken_ = out_.size();
    }
    dropped.swap(dropped_);
  }
  report_dropped(dropped);
  // By index, moved out first: a done that calls leave() flushes the rest through close_and_flush.
  const std::size_t end = std::min(out_.size(), pos_ + kDrainPerTurn);
  const std::size_t from = pos_;
  bool held = false;
  while (pos_ < end) {
    if (must_wait(out_[pos_])) {
      held = true;
      break;
    }
    SendRequest r = std::move(out_[pos_++]);
    run(r);
    if (r.data.capacity() <= kRecycledBytes && !r.data.empty()) used_.push_back(std::move(r.data));
    if (!r.flags.protocols.empty() && r.flags.protocols.capacity() <= kRecycledProtocols)
      used_protocols_.push_back(std::move(r.flags.protocols));
    if (r.one) used_ones_.push_back(std::move(r.one));
  }
  bool more = false;
  {
    std::lock_guard<AdaptiveMutex> lock(mu_);
    if (closed_) return;
    taken_ -= std::min(taken_, pos_ - from);
    recycle();  // at once: the producers' next pushes copy into them
    more = waiting() > 0;  // true when held: the held request waits
    scheduled_ = more;
    if (waiters_ > 0) space_.notify_all();  // what was sent this turn made room, held or not
  }
  used_ones_.clear();
  if (held) loop_.after(kHoldPoll, [q = shared_from_this()] { q->drain(); });
  else if (more) post_drain();
}

void SendQueue::close_and_flush() {
  std::vector<SendRequest> rest, dropped;
  std::vector<ServicePtr> ones;  // released after the lock
  {
    std::lock_guard<AdaptiveMutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
    flushing_ = true;
    rest.swap(in_);
    taken_ = 0;
    spare_.clear();
    spare_protocols_.clear();
    ones.swap(spare_ones_);
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
  gate_ = nullptr;
  sink_ = nullptr;  // drops the cluster pointer: a drain still posted finds nothing to do
}

}  // namespace cluster
