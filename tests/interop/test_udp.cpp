// A member that runs the udp transport ("d", which the reference does not know) next to a
// reference member: protocols t u c d, props with "d {port N}". The reference skips protocols it
// does not run, so everything still goes over t (docs/transports.md, udp).
#include "interop.hpp"

namespace interop {
namespace {

using Udp = InteropTest;

TEST_F(Udp, TheReferenceToleratesAMemberListingD) {
  // A fixed [udp] port (the namespace is the test's own), to find it in the reference's view.
  Process& ours = probe("ours", "[udp]\nport = 17401", "t u c d", "udp-multicast tcp unix udp");
  ASSERT_EQ(ours.command("answer", {"answering"}), "answering");
  Process& ref = reference("ref", 8, {"-query-after", "1.5", "-query", "get version", "-event-after", "1.5", "-event",
                                      "hello from tcl"});
  ASSERT_TRUE(await_met(ours, ref, milliseconds(4000)));
  // It stored our d props with the rest and lists our protocols as we sent them.
  const auto seen = ref.find_prefix("DISCOVERED " + uuid_of(ours));
  ASSERT_TRUE(seen);
  EXPECT_NE(seen->text.find("protocols={t u c d}"), std::string::npos) << seen->text;
  EXPECT_NE(seen->text.find("d {port 17401}"), std::string::npos) << seen->text;

  // Its query and event reach us (over t), and ours reach it.
  const std::string sid = uuid_of(ours).substr(0, uuid_of(ours).find('@'));
  const auto result = await_line(ref, "QUERY-RESULT " + uuid_of(ours), milliseconds(4000));
  ASSERT_TRUE(result);
  EXPECT_NE(result->text.find("event=response data={" + sid + ":get version}"), std::string::npos) << result->text;
  const auto in = await_line(ours, "event " + uuid_of(ref) + " ", milliseconds(4000));
  ASSERT_TRUE(in);
  EXPECT_EQ(in->text, "event " + uuid_of(ref) + " t hello from tcl");
  const std::string ref_sid = uuid_of(ref).substr(0, uuid_of(ref).find('@'));
  EXPECT_EQ(ours.command("query " + uuid_of(ref) + " ping 3000", {"answers ", "timeout ", "stuck "}, milliseconds(6000)),
            "answers 1 " + uuid_of(ref) + "=answer-from-" + ref_sid);
  EXPECT_EQ(ours.command("send " + uuid_of(ref) + " hello-from-probe", {"sent "}), "sent 1");
  EXPECT_TRUE(await_line(ref, "EVENT " + uuid_of(ours), milliseconds(3000)));
  EXPECT_EQ(count_prefix(ref, "ERROR "), 0u) << "the reference reported an error";
}

}  // namespace
}  // namespace interop
