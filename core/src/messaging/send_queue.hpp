// One lane of the bounded queue of sends made off the loop thread (Cluster::send_async; the
// cluster keeps 4, and a thread always uses the same one): producers append under a mutex, the
// loop takes batches. One post (one eventfd write at most) per
// empty -> non-empty transition, however many producers; a batch goes out within one loop
// turn, so the stream transports' per-turn write batching applies.
//
// Two vectors trade places (the loop takes everything waiting in O(1) and sends at most
// kDrainPerTurn of it per turn), so a full queue costs no moving of requests. Small data is
// copied into buffers the loop hands back (spare_), and so is the list of protocols of the
// flags (spare_protocols_): the caller's allocations are then freed on its own thread, not on
// the loop's. A free on another thread than the malloc sent each message through glibc's slow
// path on both sides (issue 17: most of the sender's time at 1M msg/s; the protocols' vector,
// still 14 % of the loop thread's time, after the data).
//
// Flow control: before a request goes out, the gate (Impl::backlogged) may say that a member it
// goes to has too much output waiting in its transport. The queue then holds: it sends nothing
// more, re-asks every kHoldPoll, and meanwhile fills up, so the send_queue_full policy reaches
// the producers. Without it, a reader slower than the host's threads made the transport close
// the connection at max_pending_bytes and fail everything pending (issue 17: 3.2 % lost). The
// gate is asked once per kCheckEvery bytes to the same member, so it costs nothing per message.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/cluster.hpp"
#include "messaging/adaptive_mutex.hpp"

namespace cluster {

/// One send_async: to `one` (when set) and to each of `to`.
struct SendRequest {
  ServicePtr one;
  std::vector<ServicePtr> to;
  std::string data;
  SendFlags flags;
  SendDone done;
  /// Set instead of the fields above: a blocking call from another thread (Impl::on_loop), run
  /// in its place in the queue so it keeps the order of that thread's earlier send_async.
  std::function<void()> call;
};

class SendQueue : public std::enable_shared_from_this<SendQueue> {
 public:
  /// Sends one request and calls its done (loop thread).
  using Sink = std::function<void(SendRequest&)>;
  /// Whether a request must wait: a member it goes to is backlogged (loop thread).
  using Gate = std::function<bool(const SendRequest&)>;
  static constexpr std::size_t kDrainPerTurn = 1024;  // keeps sockets and timers served between batches
  static constexpr std::size_t kCheckEvery = 64 * 1024;  // bytes to one member between two gate checks
  static constexpr std::chrono::milliseconds kHoldPoll{1};

  SendQueue(EventLoop& loop, std::size_t limit, SendQueueFull policy, std::chrono::milliseconds block, Sink sink,
            Gate gate = {});

  /// Any thread except the loop's (which sends inline): queued, full or closed.
  Queued push(SendRequest&& r);
  /// The same for one member, copying data and flags into storage the loop handed back
  /// (send_async_copy): no allocation once warm, unless data exceeds kRecycledBytes.
  Queued push_copy(const ServicePtr& to, std::string_view data, const SendFlags& flags, SendDone&& done);
  /// Any thread except the loop's: runs fn on the loop thread behind every request queued so
  /// far, and waits (rethrows what fn threw). Never refused for room. False, without running
  /// fn, once the queue is closed.
  bool call(const std::function<void()>& fn);
  /// Loop thread: refuses further pushes (blocked producers get `closed`), then sends everything
  /// accepted before and reports what drop_oldest dropped. Idempotent.
  void close_and_flush();

  std::uint64_t refused_full() const noexcept { return full_.load(std::memory_order_relaxed); }
  std::uint64_t dropped() const noexcept { return dropped_count_.load(std::memory_order_relaxed); }
  /// Times the queue held for a backlogged member.
  std::uint64_t paused() const noexcept { return paused_.load(std::memory_order_relaxed); }

 private:
  /// Under mu_ (held by `lock`): whether one more request may be queued, waiting or shedding
  /// as the policy says; false with the refusal in `refused` otherwise.
  bool admit(std::unique_lock<AdaptiveMutex>& lock, Queued& refused);
  /// Under mu_: marks a drain as scheduled; true when none was, so the caller must post one.
  bool first_to_schedule() {
    if (scheduled_) return false;  // read only: the line stays shared while a drain is due
    scheduled_ = true;
    return true;
  }
  void post_drain();  // any thread, outside mu_
  /// Under mu_: `dst` (empty) takes a spare buffer / protocol list when one is left, so that
  /// what is then assigned to it needs no allocation.
  void take_spare(std::string& dst);
  void take_spare(std::vector<std::string>& dst);
  void drain();  // loop thread, posted
  /// Loop thread: whether `r` waits (the gate, asked per kCheckEvery bytes to one member).
  bool must_wait(const SendRequest& r);
  void run(SendRequest& r);
  static void report_dropped(std::vector<SendRequest>& dropped);
  std::size_t waiting() const { return in_.size() + taken_; }  // under mu_
  /// Gives the data buffers and protocol lists of sent requests back to the spares (under mu_).
  void recycle();
  /// Takes a request's data and protocols into spare storage (under mu_); what the caller
  /// allocated goes into `callers`, to be freed outside the lock on the caller's thread.
  struct CallersStorage {
    std::string data;
    std::vector<std::string> protocols;
  };
  void adopt(SendRequest& r, CallersStorage& callers);

  EventLoop& loop_;
  const std::size_t limit_;
  const SendQueueFull policy_;
  const std::chrono::milliseconds block_;
  Sink sink_;  // loop thread only; empty once closed
  Gate gate_;  // likewise

  AdaptiveMutex mu_;
  std::condition_variable_any space_;
  int waiters_ = 0;
  std::vector<SendRequest> in_;  // waiting to be taken by the loop
  std::size_t taken_ = 0;        // taken into out_, not sent yet: counts against the limit
  std::vector<std::string> spare_;  // data buffers for small requests, handed back by the loop
  std::vector<std::vector<std::string>> spare_protocols_;  // flags.protocols lists, likewise
  // Member handles of sent requests, handed back: a push to the same member takes one instead
  // of copying the caller's, so no reference count moves between the producer's CPU and the
  // loop's (issue 17: that one atomic was two thirds of push_copy's own time).
  std::vector<ServicePtr> spare_ones_;
  std::vector<SendRequest> dropped_;  // by drop_oldest, reported by the next drain
  bool scheduled_ = false;
  bool closed_ = false;

  // Loop thread only, on a cache line of its own: the loop moves pos_ on per request, and a
  // producer's push touches the fields above (issue 17: the shared line cost each push a miss).
  alignas(64) std::vector<SendRequest> out_;  // taken from in_, sent from pos_ on
  std::size_t pos_ = 0;
  std::vector<std::string> used_;  // data buffers of sent requests, for spare_ (loop thread)
  std::vector<std::vector<std::string>> used_protocols_;  // for spare_protocols_ (loop thread)
  std::vector<ServicePtr> used_ones_;  // for spare_ones_; the excess is released outside mu_
  bool flushing_ = false;  // inside close_and_flush: calls still queued are posted (loop thread)
  // Flow control (loop thread).
  const Service* checked_ = nullptr;  // the member of the last gate check (one-member requests)
  std::size_t unchecked_bytes_ = 0;   // sent to it since
  bool holding_ = false;              // the gate holds the request at pos_

  std::atomic<std::uint64_t> full_{0}, dropped_count_{0}, paused_{0};
};

}  // namespace cluster
