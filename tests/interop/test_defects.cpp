// Interop defects found live against the reference (docs/interop.md, PROTOCOL.md sections 7
// and 9): D1 a large send to more than 3 members, D2 tags too large for a heartbeat, D3 streams
// closed under the reference's feet, D4 a reference multicast over 4096 bytes.
//
// PENDING CORE FIXES: D1 (core send.cpp fallback), D2 (refusal at config load) and D3 (no close
// right after a packet) fail until the lead's fixes are merged; measured on 964940a: D1 "sent 0"
// of 4, D2 clusterd still running after 5 s, D3 1 of 5 events and 1 of 2 with the answer lost.
// D4 is fixed (udp-multicast reassembly).
#include <sys/wait.h>

#include <fstream>
#include <string>

#include "interop.hpp"

namespace interop {
namespace {

using Defects = InteropTest;

// D1: more than 3 targets make a send one filtered multicast; over max_multicast_packet (4096)
// it must fall back to direct sends, not reach nobody.
TEST_F(Defects, D1_LargeEventToFourMembersReachesAll) {
  Process& a = probe("a");
  Process& b = probe("b");
  Process& c = probe("c");
  Process& d = probe("d");
  Process& ref = reference("ref", 10);
  for (Process* p : {&b, &c, &d, &ref}) ASSERT_TRUE(await_met(a, *p, milliseconds(4000))) << p->name();
  ASSERT_EQ(a.command("members", {"members "}).substr(0, 10), "members 4 ");
  const std::string data(5000, 'L');
  EXPECT_EQ(a.command("send * " + data, {"sent "}), "sent 4");
  for (Process* p : {&b, &c, &d}) {
    const auto got = await_line(*p, "event " + uuid_of(a) + " ", milliseconds(3000));
    ASSERT_TRUE(got) << p->name() << " did not get the event";
    EXPECT_EQ(got->text.size(), ("event " + uuid_of(a) + " t ").size() + data.size()) << p->name();
  }
  const auto got = await_line(ref, "EVENT " + uuid_of(a), milliseconds(3000));
  ASSERT_TRUE(got) << "the reference did not get the event";
  EXPECT_NE(got->text.find("...(5000 bytes)"), std::string::npos) << got->text;
}

// D2: tags that make the heartbeat larger than 4096 bytes would make the member silently send
// nothing (nobody discovers it): clusterd must refuse them at start with a clear error.
TEST_F(Defects, D2_TagsTooLargeForAHeartbeatAreRefused) {
  std::string tags;
  for (int i = 0; i < 60; ++i) tags += " tag-" + std::to_string(i) + "-" + std::string(80, 'x');
  const std::string ini = (dir_ / "node.ini").string();
  std::ofstream(ini) << "[cluster]\naddress = 230.230.230.230\nport = 23000\nheartbeat = 1s\nprotocols = t c\n"
                     << "hid = " << kHid << "\ntags =" << tags << "\n"
                     << "[plugins]\npath = " << CLUSTER_PLUGIN_DIR << "\nload = udp-multicast tcp\n"
                     << "[control]\nsocket = " << (dir_ / "d.sock").string() << "\n";
  procs_.push_back(std::make_unique<Process>("clusterd", std::vector<std::string>{CLUSTERD_BIN, "--config", ini},
                                             (dir_ / "clusterd.err").string()));
  Process& d = *procs_.back();
  Process& ref = reference("ref", 6);
  ASSERT_TRUE(d.wait_exit(milliseconds(5000))) << "clusterd runs with tags too large to heartbeat";
  EXPECT_TRUE(WIFEXITED(d.status()));
  EXPECT_EQ(WEXITSTATUS(d.status()), 78);
  std::ifstream in(dir_ / "clusterd.err");
  std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The error line (the library's own info lines may come before it).
  EXPECT_NE(err.find("[cluster] tags: with these tags our heartbeat is"), std::string::npos) << err;
  EXPECT_FALSE(ref.find_prefix("DISCOVERED ")) << "the reference met a member that should not have joined";
}

// D3: the reference writes several packets on one connection without `keepalive`; we must not
// close it after the first one (PROTOCOL.md section 7).
TEST_F(Defects, D3_FiveEventsTwoMsApartAllArrive) {
  Process& ours = probe("ours");
  Process& ref = reference("ref", 8, {"-event-after", "1.5", "-event-count", "5", "-event-gap", "2"});
  ASSERT_TRUE(await_met(ours, ref, milliseconds(4000)));
  ASSERT_TRUE(await_count(ref, "EVENT-SEND ", 5, milliseconds(4000)) == 5);
  EXPECT_EQ(await_count(ours, "event " + uuid_of(ref) + " t #", 5, milliseconds(3000)), 5u);
  for (int i = 1; i <= 5; ++i)
    EXPECT_TRUE(ours.find_prefix("event " + uuid_of(ref) + " t #" + std::to_string(i) + " ")) << "#" << i;
}

TEST_F(Defects, D3_QueryFollowedByTwoEventsIsAnswered) {
  Process& ours = probe("ours");
  ASSERT_EQ(ours.command("answer", {"answering"}), "answering");
  // Both timers fire at 1.5 s: the query first (its timer was set first), then 2 events 2 ms apart.
  Process& ref = reference("ref", 8, {"-query-after", "1.5", "-event-after", "1.5", "-event-count", "2",
                                      "-event-gap", "2", "-query", "q1"});
  ASSERT_TRUE(await_met(ours, ref, milliseconds(4000)));
  EXPECT_EQ(await_count(ours, "event " + uuid_of(ref) + " t #", 2, milliseconds(4000)), 2u);
  const auto result = await_line(ref, "QUERY-RESULT " + uuid_of(ours), milliseconds(4000));
  EXPECT_TRUE(result) << "the answer to the reference's query was lost";
  EXPECT_TRUE(await_line(ref, "QUERY-DONE answered=1", milliseconds(1000)));
}

// D4: a reference multicast over 4096 bytes reaches us as 4096-byte datagrams (tcl-udp splits
// it); we must reassemble them (PROTOCOL.md section 9).
TEST_F(Defects, D4_LargeReferenceMulticastArrivesWhole) {
  Process& ours = probe("ours");
  Process& ref = reference("ref", 8, {"-event-after", "1.5", "-event-size", "10000", "-event-broadcast", "1"});
  ASSERT_TRUE(await_met(ours, ref, milliseconds(4000)));
  const auto got = await_line(ours, "event " + uuid_of(ref) + " ", milliseconds(4000));
  ASSERT_TRUE(got) << "the 10000-byte multicast event was lost";
  EXPECT_EQ(got->text, "event " + uuid_of(ref) + " c " + std::string(10000, 'x'));
  const std::string counters = ours.command("counters", {"counters "});
  EXPECT_NE(counters.find("dropped_malformed=0"), std::string::npos) << counters;
}

}  // namespace
}  // namespace interop
