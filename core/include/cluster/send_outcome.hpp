// What the asynchronous sends (Cluster::send_async) answer at once, and report later.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "cluster/sdk/result.hpp"

namespace cluster {

/// What became of an accepted send; given to SendDone on the loop thread.
struct SendOutcome {
  std::size_t reached = 0;  ///< members the event went to (what send() returns)
  sdk::Result result = sdk::Result::success();  ///< failure: why (no such member, left, dropped from a full queue)
};
/// Runs exactly once per accepted request (sent or queued), on the loop thread; never for a
/// refused one (full, closed: the caller already knows).
using SendDone = std::function<void(const SendOutcome&)>;

/// What send_async did with the request, at once.
enum class Queued : std::uint8_t {
  sent,    ///< called on the loop thread: sent already (done, if any, has run)
  queued,  ///< will be sent in order by the loop (done runs there afterwards)
  full,    ///< refused: the queue stayed full (send_queue_full = fail, or block timed out)
  closed,  ///< refused: leave() began or the cluster is going away
};

/// [cluster] send_queue_full: what a producer meets when send_queue_limit requests wait.
enum class SendQueueFull : std::uint8_t { block, fail, drop_oldest };

}  // namespace cluster
