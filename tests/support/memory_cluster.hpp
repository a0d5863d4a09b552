// Clusters on the in-memory network (memory_network.hpp), for the tests that run whole clusters
// in one process (unit: membership, queries, handles; apps: commands, control server):
//   - MemoryClusterTest: a GoogleTest fixture with one EventLoop, the network on it, a fast
//     profile (fast()), member() to join one more cluster and run_until() to turn the loop on
//     the test thread until a condition holds (bounded);
//   - LoopThread: runs a loop on a thread of its own, as the loop's owner, until stop(), for
//     the tests of what other threads may do while the loop runs.
// A suite with another profile declares its own static fast() (as the membership tests do).
#pragma once

#include <gtest/gtest.h>

#include "loop_thread.hpp"

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cluster/cluster.hpp"
#include "cluster/event_loop.hpp"
#include "memory_network.hpp"

namespace cluster::test {

class MemoryClusterTest : public ::testing::Test {
 protected:
  EventLoop loop;
  MemoryNetwork net{loop};

  /// Heartbeat 100 ms, ttl 2 s, one hid for everyone (one host), `tags`, log to `sink`.
  static Options fast(std::vector<std::string> tags = {},
                      std::function<void(sdk::LogLevel, std::string_view)> sink = {}) {
    Options o;
    o.heartbeat = std::chrono::milliseconds(100);
    o.ttl = std::chrono::seconds(2);
    o.hid = "02:00:00:00:00:01";
    o.tags = std::move(tags);
    o.log_sink = std::move(sink);
    return o;
  }

  /// A cluster joined on the network as host `ip`, driven by `loop`.
  std::unique_ptr<Cluster> member(Options o, const std::string& ip = "127.0.0.1") {
    return Cluster::join(std::move(o), net.plugins_for(ip), loop);
  }

  /// Turns the loop (5 ms at most per turn) until `pred()` holds or `limit` passed; returns pred().
  template <class Pred>
  bool run_until(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < end) loop.run_once(std::chrono::milliseconds(5));
    return pred();
  }

  /// Makes `c` answer every query with "<prefix>:<query text>".
  static void answer_with(Cluster& c, const std::string& prefix) {
    c.hook(HookPoint::query, "answer", [prefix](HookContext& ctx) {
      ctx.answer = prefix + ":" + ctx.payload->data.value_or("");
      return Verdict::modified;
    });
  }
};


}  // namespace cluster::test
