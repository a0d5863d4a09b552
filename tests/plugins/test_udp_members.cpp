// Whole members over the udp transport ("d"). With [cluster] protocols = d alone, found through
// the seeds discovery with protocol d: they meet, an event and a query go both ways over d, each
// has the other's d props, a goodbye goes over it too. With t and d: listed last, d carries only
// what is sent over it alone; a packet over the datagram limit goes over the next protocol. A bad
// or taken [udp] port fails the join. Loopback only, no multicast (no "c"), so these run outside
// a network namespace.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <thread>

#include "cluster/cluster.hpp"
#include "net.hpp"
#include "protocol_harness.hpp"

namespace cluster::test {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

/// What a member's hooks saw (they run on its loop thread).
struct Seen {
  std::mutex m;
  std::vector<std::string> events;  ///< "<protocol> <data>"
  std::vector<std::string> queries;  ///< the protocol each query came over
};

/// A port nobody uses (bound on every address of `family`, then closed again).
std::uint16_t free_port(int family, int type = SOCK_DGRAM) {
  const int fd = ::socket(family, type | SOCK_CLOEXEC, 0);
  sockaddr_storage ss{};
  socklen_t len = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  ss.ss_family = static_cast<sa_family_t>(family);
  EXPECT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&ss), len), 0);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  ::close(fd);
  return transport::address_port(reinterpret_cast<const sockaddr*>(&ss));
}

bool ipv6_loopback() {
  const int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_addr = in6addr_loopback;
  const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<const sockaddr*>(&sin6), sizeof sin6) == 0;
  if (fd >= 0) ::close(fd);
  return ok;
}

std::string node_ini(std::uint16_t port, const std::string& seed, const std::string& extra_udp = "") {
  return "[cluster]\nprotocols = d\ndiscovery = seeds\nheartbeat = 200ms\nttl = 2s\nhid = 02:00:00:00:00:0d\n"
         "[plugins]\npath = " CLUSTER_PLUGIN_DIR "\nload = udp seeds\n"
         "[udp]\nport = " + std::to_string(port) + "\n" + extra_udp +
         "[seeds]\nseeds = " + seed + "\nprotocol = d\n";
}

std::unique_ptr<Cluster> join(const std::string& ini, Seen& seen) {
  NodeConfig cfg = NodeConfig::from_ini(IniFile::parse(ini, "node.ini"));
  return Cluster::join(cfg, [&seen](Cluster& c) {
    c.hook(HookPoint::event, "record", [&seen](HookContext& ctx) {
      std::lock_guard<std::mutex> g(seen.m);
      seen.events.push_back(std::string(ctx.protocol) + " " + ctx.payload->data.value_or(""));
      return Verdict::pass;
    });
    c.hook(HookPoint::query, "answer", [&seen, &c](HookContext& ctx) {
      {
        std::lock_guard<std::mutex> g(seen.m);
        seen.queries.emplace_back(ctx.protocol);
      }
      ctx.answer = c.sid() + " got " + ctx.payload->data.value_or("");
      return Verdict::modified;
    });
  });
}

template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds limit = 5000ms) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(10ms);
  return pred();
}

bool knows(const Cluster& a, const Cluster& b) { return !a.resolve({b.sid()}).empty(); }

/// a and b meet through a's seed, then exchange an event and a query each way over "d".
void meet_and_talk(Cluster& a, Seen& seen_a, Cluster& b, Seen& seen_b, std::uint16_t a_port) {
  ASSERT_TRUE(wait_for([&] { return knows(a, b) && knows(b, a); })) << "they never met over d";
  const auto a_seen_by_b = b.resolve({a.sid()});
  ASSERT_EQ(a_seen_by_b.size(), 1u);
  EXPECT_EQ(a_seen_by_b[0]->info().prop("d", "port"), std::to_string(a_port));
  EXPECT_EQ(a_seen_by_b[0]->info().protocols, std::vector<std::string>{"d"});
  EXPECT_FALSE(a.resolve({b.sid()})[0]->info().prop("d", "port").empty());

  EXPECT_EQ(a.send(a.resolve({b.sid()}), "from a"), 1u);
  EXPECT_EQ(b.send(b.resolve({a.sid()}), "from b"), 1u);
  ASSERT_TRUE(wait_for([&] {
    std::scoped_lock g(seen_a.m, seen_b.m);
    return !seen_a.events.empty() && !seen_b.events.empty();
  }));
  {
    std::scoped_lock g(seen_a.m, seen_b.m);
    EXPECT_EQ(seen_b.events, std::vector<std::string>{"d from a"});
    EXPECT_EQ(seen_a.events, std::vector<std::string>{"d from b"});
  }
  for (auto [from, to] : {std::pair<Cluster*, Cluster*>{&a, &b}, {&b, &a}}) {
    QueryOptions q;
    q.resolve = {to->sid()};
    q.query = "status";
    q.timeout = 3s;
    q.collect = true;
    QueryPtr query = from->query(q);
    ASSERT_TRUE(query->wait(5s));
    EXPECT_FALSE(query->timed_out());
    const auto answers = query->results();
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers.begin()->second.data, to->sid() + " got status");
  }
  std::scoped_lock g(seen_a.m, seen_b.m);
  EXPECT_EQ(seen_a.queries, std::vector<std::string>{"d"});
  EXPECT_EQ(seen_b.queries, std::vector<std::string>{"d"});
  EXPECT_EQ(a.counters().dropped_malformed + b.counters().dropped_malformed, 0u);
}

TEST(UdpMembers, MeetThroughSeedsAndTalkOverUdpOnly) {
  const std::uint16_t port = free_port(AF_INET6);
  Seen seen_a, seen_b;
  auto a = join(node_ini(port, "127.0.0.1:" + std::to_string(port)), seen_a);
  auto b = join(node_ini(0, "127.0.0.1:" + std::to_string(port)), seen_b);
  meet_and_talk(*a, seen_a, *b, seen_b, port);
  b->leave();
  EXPECT_TRUE(wait_for([&] { return !knows(*a, *b); }, 1500ms)) << "the goodbye went over d too";
}

TEST(UdpMembers, MeetOverIpv6Loopback) {
  if (!ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback (::1) here";
  const std::uint16_t port = free_port(AF_INET6);
  const std::string seed = "[::1]:" + std::to_string(port);
  Seen seen_a, seen_b;
  auto a = join(node_ini(port, seed, "bind = ::1\n"), seen_a);
  auto b = join(node_ini(0, seed, "bind = ::1\n"), seen_b);
  meet_and_talk(*a, seen_a, *b, seen_b, port);
  EXPECT_EQ(b->resolve({a->sid()})[0]->info().ip, "::1");
}

/// A member running tcp and udp in `order`, found through a seed's fixed tcp port.
std::string tcp_and_udp_ini(const std::string& order, std::uint16_t tcp_port, std::uint16_t seed_port) {
  return "[cluster]\nprotocols = " + order + "\ndiscovery = seeds\nheartbeat = 200ms\nttl = 2s\n"
         "hid = 02:00:00:00:00:0d\n[plugins]\npath = " CLUSTER_PLUGIN_DIR "\nload = tcp udp seeds\n"
         "[tcp]\nport = " + std::to_string(tcp_port) + "\n[seeds]\nseeds = 127.0.0.1:" + std::to_string(seed_port) +
         "\nprotocol = t\n";
}

std::vector<std::string> events_of(Seen& seen) {
  std::lock_guard<std::mutex> g(seen.m);
  return seen.events;
}

// Listed last, "d" carries only what is sent over it alone (as a failure detector's probes).
TEST(UdpMembers, ListedLastItCarriesOnlyWhatIsSentOverItAlone) {
  const std::uint16_t port = free_port(AF_INET6, SOCK_STREAM);
  Seen seen_a, seen_b;
  auto a = join(tcp_and_udp_ini("t d", port, port), seen_a);
  auto b = join(tcp_and_udp_ini("t d", 0, port), seen_b);
  ASSERT_TRUE(wait_for([&] { return knows(*a, *b) && knows(*b, *a); }));
  EXPECT_EQ(a->send(a->resolve({b->sid()}), "plain"), 1u);
  SendFlags only_d;
  only_d.protocols = {"d"};
  EXPECT_EQ(a->send(a->resolve({b->sid()}), "probe", only_d), 1u);
  ASSERT_TRUE(wait_for([&] { return events_of(seen_b).size() == 2; }));
  EXPECT_THAT(events_of(seen_b), UnorderedElementsAre("t plain", "d probe"));  // two sockets: any order
}

// Over the datagram limit "d" fails and the core tries the member's next protocol.
TEST(UdpMembers, APacketTooBigForADatagramGoesOverTheNextProtocol) {
  const std::uint16_t port = free_port(AF_INET6, SOCK_STREAM);
  Seen seen_a, seen_b;
  auto a = join(tcp_and_udp_ini("t d", port, port), seen_a);
  auto b = join(tcp_and_udp_ini("d t", 0, port), seen_b);  // d first: against the advice
  ASSERT_TRUE(wait_for([&] { return knows(*a, *b) && knows(*b, *a); }));
  const auto failures = a->counters().send_failures;
  EXPECT_EQ(a->send(a->resolve({b->sid()}), "small"), 1u);
  EXPECT_EQ(a->send(a->resolve({b->sid()}), std::string(70000, 'x')), 1u);
  ASSERT_TRUE(wait_for([&] { return events_of(seen_b).size() == 2; }));
  EXPECT_THAT(events_of(seen_b), UnorderedElementsAre("d small", "t " + std::string(70000, 'x')));
  EXPECT_EQ(a->counters().send_failures, failures + 1);
}

TEST(UdpMembers, APortOutOfRangeFailsTheJoinSayingWhere) {
  Seen seen;
  const std::string ini = "[cluster]\nprotocols = d\ndiscovery = seeds\n[plugins]\npath = " CLUSTER_PLUGIN_DIR
                          "\nload = udp seeds\n[udp]\nport = 70000\n[seeds]\nseeds = 127.0.0.1:1\nprotocol = d\n";
  try {
    join(ini, seen);
    FAIL() << "port 70000 was accepted";
  } catch (const PluginError& e) {
    EXPECT_THAT(e.what(), HasSubstr("node.ini:8: [udp] port = '70000' is out of range (0..65535)"));
  }
}

TEST(UdpMembers, APortInUseFailsTheJoinSayingWhy) {
  const std::uint16_t port = free_port(AF_INET6);
  Seen seen_a, seen_b;
  auto a = join(node_ini(port, "127.0.0.1:" + std::to_string(port)), seen_a);
  try {
    join(node_ini(port, "127.0.0.1:" + std::to_string(port)), seen_b);
    FAIL() << "two members joined on one fixed udp port";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("protocol 'd' failed to start: udp: bind [::]:" + std::to_string(port) +
                                    ": Address already in use"));
  }
}

}  // namespace
}  // namespace cluster::test
