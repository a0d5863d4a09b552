// Members running the tls transport ("s", which the reference does not know) next to a
// reference member: protocols s t c. Between our members direct traffic goes over s; the
// reference stores our s props, skips s, and keeps talking t with us (docs/transports.md, tls).
#include "interop.hpp"
#include "tls_certs.hpp"

namespace interop {
namespace {

using Tls = InteropTest;

TEST_F(Tls, TheReferenceKeepsUsingTWithMembersListingS) {
  cluster::test::TestPki pki(dir_.string());
  auto tls_section = [&](const std::string& name) {
    const cluster::test::CertFiles files = pki.member(name);
    return "[tls]\ncert = " + files.cert + "\nkey = " + files.key + "\nca = " + pki.ca() + "\n";
  };
  Process& ours = probe("ours", tls_section("ours"), "s t c", "udp-multicast tcp tls");
  Process& peer = probe("peer", tls_section("peer"), "s t c", "udp-multicast tcp tls");
  ASSERT_EQ(ours.command("answer", {"answering"}), "answering");
  Process& ref = reference("ref", 8, {"-query-after", "1.5", "-query", "get version"});
  ASSERT_TRUE(await_met(ours, ref, milliseconds(4000)));
  ASSERT_TRUE(await_met(ours, peer, milliseconds(4000)));
  const auto seen = ref.find_prefix("DISCOVERED " + uuid_of(ours));
  ASSERT_TRUE(seen);
  EXPECT_NE(seen->text.find("protocols={s t c}"), std::string::npos) << seen->text;

  // The reference's query reaches us (over t) and is answered; ours reaches it over t too.
  const std::string sid = uuid_of(ours).substr(0, uuid_of(ours).find('@'));
  const auto result = await_line(ref, "QUERY-RESULT " + uuid_of(ours), milliseconds(4000));
  ASSERT_TRUE(result);
  EXPECT_NE(result->text.find("event=response data={" + sid + ":get version}"), std::string::npos) << result->text;
  const std::string ref_sid = uuid_of(ref).substr(0, uuid_of(ref).find('@'));
  EXPECT_EQ(ours.command("query " + uuid_of(ref) + " ping 3000", {"answers ", "timeout ", "stuck "}, milliseconds(6000)),
            "answers 1 " + uuid_of(ref) + "=answer-from-" + ref_sid);

  // Between our members: s.
  EXPECT_EQ(ours.command("send " + uuid_of(peer) + " over-tls", {"sent "}), "sent 1");
  const auto in = await_line(peer, "event " + uuid_of(ours) + " ", milliseconds(3000));
  ASSERT_TRUE(in);
  EXPECT_EQ(in->text, "event " + uuid_of(ours) + " s over-tls");
  EXPECT_EQ(count_prefix(ref, "ERROR "), 0u) << "the reference reported an error";
}

}  // namespace
}  // namespace interop
