// Members with the encrypt sealer, or with a cluster label, next to a reference member: their
// packets are envelopes (first byte 00, field id 0) that the reference drops, and they drop the
// reference's plain packets: the two simply do not see each other, and neither crashes. A plain
// member beside them still meets the reference (docs/security.md).
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "interop.hpp"

namespace interop {
namespace {

using Sealing = InteropTest;

/// The counter `name` from a probe's `counters` line.
unsigned long counter(Process& p, const std::string& name) {
  const std::string line = p.command("counters", {"counters "});
  const auto at = line.find(" " + name + "=");
  return at == std::string::npos ? 0ul : std::stoul(line.substr(at + name.size() + 2));
}

TEST_F(Sealing, EncryptedAndLabelledMembersAndTheReferenceDoNotSeeEachOther) {
  const auto keyring = dir_ / "keyring";
  std::ofstream(keyring) << "3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhs=\n";
  ::chmod(keyring.c_str(), 0600);
  const std::string sealed = "sealer = encrypt\n[encrypt]\nkeyring = " + keyring.string();
  Process& a = probe("a", sealed, "t c", "udp-multicast tcp encrypt");
  Process& b = probe("b", sealed, "t c", "udp-multicast tcp encrypt");
  Process& labelled = probe("labelled", "label = blue");
  Process& plain = probe("plain");
  Process& ref = reference("ref", 8);
  ASSERT_TRUE(await_met(a, b, milliseconds(4000)));
  ASSERT_TRUE(await_met(plain, ref, milliseconds(4000))) << "the reference works beside them";
  std::this_thread::sleep_for(milliseconds(3000));  // three heartbeats each way
  for (Process* p : {&a, &b, &labelled}) {
    EXPECT_EQ(count_prefix(*p, "discovered " + uuid_of(ref)), 0u) << p->name() << " saw the reference";
    EXPECT_FALSE(ref.find_prefix("DISCOVERED " + uuid_of(*p))) << "the reference saw " << p->name();
  }
  EXPECT_GT(counter(a, "dropped_plain"), 0ul);     // the reference's heartbeats, and plain's
  EXPECT_GT(counter(labelled, "dropped_label"), 0ul);
  EXPECT_EQ(count_prefix(ref, "ERROR "), 0u) << "the reference reported an error";
}

}  // namespace
}  // namespace interop
