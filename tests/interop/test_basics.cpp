// Interop basics (docs/interop.md): discovery both ways, a query each way, an event each way
// between cluster_probe and a live reference member.
#include "interop.hpp"

namespace interop {
namespace {

using Basics = InteropTest;

TEST_F(Basics, DiscoveryBothWays) {
  Process& ours = probe("ours");
  Process& ref = reference("ref", 8);
  ASSERT_TRUE(await_met(ours, ref, milliseconds(4000)));
  // The reference learned our t props (its DISCOVERED line prints them) and we learned its port.
  const std::string props = ours.command("props", {"props "});
  const std::string port = props.substr(props.find("port ") + 5, props.find('}') - props.find("port ") - 5);
  const auto seen = ref.find_prefix("DISCOVERED " + uuid_of(ours));
  ASSERT_TRUE(seen);
  EXPECT_NE(seen->text.find("props={t {port " + port + "}}"), std::string::npos) << seen->text << " / " << props;
  const std::string peer = ours.command("peer " + uuid_of(ref), {"peer "});
  EXPECT_NE(peer.find("t {port "), std::string::npos) << peer;
  // A member joining after us is discovered too (discovery is not only our join's probe).
  Process& late = probe("late");
  EXPECT_TRUE(await_met(late, ref, milliseconds(4000)));
}

TEST_F(Basics, QueryEachWay) {
  Process& ours = probe("ours");
  ASSERT_EQ(ours.command("answer", {"answering"}), "answering");
  Process& ref = reference("ref", 8, {"-query-after", "1.5", "-query", "get version"});
  ASSERT_TRUE(await_met(ours, ref, milliseconds(4000)));
  // theirs to ours: our hook answers "<sid>:<query>"
  const std::string sid = uuid_of(ours).substr(0, uuid_of(ours).find('@'));
  const auto result = await_line(ref, "QUERY-RESULT " + uuid_of(ours), milliseconds(4000));
  ASSERT_TRUE(result);
  EXPECT_NE(result->text.find("event=response data={" + sid + ":get version}"), std::string::npos) << result->text;
  EXPECT_TRUE(await_line(ref, "QUERY-DONE answered=1 remaining=0", milliseconds(1000)));
  // ours to theirs
  const std::string ref_sid = uuid_of(ref).substr(0, uuid_of(ref).find('@'));
  EXPECT_EQ(ours.command("query " + uuid_of(ref) + " ping 3000", {"answers ", "timeout ", "stuck "}, milliseconds(6000)),
            "answers 1 " + uuid_of(ref) + "=answer-from-" + ref_sid);
}

TEST_F(Basics, EventEachWay) {
  Process& ours = probe("ours");
  Process& ref = reference("ref", 8, {"-event-after", "1.5", "-event", "hello from tcl"});
  ASSERT_TRUE(await_met(ours, ref, milliseconds(4000)));
  const auto in = await_line(ours, "event " + uuid_of(ref) + " ", milliseconds(4000));
  ASSERT_TRUE(in);
  EXPECT_EQ(in->text, "event " + uuid_of(ref) + " t hello from tcl");
  EXPECT_EQ(ours.command("send " + uuid_of(ref) + " hello-from-probe", {"sent "}), "sent 1");
  const auto got = await_line(ref, "EVENT " + uuid_of(ours), milliseconds(3000));
  ASSERT_TRUE(got);
  EXPECT_NE(got->text.find("data=hello-from-probe"), std::string::npos) << got->text;
}

}  // namespace
}  // namespace interop
