// The envelope around every packet when a member has a cluster label or a sealer
// (core/src/messaging/envelope.hpp): byte-for-byte reference packets without either, labels
// that keep clusters apart, sealed packets that only sealing members open, every refusal counted.
#include <gtest/gtest.h>

#include <set>
#include <stdexcept>

#include "cluster/bpacket/frame.hpp"
#include "cluster/bpacket/payload_codec.hpp"
#include "memory_cluster.hpp"
#include "messaging/envelope.hpp"

using namespace cluster;
using namespace std::chrono_literals;

namespace {

// Not crypto: a reversible wrapping with a checksum over aad and body, a replay set, and a
// keyring of names. Enough to see what the core does with each answer of a sealer.
struct FakeSealer final : sdk::PacketSealer, sdk::Keyring {
  std::vector<std::string> keys{"k1"};
  std::set<std::string> seen;
  static std::uint32_t sum(std::string_view a, std::string_view b) {
    std::uint32_t h = 2166136261u;
    for (char c : a) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    for (char c : b) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    return h;
  }
  sdk::Result start() noexcept override { return sdk::Result::success(); }
  std::size_t overhead() const noexcept override { return 24; }  // at most: it adds 21
  bool seal(std::string_view aad, std::string_view body, std::uint8_t lane, std::string& out) noexcept override {
    static std::uint64_t counter = 0;
    out += "SEAL" + keys.front().substr(0, 2) + static_cast<char>(lane) + '|';
    out += std::to_string(++counter % 100000000 + 100000000);  // 9 digits: every packet unique
    out.append(body.data(), body.size());
    const std::uint32_t h = sum(aad, out.substr(out.size() - body.size()));
    out.append(reinterpret_cast<const char*>(&h), 4);
    return true;
  }
  sdk::OpenStatus open(std::string_view aad, std::string_view sealed, std::string& body) noexcept override {
    if (sealed.size() < 21 || sealed.substr(0, 4) != "SEAL") return sdk::OpenStatus::malformed;
    if (std::find(keys.begin(), keys.end(), std::string(sealed.substr(4, 2))) == keys.end())
      return sdk::OpenStatus::unknown_key;
    const std::string_view inner = sealed.substr(17, sealed.size() - 21);
    std::uint32_t h = 0;
    std::memcpy(&h, sealed.data() + sealed.size() - 4, 4);
    if (h != sum(aad, inner)) return sdk::OpenStatus::forged;
    if (!seen.insert(std::string(sealed)).second) return sdk::OpenStatus::replayed;
    body.assign(inner.data(), inner.size());
    return sdk::OpenStatus::ok;
  }
  sdk::Keyring* keyring() noexcept override { return this; }
  sdk::Result install(std::string_view k) noexcept override {
    if (k.size() != 2) return sdk::Result::failure("keys have 2 characters");
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.emplace_back(k);
    return sdk::Result::success();
  }
  sdk::Result use(std::string_view k) noexcept override {
    auto it = std::find(keys.begin(), keys.end(), k);
    if (it == keys.end()) return sdk::Result::failure("no key '" + std::string(k) + "'");
    std::rotate(keys.begin(), it, it + 1);
    return sdk::Result::success();
  }
  sdk::Result remove(std::string_view k) noexcept override {
    if (!keys.empty() && keys.front() == k) return sdk::Result::failure("cannot remove the primary key");
    keys.erase(std::remove(keys.begin(), keys.end(), k), keys.end());
    return sdk::Result::success();
  }
  std::vector<sdk::KeyInfo> list() const override {
    std::vector<sdk::KeyInfo> out;
    for (const auto& k : keys) out.push_back({k, k == keys.front(), 0});
    return out;
  }
};

std::string counts(const Cluster& c) {
  const Counters k = c.counters();
  return "received " + std::to_string(k.received) + " sent " + std::to_string(k.sent) + " failures " +
         std::to_string(k.send_failures) + " malformed " + std::to_string(k.dropped_malformed) + " label " +
         std::to_string(k.dropped_label) + " unopened " + std::to_string(k.dropped_unopened) + " invalid " +
         std::to_string(k.dropped_invalid) + " filter " + std::to_string(k.dropped_filter) + " hook " +
         std::to_string(k.dropped_hook) + " unreachable " + std::to_string(k.unreachable);
}

Payload sample() {
  Payload p;
  p.type = 6;
  p.sid = std::string("abc");
  p.hid = std::string("02:00:00:00:00:01");
  p.protocols = StringList{"t", "c"};
  p.data = std::string("hello");
  return p;
}

std::string body_of(const std::string& framed) {
  std::string body;
  bpacket::for_each_frame(framed, bpacket::kDatagramLimit, [&](const bpacket::Frame& f) { body = f.body; });
  return body;
}

}  // namespace

TEST(Envelope, WithoutLabelOrSealerPacketsAreTheReferencesByteForByte) {
  Envelope off({}, nullptr);
  EXPECT_FALSE(off.active());
  EXPECT_EQ(off.overhead(), 0u);
  std::string ours, reference;
  ASSERT_TRUE(off.encode(sample(), 0, ours));
  bpacket::encode_payload(sample(), reference);
  EXPECT_EQ(ours, reference);
  std::string_view payload;
  sdk::OpenStatus why;
  const std::string body = body_of(reference);
  EXPECT_EQ(off.open(body, payload, why), Envelope::Open::ok);
  EXPECT_EQ(payload, body);
}

TEST(Envelope, ALabelTravelsInClearAndOnlyTheSameLabelPasses) {
  Envelope blue("blue", nullptr), green("green", nullptr), none({}, nullptr);
  std::string framed;
  ASSERT_TRUE(blue.encode(sample(), 0, framed));
  const std::string body = body_of(framed);
  // filter = {"\x01CL"}, then raw: its length, flags 0, the label's length and the label.
  ASSERT_EQ(body.substr(0, 10), std::string("\x0E\x01\x03\x01" "CL\x0B", 7) + std::string(1, static_cast<char>(body.size() - 8)) +
                                    std::string("\0\4", 2));
  EXPECT_EQ(body.substr(10, 4), "blue");
  Payload as_reference_sees_it;  // a payload it decodes, filtered to nobody: dropped silently
  ASSERT_TRUE(bpacket::decode_payload(body, as_reference_sees_it));
  EXPECT_EQ(as_reference_sees_it.filter.value_or(StringList{}), StringList{"\x01" "CL"});
  EXPECT_FALSE(as_reference_sees_it.sid.has());
  EXPECT_EQ(Envelope::label_of(body), "blue");
  EXPECT_LE(framed.size(), [] { std::string r; bpacket::encode_payload(sample(), r); return r.size(); }() + blue.overhead());

  std::string_view payload;
  sdk::OpenStatus why;
  ASSERT_EQ(blue.open(body, payload, why), Envelope::Open::ok);
  Payload back;
  ASSERT_TRUE(bpacket::decode_payload(payload, back));
  EXPECT_EQ(back.data.value_or(""), "hello");
  EXPECT_EQ(green.open(body, payload, why), Envelope::Open::label);
  EXPECT_EQ(none.open(body, payload, why), Envelope::Open::label);  // a labelled cluster is another cluster
  std::string plain;
  bpacket::encode_payload(sample(), plain);
  EXPECT_EQ(blue.open(body_of(plain), payload, why), Envelope::Open::label);  // the reference has no label
}

TEST(Envelope, SealedPacketsOpenOnlyWithTheSealerAndEveryRefusalHasItsReason) {
  auto sealer = std::make_shared<FakeSealer>();
  Envelope sealed({}, sealer), plain({}, nullptr), other("x", sealer);
  std::string framed;
  ASSERT_TRUE(sealed.encode(sample(), 3, framed));
  const std::string body = body_of(framed);
  EXPECT_EQ(body[8], '\1');                                // the sealed flag
  EXPECT_EQ(body.find("SEAL"), 10u);                       // the fake's content, after the header
  std::string_view payload;
  sdk::OpenStatus why;
  ASSERT_EQ(sealed.open(body, payload, why), Envelope::Open::ok);
  EXPECT_EQ(sealed.open(body, payload, why), Envelope::Open::replay);  // the sealer's replay answer
  EXPECT_EQ(why, sdk::OpenStatus::replayed);

  EXPECT_EQ(plain.open(body, payload, why), Envelope::Open::unopened);  // no sealer here
  EXPECT_EQ(other.open(body, payload, why), Envelope::Open::label);     // label first, no key needed

  std::string tampered = body;
  tampered[10] ^= 0x20;  // inside the sealer's part: not its mark any more
  EXPECT_EQ(sealed.open(tampered, payload, why), Envelope::Open::unopened);
  EXPECT_EQ(why, sdk::OpenStatus::malformed);
  std::string unsealed = body;
  unsealed[8] = '\0';  // a downgrade of the flag alone: the content does not decode as a payload
  EXPECT_EQ(sealed.open(unsealed, payload, why), Envelope::Open::plain);
  std::string flagged = body;
  flagged[8] = '\3';  // an unknown flag bit
  EXPECT_EQ(sealed.open(flagged, payload, why), Envelope::Open::malformed);
  EXPECT_EQ(sealed.open(body.substr(0, 7), payload, why), Envelope::Open::malformed);  // the prefix alone
  EXPECT_EQ(sealed.open(body.substr(0, body.size() - 1), payload, why), Envelope::Open::malformed);  // raw cut short
  std::string ref;
  bpacket::encode_payload(sample(), ref);
  EXPECT_EQ(sealed.open(body_of(ref), payload, why), Envelope::Open::plain);  // the reference's plain packet
}

namespace {

class Sealing : public test::MemoryClusterTest {
 protected:
  std::vector<FakeSealer*> sealers;
  std::unique_ptr<Cluster> join(Options o, const std::string& ip, bool seal) {
    auto pm = net.plugins_for(ip);
    pm->add_sealer("fake", [this](sdk::SealerHost&) {
      auto s = std::make_unique<FakeSealer>();
      sealers.push_back(s.get());
      return s;
    });
    if (seal) o.sealer = "fake";
    return Cluster::join(std::move(o), pm, loop);
  }
  static bool knows(const Cluster& a, const Cluster& b) { return !a.resolve({b.sid()}).empty(); }
  /// Asks every member tagged "w" for "ping", keeping the answers.
  static QueryPtr ask_workers(Cluster& c) {
    QueryOptions q;
    q.resolve = {"w"};
    q.query = "ping";
    q.collect = true;
    return c.query(q);
  }
};

}  // namespace

TEST_F(Sealing, LabelsKeepTwoClustersOnOneGroupApartAndCountWhatTheyDrop) {
  Options blue = fast({"w"}), green = fast({"w"});
  blue.label = "blue";
  green.label = "green";
  Options asker = fast({"asker"});
  asker.label = "blue";
  auto a = join(asker, "127.0.0.1", false);
  auto b = join(blue, "127.0.0.2", false);
  auto c = join(green, "127.0.0.3", false);
  auto d = join(fast({"w"}), "127.0.0.4", false);  // no label: the reference's packets
  ASSERT_TRUE(run_until([&] { return knows(*a, *b) && knows(*b, *a); }));
  run_until([] { return false; }, 300ms);
  EXPECT_FALSE(knows(*a, *c));
  EXPECT_FALSE(knows(*c, *a));
  EXPECT_FALSE(knows(*a, *d));
  EXPECT_FALSE(knows(*d, *a));
  EXPECT_EQ(a->known_services(), 1u);
  EXPECT_GT(a->counters().dropped_label, 0u);
  EXPECT_GT(c->counters().dropped_label, 0u);
  EXPECT_GT(d->counters().dropped_label, 0u);
  EXPECT_EQ(a->counters().dropped_malformed, 0u);
  answer_with(*b, "b");
  auto asked = ask_workers(*a);
  ASSERT_TRUE(run_until([&] { return asked->done(); })) << counts(*a) << "\n" << counts(*b);
  EXPECT_EQ(asked->results().size(), 1u);  // b only: c and d are other clusters
}

TEST_F(Sealing, SealedMembersTalkAndAPlainMemberIsNeitherHeardNorHearing) {
  auto a = join(fast({"asker"}), "127.0.0.1", true);
  auto b = join(fast({"w"}), "127.0.0.2", true);
  auto c = join(fast({"w"}), "127.0.0.3", false);
  ASSERT_TRUE(run_until([&] { return knows(*a, *b) && knows(*b, *a); }));
  answer_with(*b, "b");
  auto asked = ask_workers(*a);
  ASSERT_TRUE(run_until([&] { return asked->done(); }));
  ASSERT_EQ(asked->results().size(), 1u);
  EXPECT_EQ(asked->results().begin()->second.data, "b:ping");
  run_until([] { return false; }, 300ms);
  EXPECT_FALSE(knows(*a, *c));
  EXPECT_FALSE(knows(*c, *a));
  EXPECT_GT(a->counters().dropped_plain, 0u);     // c's plain heartbeats: refused, not read
  EXPECT_GT(c->counters().dropped_unopened, 0u);  // a's sealed ones: c has no sealer
  EXPECT_EQ(a->counters().dropped_malformed + c->counters().dropped_malformed, 0u);
}

TEST_F(Sealing, ReplayedTamperedAndDowngradedPacketsAreDroppedAndCounted) {
  std::vector<std::string> from_b;
  net.tap = [&](const std::string& from, std::string_view packet) {
    if (from == "127.0.0.2") from_b.emplace_back(packet);
  };
  auto a = join(fast({"w"}), "127.0.0.1", true);
  auto b = join(fast({"w"}), "127.0.0.2", true);
  ASSERT_TRUE(run_until([&] { return knows(*a, *b) && !from_b.empty(); }));
  net.tap = nullptr;
  test::MemoryProtocol* a_group = nullptr;
  for (auto* p : net.created)
    if (p->host_ip() == "127.0.0.1" && p->id() == "c") a_group = p;
  ASSERT_NE(a_group, nullptr);
  const std::string captured = from_b.front();
  const Counters before = a->counters();
  loop.call([&] { a_group->deliver(captured, "127.0.0.2", 0); });  // replayed
  EXPECT_EQ(a->counters().dropped_replay, before.dropped_replay + 1);
  std::string tampered = captured;
  tampered[tampered.size() - 4] ^= 1;  // in the body, just before the footer: the checksum
  loop.call([&] { a_group->deliver(tampered, "127.0.0.2", 0); });
  EXPECT_EQ(a->counters().dropped_unopened, before.dropped_unopened + 1);
  Payload p = sample();
  p.sid = b->sid();
  p.hid = b->hid();
  std::string plain;
  bpacket::encode_payload(p, plain);
  loop.call([&] { a_group->deliver(plain, "127.0.0.2", 0); });  // plain, in b's name
  EXPECT_EQ(a->counters().dropped_plain, before.dropped_plain + 1);
  EXPECT_EQ(a->counters().received, before.received);  // none of them reached the decoder
}

TEST_F(Sealing, KeyringCallsReachTheSealerAndNeedOne) {
  auto a = join(fast(), "127.0.0.1", true);
  a->install_key("k2");
  EXPECT_THROW(a->install_key("too long"), std::invalid_argument);
  a->use_key("k2");
  EXPECT_THROW(a->remove_key("k2"), std::invalid_argument);  // the primary
  a->remove_key("k1");
  const auto keys = a->keys();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].id, "k2");
  EXPECT_TRUE(keys[0].primary);
  auto plain = join(fast(), "127.0.0.2", false);
  EXPECT_THROW(plain->keys(), std::runtime_error);
  EXPECT_THROW(plain->install_key("k3"), std::runtime_error);
}

TEST_F(Sealing, BadLabelsAndUnknownSealersAreRefusedAtJoin) {
  Options o = fast();
  o.label = std::string(256, 'x');
  EXPECT_THROW(join(o, "127.0.0.1", false), ConfigError);
  o.label = "tab\there";
  EXPECT_THROW(join(o, "127.0.0.1", false), ConfigError);
  o.label = "ok";
  o.sealer = "nope";
  try {
    Cluster::join(o, net.plugins_for("127.0.0.1"), loop);
    FAIL() << "joined with an unknown sealer";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("no loaded plugin provides it"), std::string::npos) << e.what();
  }
  EXPECT_EQ(Options::label_problem(std::string(255, 'x')), "");
}
