// Flow control of sends from host threads over a real stream transport (tcp). b's loop stalls
// for half a second on the first event, so it reads nothing; meanwhile a host thread of a sends
// it 24 MiB with send_async_copy. a's tcp allows 256 KiB of pending output per connection: without
// flow control the connection closes at that bound and what waits in it fails. With it, the send
// queue holds while the connection is backlogged, the producer waits for room (block policy),
// and every message arrives. Loopback only, no multicast.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "cluster/cluster.hpp"
#include "member_helpers.hpp"

namespace cluster::test {
namespace {

using namespace std::chrono_literals;

std::string node_ini(std::uint16_t port, std::uint16_t seed) {
  return "[cluster]\nprotocols = t\ndiscovery = seeds\nheartbeat = 200ms\nttl = 5s\nhid = 02:00:00:00:00:0f\n"
         "send_queue_limit = 1024\nsend_queue_full = block\nsend_queue_block_ms = 5s\n"
         "[plugins]\npath = " CLUSTER_PLUGIN_DIR "\nload = tcp seeds\n"
         "[tcp]\nbind = 127.0.0.1\nport = " + std::to_string(port) + "\nmax_pending_bytes = 262144\n"
         "[seeds]\nseeds = 127.0.0.1:" + std::to_string(seed) + "\nprotocol = t\n";
}

TEST(SendFlowControl, AHostThreadOutrunningAStalledReaderLosesNothing) {
  const std::uint16_t port = free_tcp_port();
  std::atomic<int> events{0};
  auto a = Cluster::join(NodeConfig::from_ini(IniFile::parse(node_ini(port, port), "a.ini")));
  auto b = Cluster::join(NodeConfig::from_ini(IniFile::parse(node_ini(0, port), "b.ini")), [&](Cluster& c) {
    c.hook(HookPoint::event, "count", [&](HookContext&) {
      if (events++ == 0) std::this_thread::sleep_for(500ms);  // b's loop reads nothing meanwhile
      return Verdict::pass;
    });
  });
  ASSERT_TRUE(wait_for([&] { return knows(*a, *b) && knows(*b, *a); })) << "they never met over t";
  const ServicePtr to = a->resolve({b->sid()}).front();

  constexpr int kCount = 12000;
  const std::string data(2048, 'x');
  std::atomic<int> failed{0}, refused{0};
  for (int i = 0; i < kCount; ++i)
    if (a->send_async_copy(to, data, {}, [&](const SendOutcome& o) {
          if (!o.result.ok()) ++failed;
        }) != Queued::queued)
      ++refused;
  ASSERT_TRUE(wait_for([&] { return events.load() == kCount - refused.load(); }, 20s)) << events.load();
  EXPECT_EQ(refused.load(), 0);
  EXPECT_EQ(failed.load(), 0) << "sends failed: the connection overflowed";
  const Counters k = a->counters();
  EXPECT_GE(k.send_queue_paused, 1u);
  EXPECT_EQ(k.send_failures, 0u);
}

}  // namespace
}  // namespace cluster::test
