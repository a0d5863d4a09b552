// Whole members with the encrypt sealer (cluster-encrypt.so), over real TCP on loopback, found
// through the seeds discovery (no multicast, so no network namespace): a key rotation across
// three members under a steady query load fails no query; members with another key, no sealer
// or another label never see the cluster and are counted. Then, on the in-memory network where
// every packet can be caught and altered, the attacks: tampered, truncated, replayed, downgraded.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "cluster/bpacket/frame.hpp"
#include "cluster/bpacket/payload_codec.hpp"
#include "cluster/bpacket/varint.hpp"
#include "cluster/cluster.hpp"
#include "member_helpers.hpp"
#include "memory_cluster.hpp"

namespace cluster::test {
namespace {

using namespace std::chrono_literals;

// Three AES-256 keys (base64 of 32 bytes), made once for these tests.
constexpr const char* kKey1 = "3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhs=";
constexpr const char* kKey2 = "ASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8=";
constexpr const char* kKey3 = "/////wAAAAD/////AAAAAP////8AAAAA/////wAAAAA=";

/// A private folder for keyring files, removed with its files at the end.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/encrypt-members.XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    for (const auto& f : files_) ::unlink(f.c_str());
    for (const auto& f : files_) ::unlink((f + ".tmp").c_str());
    if (!path_.empty()) ::rmdir(path_.c_str());
  }
  /// Writes a keyring file (mode 0600) with `keys`, the first the primary.
  std::string keyring(const std::string& name, const std::vector<std::string>& keys) {
    const std::string file = path_ + "/" + name;
    std::ofstream(file) << [&] {
      std::string text;
      for (const auto& k : keys) text += k + "\n";
      return text;
    }();
    ::chmod(file.c_str(), 0600);
    files_.push_back(file);
    return file;
  }
  bool ok() const { return !path_.empty(); }

 private:
  std::string path_;
  std::vector<std::string> files_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// A node over tcp found through the seeds discovery, sealing with `keyring` unless it is empty.
std::string node_ini(std::uint16_t port, const std::vector<std::uint16_t>& seed_ports, const std::string& keyring,
                     const std::string& label = "") {
  std::string ini = "[cluster]\nprotocols = t\ndiscovery = seeds\nheartbeat = 200ms\nttl = 3s\nhid = 02:00:00:00:00:0e\n";
  if (!keyring.empty()) ini += "sealer = encrypt\n";
  if (!label.empty()) ini += "label = " + label + "\n";
  ini += "[plugins]\npath = " CLUSTER_PLUGIN_DIR "\nload = tcp seeds" + std::string(keyring.empty() ? "" : " encrypt") + "\n";
  ini += "[tcp]\nbind = 127.0.0.1\nport = " + std::to_string(port) + "\n";
  ini += "[seeds]\nseeds =";
  for (auto p : seed_ports) ini += " 127.0.0.1:" + std::to_string(p);
  ini += "\nprotocol = t\n";
  if (!keyring.empty()) ini += "[encrypt]\nkeyring = " + keyring + "\n";
  return ini;
}

/// Members lost by any member of these tests (a rotation must lose none).
std::atomic<int> members_lost{0};

std::unique_ptr<Cluster> join(const std::string& ini) {
  NodeConfig cfg = NodeConfig::from_ini(IniFile::parse(ini, "node.ini"));
  return Cluster::join(cfg, [](Cluster& c) {
    c.hook(HookPoint::service_lost, "count-lost", [](HookContext&) {
      ++members_lost;
      return Verdict::pass;
    });
    c.hook(HookPoint::query, "answer", [&c](HookContext& ctx) {
      ctx.answer = c.sid() + ":" + ctx.payload->data.value_or("");
      return Verdict::modified;
    });
  });
}

std::string ids(const std::vector<sdk::KeyInfo>& keys) {
  std::string s;
  for (const auto& k : keys) s += (s.empty() ? "" : " ") + k.id + (k.primary ? "*" : "");
  return s;
}

}  // namespace

TEST(EncryptMembers, KeyRotationAcrossThreeMembersUnderQueryLoadFailsNoQuery) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::uint16_t pa = free_tcp_port(), pb = free_tcp_port(), pc = free_tcp_port();
  std::vector<std::string> files = {dir.keyring("a", {kKey1}), dir.keyring("b", {kKey1}), dir.keyring("c", {kKey1})};
  std::vector<std::unique_ptr<Cluster>> m;
  m.push_back(join(node_ini(pa, {pb}, files[0])));
  m.push_back(join(node_ini(pb, {pa}, files[1])));
  m.push_back(join(node_ini(pc, {pa}, files[2])));
  ASSERT_TRUE(wait_for([&] {
    for (auto& x : m)
      for (auto& y : m)
        if (x != y && !knows(*x, *y)) return false;
    return true;
  }, 8000ms)) << "the three never met";

  const int lost_before = members_lost;
  // The load: every member asks the other two, round after round, until told to stop.
  std::atomic<bool> stop{false};
  std::atomic<int> asked{0}, failed{0};
  std::mutex why_m;
  std::string why;
  std::thread load([&] {
    for (int round = 0; round < 100000 && !stop; ++round) {
      Cluster& from = *m[static_cast<std::size_t>(round) % 3];
      QueryOptions q;
      for (auto& other : m)
        if (other.get() != &from) q.resolve.push_back(other->sid());
      q.query = "r" + std::to_string(round);
      q.timeout = 2s;
      q.collect = true;
      QueryPtr query = from.query(q);
      query->wait(5s);
      ++asked;
      const auto results = query->results();
      bool good = query->done() && !query->timed_out() && results.size() == 2;
      for (const auto& [uuid, answer] : results) good = good && !answer.error;
      if (!good) {
        ++failed;
        std::lock_guard<std::mutex> g(why_m);
        if (why.empty()) why = "round " + std::to_string(round) + ": " + std::to_string(results.size()) + " answers" +
                                (query->timed_out() ? ", timed out" : "");
      }
      std::this_thread::sleep_for(5ms);
    }
  });
  const auto step = [&](const char* what, auto&& fn) {
    std::this_thread::sleep_for(300ms);
    for (auto& c : m) {
      fn(*c);
      std::this_thread::sleep_for(50ms);  // one member after the other, as an operator would
    }
    std::cout << "[ info     ] " << what << " after " << asked << " queries\n";
  };
  step("installed key 2", [](Cluster& c) { c.install_key(kKey2); });
  const std::string id2 = m[0]->keys().back().id;
  const std::string id1 = m[0]->keys().front().id;
  step("key 2 primary", [&](Cluster& c) { c.use_key(id2); });
  step("key 1 removed", [&](Cluster& c) { c.remove_key(id1); });
  std::this_thread::sleep_for(500ms);
  stop = true;
  load.join();

  EXPECT_GT(asked.load(), 30);
  EXPECT_EQ(failed.load(), 0) << why;
  EXPECT_EQ(members_lost - lost_before, 0) << "a member was lost during the rotation";
  for (std::size_t i = 0; i < m.size(); ++i) {
    const auto keys = m[i]->keys();
    ASSERT_EQ(keys.size(), 1u) << ids(keys);
    EXPECT_EQ(keys[0].id, id2);
    EXPECT_TRUE(keys[0].primary);
    EXPECT_GT(keys[0].opened, 0u);
    // Persisted: a restart keeps the rotated keyring.
    EXPECT_EQ(read_file(files[i]).find(kKey1), std::string::npos);
    EXPECT_NE(read_file(files[i]).find(kKey2), std::string::npos);
    const Counters k = m[i]->counters();
    EXPECT_EQ(k.dropped_unopened + k.dropped_replay + k.dropped_plain, 0u)
        << "unopened " << k.dropped_unopened << " replay " << k.dropped_replay << " plain " << k.dropped_plain;
  }
}

TEST(EncryptMembers, AnotherKeyNoSealerOrAnotherLabelNeverJoinAndAreCounted) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::uint16_t pa = free_tcp_port(), pb = free_tcp_port(), px = free_tcp_port(), pp = free_tcp_port(),
                      pl = free_tcp_port();
  // a contacts every one of them, and each of them contacts a.
  auto a = join(node_ini(pa, {pb, px, pp, pl}, dir.keyring("a", {kKey1})));
  auto b = join(node_ini(pb, {pa}, dir.keyring("b", {kKey1, kKey2})));  // accepts both; seals with 1
  auto wrong = join(node_ini(px, {pa}, dir.keyring("x", {kKey3})));
  auto plain = join(node_ini(pp, {pa}, ""));
  auto other = join(node_ini(pl, {pa}, dir.keyring("l", {kKey1}), "other"));
  ASSERT_TRUE(wait_for([&] { return knows(*a, *b) && knows(*b, *a); }, 8000ms));
  std::this_thread::sleep_for(1500ms);  // several sync rounds of the seeds discovery
  for (Cluster* outsider : {wrong.get(), plain.get(), other.get()}) {
    EXPECT_FALSE(knows(*a, *outsider));
    EXPECT_FALSE(knows(*outsider, *a));
    EXPECT_EQ(outsider->known_services(), 0u);
  }
  EXPECT_EQ(a->known_services(), 1u);
  const Counters ka = a->counters();
  EXPECT_GT(ka.dropped_unopened, 0u) << "the member with another key";
  EXPECT_GT(ka.dropped_plain, 0u) << "the member without the sealer";
  EXPECT_GT(ka.dropped_label, 0u) << "the member of another label";
  EXPECT_GT(wrong->counters().dropped_unopened, 0u);
  EXPECT_GT(plain->counters().dropped_unopened, 0u);
  EXPECT_GT(other->counters().dropped_label, 0u);
  // b opens a's packets with key 1, and a packet sealed with key 2 once b makes it primary...
  b->use_key(b->keys().back().id);
  std::this_thread::sleep_for(800ms);
  // ...is an unknown key to a, which does not hold it: b drops out of a's view in time, and
  // nothing crashed. Installing key 2 on a brings it back.
  EXPECT_GT(a->counters().dropped_unopened, ka.dropped_unopened);
  a->install_key(kKey2);
  EXPECT_TRUE(wait_for([&] { return knows(*a, *b) && knows(*b, *a); }, 8000ms));
}

namespace {

// Members on the in-memory network with the real encrypt plugin: every packet can be caught
// with net.tap and delivered again, altered, by hand.
class EncryptAttacks : public MemoryClusterTest {
 protected:
  TempDir dir;
  std::unique_ptr<Cluster> sealed(const std::string& ip, const std::string& key) {
    auto pm = net.plugins_for(ip);
    IniFile ini = IniFile::parse("[encrypt]\nkeyring = " + dir.keyring(ip, {key}) + "\n", "encrypt.ini");
    pm->load(CLUSTER_PLUGIN_DIR "/cluster-encrypt.so", ini.section("encrypt"));
    Options o = fast({"w"});
    o.sealer = "encrypt";
    return Cluster::join(std::move(o), pm, loop);
  }
  MemoryProtocol* group_of(const std::string& ip) {
    MemoryProtocol* found = nullptr;
    for (auto* p : net.created)
      if (p->host_ip() == ip && p->id() == "c") found = p;
    return found;
  }
  /// `packet` (a framed envelope) with its raw field (flags, label, sealed content) changed by
  /// `edit`, framed again with the lengths that fit.
  static std::string reframed(const std::string& packet, const std::function<void(std::string&)>& edit) {
    std::string body;
    bpacket::for_each_frame(packet, bpacket::kDatagramLimit, [&](const bpacket::Frame& f) { body = f.body; });
    const auto* p = reinterpret_cast<const std::uint8_t*>(body.data()) + 7;  // past filter and raw's id
    std::uint64_t len = 0;
    (void)bpacket::read_varint(p, reinterpret_cast<const std::uint8_t*>(body.data() + body.size()), len);
    std::string raw(reinterpret_cast<const char*>(p), len);
    edit(raw);
    std::string inner = body.substr(0, 7);
    bpacket::append_varint(inner, raw.size());
    inner += raw;
    std::string out = "\xC0\x8D";
    bpacket::append_varint(out, inner.size());
    return out + inner + std::string(2, '\0');
  }
};

}  // namespace

TEST_F(EncryptAttacks, TamperedTruncatedReplayedAndDowngradedPacketsAreDroppedAndCounted) {
  ASSERT_TRUE(dir.ok());
  std::vector<std::string> from_b;
  net.tap = [&](const std::string& from, std::string_view packet) {
    if (from == "127.0.0.2") from_b.emplace_back(packet);
  };
  auto a = sealed("127.0.0.1", kKey1);
  auto b = sealed("127.0.0.2", kKey1);
  ASSERT_TRUE(run_until([&] { return !a->resolve({b->sid()}).empty() && !from_b.empty(); }));
  net.tap = nullptr;
  MemoryProtocol* group = group_of("127.0.0.1");
  ASSERT_NE(group, nullptr);
  const std::string captured = from_b.back();
  // The heartbeat's payload is not readable on the wire: its sid is not there in clear.
  EXPECT_EQ(captured.find(b->sid()), std::string::npos);
  const auto deliver = [&](const std::string& bytes) { loop.call([&] { group->deliver(bytes, "127.0.0.2", 0); }); };
  const Counters k0 = a->counters();

  deliver(captured);  // the very packet again
  EXPECT_EQ(a->counters().dropped_replay, k0.dropped_replay + 1);
  deliver(reframed(captured, [](std::string& raw) { raw[raw.size() / 2 + 20] ^= 0x01; }));  // ciphertext bit
  deliver(reframed(captured, [](std::string& raw) { raw.pop_back(); }));                      // tag cut short
  deliver(reframed(captured, [](std::string& raw) { raw.resize(raw.size() - 16); }));        // no tag at all
  // raw = flags (1) | label length (1, 0) | version (1) | key id (8) | nonce | time | ...
  deliver(reframed(captured, [](std::string& raw) { raw[3] ^= 0x01; }));                        // the key id
  deliver(reframed(captured, [](std::string& raw) { raw[2] ^= 0x7F; }));                        // the version
  EXPECT_EQ(a->counters().dropped_unopened, k0.dropped_unopened + 5);
  // Downgrade: the flag cleared (the content is not a payload), and a plain packet in b's name.
  deliver(reframed(captured, [](std::string& raw) { raw[0] = 0; }));
  Payload p;
  p.type = static_cast<std::uint64_t>(PayloadType::event);
  p.sid = b->sid();
  p.hid = b->hid();
  p.protocols = StringList{"t", "c"};
  p.data = std::string("forged");
  std::string plain;
  bpacket::encode_payload(p, plain);
  deliver(plain);
  EXPECT_EQ(a->counters().dropped_plain, k0.dropped_plain + 2);
  EXPECT_EQ(a->counters().received, k0.received) << "a forged packet reached the decoder";
  // And a still hears b.
  EXPECT_TRUE(run_until([&] { return a->counters().received > k0.received + 2; }));
}

}  // namespace cluster::test
