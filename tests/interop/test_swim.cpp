// Members running the swim failure detector next to a reference member: they advertise
// "swim {v 1}" in their props and probe each other with type 9 packets; the reference stores
// the extra props key, is never sent a swim packet, and stays under the ttl rule
// (docs/failure-detection.md, "Mixed clusters").
#include <thread>

#include "interop.hpp"

namespace interop {
namespace {

using Swim = InteropTest;

TEST_F(Swim, TheReferenceStaysUnderTheTtlRuleBesideSwimMembers) {
  const std::string swim = "failure_detector = swim";
  Process& a = probe("a", swim, "t u c d", "udp-multicast tcp unix udp swim");
  Process& b = probe("b", swim, "t u c d", "udp-multicast tcp unix udp swim");
  Process& ref = reference("ref", 8);
  ASSERT_TRUE(await_met(a, ref, milliseconds(4000)));
  ASSERT_TRUE(await_met(b, ref, milliseconds(4000)));
  ASSERT_TRUE(await_met(a, b, milliseconds(4000)));
  const auto seen = ref.find_prefix("DISCOVERED " + uuid_of(a));
  ASSERT_TRUE(seen);
  EXPECT_NE(seen->text.find("swim {v 1}"), std::string::npos) << seen->text;

  // Five seconds of probing each other; the reference is not probed (it would not answer) and
  // so is not lost, and it reports no error.
  std::this_thread::sleep_for(milliseconds(5000));
  auto probes = [](Process& p) {
    const std::string line = p.command("counters", {"counters "});
    const auto at = line.find(" probes_sent=");
    return at == std::string::npos ? 0ul : std::stoul(line.substr(at + 13));
  };
  EXPECT_GT(probes(a), 0ul);
  EXPECT_GT(probes(b), 0ul);
  EXPECT_EQ(count_prefix(a, "lost "), 0u);
  EXPECT_EQ(count_prefix(b, "lost "), 0u);
  EXPECT_EQ(count_prefix(ref, "ERROR "), 0u) << "the reference reported an error";
  EXPECT_EQ(count_prefix(ref, "LOST "), 0u);
}

}  // namespace
}  // namespace interop
