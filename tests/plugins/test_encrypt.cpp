// The encrypt sealer (plugins/sealer-encrypt): EncryptSealer from the plugin's static library on
// a fake SealerHost with a manual wall clock. Round trips, every way a packet is refused
// (malformed, unknown key, forged, stale, replayed), the replay window, the keyring file's rules,
// rotation between two members, persistence, nonce uniqueness and the counter wrap.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

#include "encrypt_sealer.hpp"
#include "idle_loop.hpp"

namespace {

namespace sdk = cluster::sdk;
namespace enc = cluster::encrypt;
using sdk::OpenStatus;

constexpr std::int64_t kT0 = 1'700'000'000'000;  // ms since the Unix epoch

class FakeHost final : public sdk::SealerHost {
 public:
  explicit FakeHost(sdk::PluginConfig config) : config_(std::move(config)) {}
  sdk::EventLoop& loop() noexcept override { return loop_; }
  void log(sdk::LogLevel level, std::string_view message) noexcept override {
    logs.push_back({level, std::string(message)});
  }
  const sdk::ClusterSettings& settings() const noexcept override { return settings_; }
  const sdk::PluginConfig& config() const noexcept override { return config_; }

  std::vector<std::pair<sdk::LogLevel, std::string>> logs;

 private:
  cluster::test::IdleLoop loop_;
  sdk::ClusterSettings settings_;
  sdk::PluginConfig config_;
};

std::string base64(const unsigned char* p, std::size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

std::string random_key(std::size_t bytes = 32) {
  std::vector<unsigned char> k(bytes);
  EXPECT_EQ(RAND_bytes(k.data(), static_cast<int>(k.size())), 1);
  return base64(k.data(), k.size());
}

std::string id_of(const std::string& key_b64) {
  std::array<unsigned char, 48> raw{};
  const int n = EVP_DecodeBlock(raw.data(), reinterpret_cast<const unsigned char*>(key_b64.data()),
                                static_cast<int>(key_b64.size()));
  EXPECT_EQ(n, 33);  // 32 bytes and one padding byte
  return enc::key_id_hex(raw.data(), 32);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Key lines of a keyring file (comments and blank lines skipped), in order.
std::vector<std::string> key_lines(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#') out.push_back(line);
  return out;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

/// A member: a keyring file, a host, a sealer, a clock of its own.
struct Member {
  std::string path;
  std::int64_t now = kT0;
  std::unique_ptr<FakeHost> host;
  std::unique_ptr<enc::EncryptSealer> sealer;

  sdk::Keyring& keys() { return *sealer->keyring(); }
};

class Encrypt : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cluster-encrypt-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    const std::string cmd = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }

  std::string write_keyring(const std::string& name, const std::string& text, mode_t mode = 0600) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }

  /// A member whose keyring file holds `keys` (one per line), started.
  std::unique_ptr<Member> member(const std::string& name, const std::vector<std::string>& keys, bool persist = true,
                                 enc::Tuning tuning = {}) {
    std::string text = "# test keyring\n";
    for (const auto& k : keys) text += k + "\n";
    auto m = make(write_keyring(name, text), persist, std::move(tuning));
    const sdk::Result r = m->sealer->start();
    EXPECT_TRUE(r) << r.message();
    return m;
  }

  /// A member on the keyring file `path`, not started.
  std::unique_ptr<Member> make(const std::string& path, bool persist = true, enc::Tuning tuning = {}) {
    auto m = std::make_unique<Member>();
    m->path = path;
    sdk::PluginConfig cfg("encrypt", {{"keyring", path}, {"persist", persist ? "true" : "false"}, {"window", "30"}});
    m->host = std::make_unique<FakeHost>(cfg);
    enc::Options options;
    const sdk::Result r = enc::options_from(cfg, options);
    EXPECT_TRUE(r) << r.message();
    Member* raw = m.get();
    if (!tuning.now_ms) tuning.now_ms = [raw] { return raw->now; };
    m->sealer = std::make_unique<enc::EncryptSealer>(*m->host, options, std::move(tuning));
    return m;
  }

  sdk::Result start_with(const std::string& text, mode_t mode = 0600) {
    auto m = make(write_keyring("ring", text, mode));
    return m->sealer->start();
  }

  std::string dir_;
};

const std::string kAad = std::string("\0CL\x01\x04test", 8);

/// Seals `body` after kAad; returns the sealed part only.
std::string seal(Member& m, const std::string& body, std::uint8_t lane = 0) {
  std::string out = kAad;
  // aad is a view into `out`, as the core passes it.
  EXPECT_TRUE(m.sealer->seal(std::string_view(out), body, lane, out));
  EXPECT_EQ(out.compare(0, kAad.size(), kAad), 0);
  return out.substr(kAad.size());
}

OpenStatus open(Member& m, const std::string& sealed, std::string* body = nullptr,
                const std::string& aad = kAad) {
  std::string b = "junk";
  const OpenStatus s = m.sealer->open(aad, sealed, b);
  if (s != OpenStatus::ok) { EXPECT_TRUE(b.empty()) << "nothing is returned of a refused packet"; }
  if (body != nullptr) *body = b;
  return s;
}

std::string nonce_of(const std::string& sealed) { return sealed.substr(1 + 8, 12); }
std::string epoch_of(const std::string& sealed) { return sealed.substr(1 + 8 + 1, 7); }
std::uint32_t counter_of(const std::string& sealed) {
  std::uint32_t c = 0;
  for (std::size_t i = 0; i < 4; ++i) c = (c << 8) | static_cast<unsigned char>(sealed[1 + 8 + 8 + i]);
  return c;
}

// ---- round trips and the format ----

TEST_F(Encrypt, RoundTripsEverySize) {
  const std::string k = random_key();
  auto a = member("a", {k});
  auto b = member("b", {k});
  EXPECT_EQ(a->sealer->overhead(), 45u);
  std::mt19937 rng(7);
  for (std::size_t size : {0u, 1u, 64u, 1024u, 60u * 1024u}) {
    std::string body(size, '\0');
    for (char& c : body) c = static_cast<char>(rng());
    const std::string sealed = seal(*a, body, 3);
    ASSERT_EQ(sealed.size(), size + 45) << size;
    std::string opened;
    ASSERT_EQ(open(*b, sealed, &opened), OpenStatus::ok) << size;
    EXPECT_EQ(opened, body) << size;
    if (size >= 64) { EXPECT_EQ(sealed.find(body.substr(0, 32)), std::string::npos) << "the body is encrypted"; }
  }
  EXPECT_EQ(b->keys().list().at(0).opened, 5u);
}

TEST_F(Encrypt, HeaderLayout) {
  const std::string k = random_key();
  auto a = member("a", {k});
  a->now = 0x0102030405060708;
  const std::string s0 = seal(*a, "x", 9);
  const std::string s1 = seal(*a, "y", 9);
  EXPECT_EQ(s0[0], '\x01') << "version";
  std::string id_hex;
  for (std::size_t i = 1; i < 9; ++i) {
    char buf[3];
    std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned char>(s0[i]));
    id_hex += buf;
  }
  EXPECT_EQ(id_hex, id_of(k));
  EXPECT_EQ(id_hex, a->keys().list().at(0).id);
  EXPECT_EQ(s0[9], '\x09') << "the nonce starts with the lane";
  EXPECT_EQ(epoch_of(s0), epoch_of(s1));
  EXPECT_EQ(counter_of(s0), 0u);
  EXPECT_EQ(counter_of(s1), 1u);
  EXPECT_EQ(s0.substr(21, 8), std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8)) << "timestamp, big-endian";
}

TEST_F(Encrypt, KeyIdIsSha256OfContextAndKey) {
  std::array<unsigned char, 32> key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<unsigned char>(i);
  std::string input = "cluster-encrypt key id v1";
  input.append(reinterpret_cast<const char*>(key.data()), key.size());
  unsigned char digest[32];
  unsigned int n = 0;
  ASSERT_EQ(EVP_Digest(input.data(), input.size(), digest, &n, EVP_sha256(), nullptr), 1);
  std::string expect;
  for (std::size_t i = 0; i < 8; ++i) {
    char buf[3];
    std::snprintf(buf, sizeof buf, "%02x", digest[i]);
    expect += buf;
  }
  EXPECT_EQ(enc::key_id_hex(key.data(), key.size()), expect);
  EXPECT_EQ(expect.size(), 16u);
}

// ---- refusals ----

TEST_F(Encrypt, TamperingIsDetected) {
  const std::string k = random_key();
  auto a = member("a", {k});
  auto b = member("b", {k});
  const std::string body(100, 'q');
  for (std::size_t i = 0; i < 45 + body.size(); ++i) {
    std::string s = seal(*a, body);
    s[i] = static_cast<char>(s[i] ^ 0x01);
    OpenStatus want = OpenStatus::forged;  // nonce, timestamp, ciphertext, tag
    if (i == 0) want = OpenStatus::malformed;                   // version
    else if (i < 9) want = OpenStatus::unknown_key;             // key id
    EXPECT_EQ(open(*b, s), want) << "byte " << i;
  }
  const std::string s = seal(*a, body);
  std::string aad = kAad;
  aad[5] ^= 0x20;
  EXPECT_EQ(open(*b, s, nullptr, aad), OpenStatus::forged) << "the envelope header is authenticated";
  EXPECT_EQ(open(*b, s, nullptr, kAad.substr(1)), OpenStatus::forged);
  EXPECT_EQ(open(*b, s.substr(0, s.size() - 1)), OpenStatus::forged) << "truncated tag";
  EXPECT_EQ(open(*b, s + "x"), OpenStatus::forged) << "a byte added";
  EXPECT_EQ(open(*b, s.substr(0, 44)), OpenStatus::malformed) << "shorter than the overhead";
  EXPECT_EQ(open(*b, ""), OpenStatus::malformed);
  EXPECT_EQ(open(*b, s), OpenStatus::ok) << "the genuine packet still opens";
}

TEST_F(Encrypt, ForgeriesDoNotMoveTheReplayWindow) {
  const std::string k = random_key();
  auto a = member("a", {k});
  auto b = member("b", {k});
  std::vector<std::string> packets;
  for (int i = 0; i < 2000; ++i) packets.push_back(seal(*a, "p"));
  ASSERT_EQ(open(*b, packets[0]), OpenStatus::ok);
  // A forgery claiming counter 1999 (tag broken) must not push the window past packet 1.
  std::string forged = packets[1999];
  forged.back() = static_cast<char>(forged.back() ^ 0x80);
  EXPECT_EQ(open(*b, forged), OpenStatus::forged);
  EXPECT_EQ(open(*b, packets[1]), OpenStatus::ok);
  EXPECT_EQ(open(*b, packets[1999]), OpenStatus::ok);
}

TEST_F(Encrypt, AnotherKeyringIsAnUnknownKey) {
  auto a = member("a", {random_key()});
  auto b = member("b", {random_key()});
  EXPECT_EQ(open(*b, seal(*a, "hello")), OpenStatus::unknown_key);
}

TEST_F(Encrypt, ReplayIsRefused) {
  const std::string k = random_key();
  auto a = member("a", {k});
  auto b = member("b", {k});
  const std::string s = seal(*a, "once");
  EXPECT_EQ(open(*b, s), OpenStatus::ok);
  EXPECT_EQ(open(*b, s), OpenStatus::replayed);
  EXPECT_EQ(open(*b, s), OpenStatus::replayed);
  EXPECT_EQ(b->keys().list().at(0).opened, 1u);
}

TEST_F(Encrypt, ReorderingWithinTheWindowIsAcceptedOnceEach) {
  const std::string k = random_key();
  auto a = member("a", {k});
  auto b = member("b", {k});
  std::vector<std::string> packets;
  for (int i = 0; i < 1024; ++i) packets.push_back(seal(*a, std::to_string(i)));
  std::vector<std::size_t> order(packets.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(42));
  for (std::size_t i : order) {
    std::string body;
    ASSERT_EQ(open(*b, packets[i], &body), OpenStatus::ok) << i;
    EXPECT_EQ(body, std::to_string(i));
  }
  for (std::size_t i : order) EXPECT_EQ(open(*b, packets[i]), OpenStatus::replayed) << i;
}

TEST_F(Encrypt, OlderThanTheWindowIsReplayed) {
  const std::string k = random_key();
  auto a = member("a", {k});
  auto b = member("b", {k});
  std::vector<std::string> packets;
  for (int i = 0; i <= 1024; ++i) packets.push_back(seal(*a, "p"));
  ASSERT_EQ(open(*b, packets[1024]), OpenStatus::ok);
  EXPECT_EQ(open(*b, packets[0]), OpenStatus::replayed) << "counter <= highest - 1024";
  EXPECT_EQ(open(*b, packets[1]), OpenStatus::ok) << "highest - 1023 is inside the window";
  EXPECT_EQ(open(*b, packets[1]), OpenStatus::replayed);
  // A jump far ahead clears everything behind it.
  for (int i = 0; i < 5000; ++i) packets.push_back(seal(*a, "p"));
  ASSERT_EQ(open(*b, packets.back()), OpenStatus::ok);
  EXPECT_EQ(open(*b, packets[2000]), OpenStatus::replayed);
  EXPECT_EQ(open(*b, packets[packets.size() - 2]), OpenStatus::ok);
}

TEST_F(Encrypt, TheWindowSlides) {
  const std::string k = random_key();
  auto a = member("a", {k});
  auto b = member("b", {k});
  std::vector<std::string> packets;
  for (int i = 0; i < 2048; ++i) packets.push_back(seal(*a, "p"));
  // 0..1023 in order, then only the even ones up to 2047: the window slides one by one and two
  // by two; the odd ones left behind, still inside it, open late (the bits of the counters
  // that left the window were cleared).
  for (std::size_t i = 0; i < 1024; ++i) ASSERT_EQ(open(*b, packets[i]), OpenStatus::ok) << i;
  for (std::size_t i = 1024; i < 2048; i += 2) ASSERT_EQ(open(*b, packets[i]), OpenStatus::ok) << i;
  for (std::size_t i = 1025; i < 2048; i += 2) EXPECT_EQ(open(*b, packets[i]), OpenStatus::ok) << i;
  for (std::size_t i = 1024; i < 2048; ++i) EXPECT_EQ(open(*b, packets[i]), OpenStatus::replayed) << i;
  EXPECT_EQ(open(*b, packets[1023]), OpenStatus::replayed) << "highest - 1024";
}

TEST_F(Encrypt, LanesAreSeparateStreams) {
  const std::string k = random_key();
  auto a = member("a", {k});
  auto b = member("b", {k});
  const std::string l0 = seal(*a, "a", 0);
  const std::string l1 = seal(*a, "b", 1);
  EXPECT_EQ(counter_of(l0), 0u);
  EXPECT_EQ(counter_of(l1), 0u) << "a counter per lane";
  EXPECT_EQ(open(*b, l0), OpenStatus::ok);
  EXPECT_EQ(open(*b, l1), OpenStatus::ok);
  EXPECT_EQ(b->sealer->streams(), 2u);
}

TEST_F(Encrypt, StaleTimestamps) {
  const std::string k = random_key();
  auto a = member("a", {k});
  auto b = member("b", {k});
  const std::string s1 = seal(*a, "old");
  const std::string s2 = seal(*a, "old too");
  b->now = kT0 + 31'000;
  EXPECT_EQ(open(*b, s1), OpenStatus::stale);
  b->now = kT0 - 31'000;
  EXPECT_EQ(open(*b, s1), OpenStatus::stale) << "from the future";
  b->now = kT0 + 30'000;
  EXPECT_EQ(open(*b, s1), OpenStatus::ok) << "exactly the window: accepted";
  b->now = kT0 - 30'000;
  EXPECT_EQ(open(*b, s2), OpenStatus::ok);
}

TEST_F(Encrypt, StalePacketsDoNotMoveTheReplayWindow) {
  const std::string k = random_key();
  auto a = member("a", {k});
  auto b = member("b", {k});
  const std::string s = seal(*a, "x");
  b->now = kT0 + 40'000;
  EXPECT_EQ(open(*b, s), OpenStatus::stale);
  b->now = kT0;
  EXPECT_EQ(open(*b, s), OpenStatus::ok);
}

// ---- nonces ----

TEST_F(Encrypt, NoncesAreUnique) {
  const std::string k = random_key();
  auto a = member("a", {k});
  std::unordered_set<std::string> seen;
  std::string out;
  out.reserve(kAad.size() + 45 + 16);
  for (std::uint32_t i = 0; i < 100'000; ++i) {
    out = kAad;
    ASSERT_TRUE(a->sealer->seal(kAad, "body", 0, out));
    const std::string sealed = out.substr(kAad.size());
    ASSERT_EQ(counter_of(sealed), i);
    ASSERT_TRUE(seen.insert(nonce_of(sealed)).second) << i;
  }
  // Another member (another start) has another epoch.
  auto b = member("b", {k});
  EXPECT_NE(epoch_of(seal(*a, "x")), epoch_of(seal(*b, "x")));
}

TEST_F(Encrypt, CounterWrapTakesAFreshEpoch) {
  const std::string k = random_key();
  enc::Tuning t;
  t.counter_max = 3;
  auto a = member("a", {k}, true, t);
  auto b = member("b", {k});
  std::vector<std::string> packets;
  for (int i = 0; i < 9; ++i) packets.push_back(seal(*a, "w", 2));
  std::set<std::string> epochs;
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(counter_of(packets[static_cast<std::size_t>(i)]), static_cast<std::uint32_t>(i % 4)) << i;
    epochs.insert(epoch_of(packets[static_cast<std::size_t>(i)]));
  }
  EXPECT_EQ(epochs.size(), 3u) << "counters 0..3 per epoch, then a new epoch";
  EXPECT_EQ(epoch_of(packets[0]), epoch_of(packets[3]));
  EXPECT_NE(epoch_of(packets[3]), epoch_of(packets[4]));
  EXPECT_EQ(seal(*a, "other lane", 1).substr(10, 7), epoch_of(packets[0])) << "only the wrapped lane changes";
  for (const auto& p : packets) EXPECT_EQ(open(*b, p), OpenStatus::ok);
  EXPECT_EQ(b->sealer->streams(), 3u);
}

// ---- the replay table ----

TEST_F(Encrypt, ReplayTableEvictsOnlyStaleStreams) {
  const std::string k = random_key();
  enc::Tuning t;
  t.max_streams = 2;
  auto b = member("b", {k}, true, t);
  auto s1 = member("s1", {k});
  auto s2 = member("s2", {k});
  auto s3 = member("s3", {k});
  ASSERT_EQ(open(*b, seal(*s1, "1")), OpenStatus::ok);
  ASSERT_EQ(open(*b, seal(*s2, "2")), OpenStatus::ok);
  const std::string third = seal(*s3, "3");
  EXPECT_EQ(open(*b, third), OpenStatus::replayed) << "full, and every stream within the window";
  EXPECT_EQ(open(*b, seal(*s3, "3")), OpenStatus::replayed);
  std::size_t warnings = 0;
  for (const auto& [level, text] : b->host->logs)
    if (level == sdk::LogLevel::warning && text.find("replay table is full") != std::string::npos) ++warnings;
  EXPECT_EQ(warnings, 1u) << "rate-limited";
  EXPECT_EQ(b->sealer->streams(), 2u);
  // 31 s later s1's and s2's packets are all stale: s3's new stream takes s1's place.
  b->now = s1->now = s2->now = s3->now = kT0 + 31'000;
  EXPECT_EQ(open(*b, seal(*s3, "3")), OpenStatus::ok);
  EXPECT_EQ(b->sealer->streams(), 2u);
  // After window + 5 s without packets, streams are forgotten.
  b->now = s3->now = kT0 + 31'000 + 36'000;
  EXPECT_EQ(open(*b, seal(*s3, "again")), OpenStatus::ok);
  EXPECT_EQ(b->sealer->streams(), 1u);
}

// ---- rotation and the keyring ----

TEST_F(Encrypt, Rotation) {
  const std::string k1 = random_key();
  const std::string k2 = random_key();
  auto a = member("a", {k1});
  auto b = member("b", {k1});
  ASSERT_TRUE(a->keys().install(k2));
  ASSERT_TRUE(b->keys().install(k2));
  EXPECT_TRUE(b->keys().install(k2)) << "idempotent";
  EXPECT_EQ(b->keys().list().size(), 2u);
  const std::string old_packet = seal(*a, "k1");
  ASSERT_TRUE(a->keys().use(id_of(k2)));
  EXPECT_EQ(a->keys().list().at(0).id, id_of(k2));
  EXPECT_TRUE(a->keys().list().at(0).primary);
  const std::string new_packet = seal(*a, "k2");
  EXPECT_NE(new_packet.substr(1, 8), old_packet.substr(1, 8)) << "sealed under k2's id";
  EXPECT_EQ(open(*b, new_packet), OpenStatus::ok) << "B accepts k2 while its primary is k1";
  ASSERT_TRUE(b->keys().use(k2)) << "by key text too";
  const auto r = b->keys().remove(id_of(k1));
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(open(*b, old_packet), OpenStatus::unknown_key);
  EXPECT_EQ(open(*b, seal(*a, "k2 again")), OpenStatus::ok);
  const auto list = b->keys().list();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].id, id_of(k2));
  EXPECT_EQ(list[0].opened, 2u);
}

TEST_F(Encrypt, ThePrimaryCannotBeRemoved) {
  const std::string k1 = random_key();
  const std::string k2 = random_key();
  auto a = member("a", {k1, k2});
  const sdk::Result r = a->keys().remove(id_of(k1));
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("cannot remove the primary key; use another key first"), std::string::npos)
      << r.message();
  EXPECT_FALSE(a->keys().remove(k1)) << "by key text either";
  EXPECT_EQ(a->keys().list().size(), 2u);
  EXPECT_TRUE(a->keys().remove(k2));
}

TEST_F(Encrypt, UnknownIdsListTheKnownOnes) {
  const std::string k1 = random_key();
  const std::string k2 = random_key();
  auto a = member("a", {k1, k2});
  for (const sdk::Result& r : {a->keys().use("0123456789abcdef"), a->keys().remove("0123456789ABCDEF"),
                               a->keys().use("nonsense"), a->keys().remove(random_key())}) {
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find(id_of(k1) + " (primary)"), std::string::npos) << r.message();
    EXPECT_NE(r.message().find(id_of(k2)), std::string::npos) << r.message();
  }
  EXPECT_NE(a->keys().use("0123456789abcdef").message().find("0123456789abcdef"), std::string::npos);
  EXPECT_TRUE(a->keys().use(id_of(k2)));
  std::string upper = id_of(k1);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(a->keys().use(upper)) << "ids in either case";
}

TEST_F(Encrypt, InstallRefusesBadKeys) {
  auto a = member("a", {random_key()});
  const std::string short_key = random_key(16);
  for (const std::string& bad : {short_key, std::string("not base64!"), std::string(""), random_key(33)}) {
    const sdk::Result r = a->keys().install(bad);
    ASSERT_FALSE(r) << bad;
    if (!bad.empty()) { EXPECT_EQ(r.message().find(bad), std::string::npos) << "never quotes the key: " << r.message(); }
  }
  EXPECT_NE(a->keys().install(short_key).message().find("16 bytes, not 32"), std::string::npos);
  EXPECT_EQ(a->keys().list().size(), 1u);
}

TEST_F(Encrypt, KeysNeverAppearInListsLogsOrErrors) {
  const std::string k1 = random_key();
  const std::string k2 = random_key();
  const std::string k3 = random_key();
  auto a = member("a", {k1});
  ASSERT_TRUE(a->keys().install(k2));
  ASSERT_TRUE(a->keys().use(k2));
  std::vector<std::string> texts;
  texts.push_back(a->keys().remove(k2).message());
  texts.push_back(a->keys().use(k3).message());
  texts.push_back(a->keys().remove(k3).message());
  ASSERT_TRUE(a->keys().remove(k1));
  for (const auto& info : a->keys().list()) texts.push_back(info.id);
  for (const auto& [level, text] : a->host->logs) texts.push_back(text);
  ASSERT_GE(texts.size(), 5u);
  for (const std::string& t : texts)
    for (const std::string& k : {k1, k2, k3}) {
      EXPECT_EQ(t.find(k), std::string::npos) << t;
      EXPECT_EQ(t.find(k.substr(0, 20)), std::string::npos) << t;
    }
}

TEST_F(Encrypt, NotStartedSealsNothing) {
  auto m = make(write_keyring("ring", random_key() + "\n"));
  std::string out;
  EXPECT_FALSE(m->sealer->seal("", "x", 0, out));
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(m->keys().install(random_key()));
}

// ---- the keyring file ----

TEST_F(Encrypt, KeyringFileRules) {
  const std::string k = random_key();
  EXPECT_TRUE(start_with(k + "\n", 0600));
  EXPECT_TRUE(start_with(k + "\n", 0400));
  sdk::Result r = start_with(k + "\n", 0644);
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("mode 0644"), std::string::npos) << r.message();
  EXPECT_NE(r.message().find("chmod 600 " + dir_ + "/ring"), std::string::npos) << r.message();
  EXPECT_FALSE(start_with(k + "\n", 0640));
  EXPECT_FALSE(start_with(k + "\n", 0601));

  r = make(dir_ + "/missing")->sealer->start();
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find(dir_ + "/missing"), std::string::npos) << r.message();
  EXPECT_NE(r.message().find("does not exist"), std::string::npos) << r.message();

  r = start_with("# first\n\n" + k + "\nnot*base64\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("line 4"), std::string::npos) << r.message();
  EXPECT_NE(r.message().find("not a base64 key"), std::string::npos) << r.message();

  r = start_with(random_key(16) + "\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("line 1"), std::string::npos) << r.message();
  EXPECT_NE(r.message().find("16 bytes, not 32"), std::string::npos) << r.message();

  r = start_with(k + "\n" + random_key() + "\n" + k + "\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("line 3"), std::string::npos) << r.message();
  EXPECT_NE(r.message().find("line 1"), std::string::npos) << r.message();
  EXPECT_NE(r.message().find(id_of(k)), std::string::npos) << r.message();

  r = start_with("# only comments\n\n   \n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("holds no key"), std::string::npos) << r.message();
  EXPECT_FALSE(start_with(""));

  for (const std::string& t : {r.message()}) EXPECT_EQ(t.find(k), std::string::npos);
}

TEST_F(Encrypt, KeyringFileOwnedByAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  const std::string path = write_keyring("ring", random_key() + "\n");
  ASSERT_EQ(::chown(path.c_str(), 12345, 12345), 0);
  const sdk::Result r = make(path)->sealer->start();
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("owned by uid 12345"), std::string::npos) << r.message();
}

TEST_F(Encrypt, CommentsBlankLinesAndTheFirstKeyIsPrimary) {
  const std::string k1 = random_key();
  const std::string k2 = random_key();
  auto a = make(write_keyring("ring", "# comment\n\n  " + k1 + "  \r\n# another\n" + k2));
  const sdk::Result r = a->sealer->start();
  ASSERT_TRUE(r) << r.message();
  const auto list = a->keys().list();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, id_of(k1));
  EXPECT_TRUE(list[0].primary);
  EXPECT_EQ(list[1].id, id_of(k2));
  EXPECT_FALSE(list[1].primary);
}

TEST_F(Encrypt, OptionsNeedAKeyring) {
  enc::Options o;
  const sdk::Result r = enc::options_from(sdk::PluginConfig("encrypt", {{"keyring", ""}, {"window", "30"}}), o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("[encrypt] keyring is empty"), std::string::npos) << r.message();
  ASSERT_TRUE(enc::options_from(
      sdk::PluginConfig("encrypt", {{"keyring", "/x"}, {"persist", "false"}, {"window", "7"}}), o));
  EXPECT_EQ(o.keyring, "/x");
  EXPECT_FALSE(o.persist);
  EXPECT_EQ(o.window_ms, 7000);
}

TEST_F(Encrypt, PersistRewritesTheFile) {
  const std::string k1 = random_key();
  const std::string k2 = random_key();
  const std::string k3 = random_key();
  auto a = member("a", {k1}, true);
  ASSERT_TRUE(a->keys().install(k2));
  EXPECT_EQ(key_lines(a->path), (std::vector<std::string>{k1, k2}));
  EXPECT_EQ(mode_of(a->path), 0600u);
  ASSERT_TRUE(a->keys().use(id_of(k2)));
  EXPECT_EQ(key_lines(a->path), (std::vector<std::string>{k2, k1})) << "the primary first";
  ASSERT_TRUE(a->keys().install(k3));
  ASSERT_TRUE(a->keys().remove(id_of(k1)));
  EXPECT_EQ(key_lines(a->path), (std::vector<std::string>{k2, k3}));
  EXPECT_EQ(mode_of(a->path), 0600u);
  EXPECT_NE(::access((a->path + ".tmp").c_str(), F_OK), 0) << "no temporary file left";
  // The file reads back as the same keyring.
  auto again = make(a->path);
  ASSERT_TRUE(again->sealer->start());
  EXPECT_EQ(again->keys().list().at(0).id, id_of(k2));
  EXPECT_EQ(again->keys().list().size(), 2u);
}

TEST_F(Encrypt, PersistFalseLeavesTheFileAlone) {
  const std::string k1 = random_key();
  auto a = member("a", {k1}, false);
  const std::string before = read_file(a->path);
  ASSERT_TRUE(a->keys().install(random_key()));
  ASSERT_TRUE(a->keys().use(a->keys().list().at(1).id));
  ASSERT_TRUE(a->keys().remove(id_of(k1)));
  EXPECT_EQ(read_file(a->path), before);
}

TEST_F(Encrypt, AFailedWriteLeavesTheKeyringUnchanged) {
  const std::string k1 = random_key();
  const std::string k2 = random_key();
  auto a = member("a", {k1, k2}, true);
  const std::string before = read_file(a->path);
  // A directory where the temporary file goes: it can be neither removed nor created.
  ASSERT_EQ(::mkdir((a->path + ".tmp").c_str(), 0700), 0);
  sdk::Result r = a->keys().install(random_key());
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("the keyring is unchanged"), std::string::npos) << r.message();
  EXPECT_FALSE(a->keys().use(id_of(k2)));
  EXPECT_FALSE(a->keys().remove(id_of(k2)));
  const auto list = a->keys().list();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, id_of(k1));
  EXPECT_EQ(read_file(a->path), before);
}

}  // namespace
