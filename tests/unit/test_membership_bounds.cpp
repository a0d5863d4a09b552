// Membership under hostile or oversized input: bounded tables, cost per member event, tags and
// packets that do not fit in a datagram (hardening issue: findings 3 and 5, interop D1 and D2).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <malloc.h>

#include "cluster/bpacket/payload_codec.hpp"
#include "membership_fixture.hpp"

using namespace cluster;
using namespace std::chrono_literals;

namespace {

class MembershipBounds : public test::Membership {
 protected:
  /// A heartbeat of a member that does not exist: a fresh sid every time, from 127.0.0.7.
  void forge_heartbeats(test::MemoryProtocol& into, int count, int first_id = 0) {
    for (int i = 0; i < count; ++i) {
      Payload p = packet_of("f" + std::to_string(first_id + i), "02:00:00:00:00:01", PayloadType::heartbeat);
      p.data = std::string();
      into.deliver(encoded(p), "127.0.0.7", 0);
    }
  }
};

}  // namespace

// D1: a send to more than 3 members whose filtered multicast would not fit in a datagram went
// nowhere ("reached 0 of 4"). It goes direct now.
TEST_F(MembershipBounds, ASendToManyThatDoesNotFitInADatagramGoesDirect) {
  auto a = member();
  std::vector<std::unique_ptr<Cluster>> others;
  for (int i = 0; i < 5; ++i) others.push_back(member());
  ASSERT_TRUE(run_until([&] { return a->known_services() == 5; }));
  run_until([] { return false; }, 120ms);
  std::vector<std::size_t> sizes;
  for (auto& o : others)
    o->hook(HookPoint::event, "ev", [&](HookContext& c) { return sizes.push_back(c.payload->data->size()), Verdict::pass; });
  const std::string big(5000, 'x');
  const int directs = net.directs;
  EXPECT_EQ(a->send(a->resolve({"*"}), big), 5u);
  ASSERT_TRUE(run_until([&] { return sizes.size() == 5; }));
  EXPECT_TRUE(std::all_of(sizes.begin(), sizes.end(), [&](std::size_t n) { return n == big.size(); }));
  EXPECT_GE(net.directs, directs + 5);
  EXPECT_EQ(a->counters().multicast_fallbacks, 1u);
}

// D2: tags that push the heartbeat over a datagram made the member silently mute (nobody ever
// discovered it; set at run time, peers expired a live member). Refused now, loudly.
TEST_F(MembershipBounds, TagsThatDoNotFitInAHeartbeatAreRefusedAtJoin) {
  Options o = fast();
  for (int i = 0; i < 300; ++i) o.tags.push_back("tag-number-" + std::to_string(i));
  try {
    member(o);
    FAIL() << "join accepted tags that do not fit in a heartbeat";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("max_multicast_packet"), std::string::npos) << e.what();
  }
}

TEST_F(MembershipBounds, TagChangesThatDoNotFitAreRefusedAndHeartbeatsGoOn) {
  Options o = fast();
  o.tags = {"keep"};
  auto a = member(o);
  auto b = member();
  ASSERT_TRUE(run_until([&] { return knows(*b, *a); }));
  std::vector<std::string> huge;
  for (int i = 0; i < 300; ++i) huge.push_back("tag-number-" + std::to_string(i));
  EXPECT_THROW(a->tags_append(huge), std::invalid_argument);
  EXPECT_THROW(a->tags_replace({"new\nline"}), std::invalid_argument);
  EXPECT_THROW(a->tags_append({std::string("nul\0byte", 8)}), std::invalid_argument);
  EXPECT_EQ(a->tags(), std::vector<std::string>{"keep"});
  // Several ttl later, b still knows a, with its tags.
  const int failures_before = static_cast<int>(a->counters().send_failures);
  run_until([] { return false; }, 1200ms);
  ASSERT_TRUE(knows(*b, *a));
  EXPECT_EQ(b->resolve({a->sid()})[0]->tags(), std::vector<std::string>{"keep"});
  EXPECT_EQ(static_cast<int>(a->counters().send_failures), failures_before);
}

TEST_F(MembershipBounds, ControlCharactersInConfiguredTagsAreRefused) {
  EXPECT_THROW(Options::from_ini(IniFile::parse("[cluster]\ntags = ok {bad\x1b[2J}\n", "n.ini")), ConfigError);
  Options o = fast();
  o.tags = {"bell\x07"};
  EXPECT_THROW(member(o), ConfigError);
}

TEST_F(MembershipBounds, NewcomersBeyondMaxMembersAreRefusedAndCounted) {
  Options o = fast();
  o.ttl = 30s;
  o.heartbeat = 10s;
  o.max_members = 100;
  auto a = member(o);
  test::MemoryProtocol* c = proto_of("127.0.0.1", "c");
  ASSERT_NE(c, nullptr);
  forge_heartbeats(*c, 150);
  EXPECT_EQ(a->known_services(), 100u);
  EXPECT_EQ(a->counters().refused_members, 50u);
}

// Finding 3: each new member scanned every member (the earliest deadline), each ping compared
// every listed sid with every member: 14 us per newcomer at 0 known, 760 us at 50k. Now both are
// O(log n). A regression guard, not a benchmark: the bound allows for cache misses in a big
// table (a few us) but not for a scan (~300 us at 20k). CLUSTER_MEMBER_COST_N sets the table
// size (docs/testing.md quotes it at 50k).
TEST_F(MembershipBounds, ANewMemberCostsAboutTheSameWithManyKnown) {
  const char* env = std::getenv("CLUSTER_MEMBER_COST_N");
  const int known = env != nullptr ? std::atoi(env) : 20000;
  Options o = fast();
  o.ttl = 600s;
  o.heartbeat = 600s;
  o.max_members = static_cast<std::size_t>(known) + 10000;
  auto a = member(o);
  test::MemoryProtocol* c = proto_of("127.0.0.1", "c");
  ASSERT_NE(c, nullptr);
  auto cost_of = [&](int batch, int first) {
    const auto t0 = std::chrono::steady_clock::now();
    forge_heartbeats(*c, batch, first);
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / batch;
  };
  forge_heartbeats(*c, 200, 10'000'000);  // warm-up
  double small = 1e9;
  for (int r = 0; r < 7; ++r) small = std::min(small, cost_of(200, 20'000'000 + r * 1000));
  forge_heartbeats(*c, known, 0);
  double large = 1e9;
  for (int r = 0; r < 7; ++r) large = std::min(large, cost_of(200, 30'000'000 + r * 1000));
  ASSERT_GE(a->known_services(), static_cast<std::size_t>(known));
  std::printf("per-newcomer cost: %.2f us at ~1.6k known, %.2f us at %d known\n", small, large, known);
  EXPECT_LT(large, small * 4 + 40) << "per-newcomer cost " << small << " us at ~1.6k known, " << large << " us at "
                                   << known;
}

// D2, the other half: whatever makes a full heartbeat too large (here a send hook), the member
// keeps heartbeating (bare), so peers never expire it, and every failed multicast is counted.
TEST_F(MembershipBounds, AHeartbeatTooLargeForADatagramGoesOutBare) {
  Options o = fast();
  o.tags = {"keep"};
  auto a = member(o);
  auto b = member();
  ASSERT_TRUE(run_until([&] { return knows(*b, *a); }));
  a->hook(HookPoint::evaluate_send, "bloat", [](HookContext& c) {
    if (*c.payload->type == static_cast<std::uint64_t>(PayloadType::heartbeat) && c.payload->tags.has())
      c.payload->data = std::string(5000, 'p');
    return Verdict::modified;
  });
  a->tags_append({"more"});  // a full heartbeat now: too large, so a bare one goes out
  run_until([] { return false; }, 1500ms);  // three ttl
  EXPECT_TRUE(knows(*b, *a)) << "b expired a live member";
  EXPECT_GE(a->counters().send_failures, 1u);
}

// Attack finding: every connection closed for the stream limits wrote a log line, so an
// attacker that reconnects wrote 5.7 MB of log in 20 s. One line per 10 s now, with a count.
TEST_F(MembershipBounds, StreamLimitClosingsAreLoggedRateLimited) {
  Options o = fast();
  o.max_packet = 65536;
  o.max_buffered = 2 * 65536;
  o.log_level = sdk::LogLevel::trace;
  int closing_lines = 0;
  o.log_sink = [&](sdk::LogLevel, std::string_view m) {
    if (m.find("closing connection") != std::string_view::npos) ++closing_lines;
  };
  auto a = member(o);
  test::MemoryProtocol* t = proto_of("127.0.0.1", "t");
  ASSERT_NE(t, nullptr);
  // 100 connections, each 60,000 bytes into a 65,000-byte packet: two fit in the budget.
  std::string partial("\xc0\x8d", 2);
  partial += std::string("\xe8\xfb\x03", 3);  // varint 65000
  partial += std::string(60000, 'x');
  for (int conn = 1; conn <= 100; ++conn) t->deliver(partial, "127.0.0.1", static_cast<sdk::ConnectionId>(90000 + conn));
  EXPECT_GE(a->counters().streams_over_budget, 90u);
  EXPECT_LE(closing_lines, 1);
}

#if !defined(__SANITIZE_ADDRESS__)
// Attack finding: 16k forged members expired and clusterd's RSS stayed ~21 MB above where it was.
// That memory is freed (the member table holds nothing of them) but glibc keeps it, fragmented,
// for reuse: a second wave costs nothing more. This guards "bounded", not "returned": RSS after
// the second wave stays near the first wave's peak.
TEST_F(MembershipBounds, MemoryOfExpiredMembersIsReusedNotKeptGrowing) {
  auto rss_kb = [] {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return 0L;
  };
  Options o = fast();
  o.ttl = 300ms;
  o.heartbeat = 10s;
  o.max_members = 100000;
  auto a = member(o);
  test::MemoryProtocol* c = proto_of("127.0.0.1", "c");
  ASSERT_NE(c, nullptr);
  const long before = rss_kb();
  long peak[2] = {0, 0};
  for (int wave = 0; wave < 2; ++wave) {
    forge_heartbeats(*c, 30000, 50'000'000 + wave * 100'000);
    peak[wave] = rss_kb();
    ASSERT_TRUE(run_until([&] { return a->known_services() == 0; }, 3000ms));
    run_until([] { return false; }, 1100ms);  // the sweep after a burst of expiries
  }
  const long after = rss_kb();
  std::printf("RSS %ld kB before, %ld kB at the first wave's peak, %ld kB at the second's, %ld kB after\n", before,
              peak[0], peak[1], after);
  // 30k members take ~33 MB (less when earlier tests left free heap): a second wave that kept
  // the first one's memory would add as much again; reuse adds a few MB.
  EXPECT_LT(peak[1] - peak[0], 12000) << "the second wave did not reuse the first one's memory";
}
#endif

// Issue 11 review: Protocol::id() was never checked against the id a plugin registered it
// under; peers would be offered one id and the member would answer to another.
TEST_F(MembershipBounds, AProtocolThatMisnamesItselfIsRefusedAtJoin) {
  auto pm = net.plugins_for("127.0.0.1");
  pm->add_protocol("q", [this](sdk::ProtocolHost& h) {
    return std::make_unique<test::MemoryProtocol>(net, "t", "127.0.0.1", h);  // says it is "t"
  });
  Options o = fast();
  o.protocols = {"q", "c"};
  try {
    Cluster::join(o, pm, loop);
    FAIL() << "a protocol registered as 'q' that calls itself 't' was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("registered as 'q' says its id is 't'"), std::string::npos) << e.what();
  }
}
