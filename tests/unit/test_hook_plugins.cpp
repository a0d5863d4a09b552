// The hook-set plugins (plugins/hooks-*, docs/hooks.md): local-only, auth, log and kv, loaded
// from the build's plugin directory. Two levels: the hooks alone (a recording HookRegistry and
// a host that encodes like the core), and whole members on the in-memory network.
#include <gtest/gtest.h>

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/DigestEngine.h>
#include <Poco/HMACEngine.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>
#include <Poco/SHA2Engine.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cluster/bpacket/payload_codec.hpp"
#include "cluster/ini.hpp"
#include "cluster/tcl.hpp"
#include "memory_network.hpp"

#ifndef CLUSTER_HOOK_PLUGIN_DIR
#error "CLUSTER_HOOK_PLUGIN_DIR must name the directory of the hook-set plugins"
#endif
#ifndef CLUSTER_HOOK_CONF_DIR
#error "CLUSTER_HOOK_CONF_DIR must name the conf/ directory"
#endif

using namespace cluster;
using namespace std::chrono_literals;
using test::MemoryNetwork;
using test::MemoryProtocol;

namespace {

std::string plugin_path(const std::string& name) {
  return std::string(CLUSTER_HOOK_PLUGIN_DIR) + "/cluster-" + name + ".so";
}

/// Loads plugin `name` with the section [name] of `ini_text` (none when the text has none).
PluginInfo load(PluginManager& pm, const std::string& name, const std::string& ini_text = {}) {
  const IniFile ini = IniFile::parse(ini_text, "test.ini");
  return pm.load(plugin_path(name), ini.section(name));
}

/// The message of the PluginError loading `name` with `ini_text` throws ("" when it loads).
std::string load_error(const std::string& name, const std::string& ini_text, PluginErrc* code = nullptr) {
  PluginManager pm;
  try {
    load(pm, name, ini_text);
  } catch (const PluginError& e) {
    if (code != nullptr) *code = e.code();
    return e.what();
  }
  return {};
}

// ---- HMAC-SHA256, computed here independently of the plugin ----

class Sha256 : public Poco::SHA2Engine {
 public:
  enum { BLOCK_SIZE = 64, DIGEST_SIZE = 32 };
  Sha256() : Poco::SHA2Engine(Poco::SHA2Engine::SHA_256) {}
};

std::string hmac_sha256(const std::string& key, const std::string& data) {
  Poco::HMACEngine<Sha256> mac(key);
  mac.update(data.data(), data.size());
  const auto& d = mac.digest();
  return std::string(d.begin(), d.end());
}

std::string be64(std::uint64_t v) {
  std::string out;
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xFF));
  return out;
}

std::uint64_t now_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

/// Signs `p` as docs/hooks.md describes the auth layout, with our own HMAC.
void sign_by_hand(Payload& p, const std::string& key_id, const std::string& secret, std::uint64_t timestamp_ms,
                  std::uint64_t nonce) {
  std::string raw = "CA1";
  raw.push_back(static_cast<char>(key_id.size()));
  raw += key_id + be64(timestamp_ms) + be64(nonce);
  p.raw = raw;
  std::string encoded;
  bpacket::encode_payload(p, encoded);
  p.raw = raw + hmac_sha256(secret, encoded);
}

Payload sample_event(const std::string& data = "hello") {
  Payload p;
  p.sid = std::string("abcd1234");
  p.hid = std::string("02:00:00:00:00:01");
  p.type = static_cast<std::uint64_t>(PayloadType::event);
  p.channel = std::uint64_t{0};
  p.protocols = StringList{"t", "c"};
  p.data = data;
  p.filter = StringList{"efgh5678"};
  p.keepalive = true;
  return p;
}

// ---- the hooks alone ----

/// A HookRegistry that runs hooks the way the core's hook table does (lower order first, stop
/// at the first drop, modified when any hook said so).
class Recorder final : public HookRegistry {
 public:
  HookId add(HookPoint point, std::string name, HookFn fn, int order, std::string) noexcept override {
    for (const auto& e : entries)
      if (e.name == name) return 0;
    entries.push_back({next, point, std::move(name), std::move(fn), order});
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.order < b.order; });
    return next++;
  }
  bool remove(HookId id) noexcept override {
    auto it = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.id == id; });
    if (it == entries.end()) return false;
    entries.erase(it);
    return true;
  }
  Verdict run(HookPoint point, HookContext& ctx) {
    ctx.point = point;
    Verdict result = Verdict::pass;
    for (auto& e : entries) {
      if (e.point != point) continue;
      const Verdict v = e.fn(ctx);
      if (v == Verdict::drop) return v;
      if (v == Verdict::modified) result = v;
    }
    return result;
  }
  std::vector<std::pair<HookPoint, int>> points() const {
    std::vector<std::pair<HookPoint, int>> out;
    for (const auto& e : entries) out.emplace_back(e.point, e.order);
    return out;
  }

  struct Entry {
    HookId id;
    HookPoint point;
    std::string name;
    HookFn fn;
    int order;
  };
  std::vector<Entry> entries;
  HookId next = 1;
};

class FakeHost final : public sdk::HookSetHost {
 public:
  FakeHost(EventLoop& loop, const sdk::PluginConfig& config) : loop_(loop), config_(config) {}
  sdk::EventLoop& loop() noexcept override { return loop_; }
  void log(sdk::LogLevel, std::string_view message) noexcept override { logs.emplace_back(message); }
  const sdk::ClusterSettings& settings() const noexcept override { return settings_; }
  const sdk::PluginConfig& config() const noexcept override { return config_; }
  void encode(const Payload& payload, std::string& out) const noexcept override {
    bpacket::encode_payload(payload, out);
  }
  std::vector<std::string> logs;

 private:
  EventLoop& loop_;
  const sdk::PluginConfig& config_;
  sdk::ClusterSettings settings_;
};

/// One hook set, attached to its own recorder: a member reduced to its hooks.
struct Attached {
  Attached(const std::string& plugin, const std::string& set, const std::string& ini_text) {
    load(pm, plugin, ini_text);
    host = std::make_unique<FakeHost>(loop, pm.hook_set_config(set));
    hooks = pm.create_hook_set(set, *host);
    if (hooks) attach = hooks->attach(registry);
  }
  ~Attached() { hooks.reset(); }  // removes its hooks from the recorder first

  Verdict receive(Payload& p, bool local = true) {
    HookContext ctx;
    ctx.payload = &p;
    ctx.local = local;
    const Verdict v = registry.run(HookPoint::evaluate_receive, ctx);
    reason = ctx.reason;
    return v;
  }
  Verdict send(Payload& p) {
    HookContext ctx;
    ctx.payload = &p;
    ctx.outgoing = true;
    ctx.local = true;
    const Verdict v = registry.run(HookPoint::evaluate_send, ctx);
    reason = ctx.reason;
    return v;
  }

  EventLoop loop;
  PluginManager pm;
  Recorder registry;
  std::unique_ptr<FakeHost> host;
  std::shared_ptr<sdk::HookSet> hooks;
  sdk::Result attach = sdk::Result::failure("not attached");
  std::string reason;
};

/// Collects what a Poco logger writes.
class CaptureChannel final : public Poco::Channel {
 public:
  void log(const Poco::Message& msg) override { lines.emplace_back(msg.getPriority(), msg.getText()); }
  bool has(const std::string& text, Poco::Message::Priority prio) const {
    return std::any_of(lines.begin(), lines.end(), [&](const auto& l) {
      return l.first == prio && l.second.find(text) != std::string::npos;
    });
  }
  std::string all() const {
    std::string out;
    for (const auto& l : lines) out += std::to_string(l.first) + " " + l.second + "\n";
    return out;
  }
  std::vector<std::pair<Poco::Message::Priority, std::string>> lines;
};


const char* const kAuthK1 = "[auth]\nkeys = k1:first-secret\n";

// ---- members on the in-memory network ----

class HookPlugins : public ::testing::Test {
 protected:
  EventLoop loop;
  MemoryNetwork net{loop};

  struct Plugin {
    std::string name;
    std::string ini;  ///< its section ("" = none)
  };

  static Options fast(std::vector<std::string> tags = {}) {
    Options o;
    o.heartbeat = 100ms;
    o.ttl = 2s;
    o.hid = "02:00:00:00:00:01";
    o.tags = std::move(tags);
    return o;
  }

  /// Joins a member on `ip` with `plugins` loaded and `sets` attached, then announces it again
  /// (the join's own first heartbeat and discovery went out before the hook sets were attached).
  std::unique_ptr<Cluster> member(Options o, const std::vector<Plugin>& plugins = {},
                                  const std::vector<std::string>& sets = {}, const std::string& ip = "127.0.0.1") {
    auto pm = net.plugins_for(ip);
    for (const auto& p : plugins) load(*pm, p.name, p.ini);
    const std::size_t first = net.created.size();
    auto c = Cluster::join(std::move(o), pm, loop);
    for (std::size_t i = first; i < net.created.size(); ++i) protocols[c.get()].push_back(net.created[i]);
    for (const auto& s : sets) c->use_hook_set(s);
    if (!sets.empty()) {
      c->heartbeat(true);
      c->discover();
    }
    return c;
  }
  std::unique_ptr<Cluster> keyed(const std::string& auth_ini, std::vector<std::string> tags = {}) {
    return member(fast(std::move(tags)), {{"auth", auth_ini}}, {"auth"});
  }

  MemoryProtocol* protocol_of(Cluster& c, const std::string& id) {
    for (MemoryProtocol* p : protocols[&c])
      if (p->id() == id) return p;
    return nullptr;
  }

  template <class Pred>
  bool run_until(Pred pred, std::chrono::milliseconds limit = 3000ms) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < end) loop.run_once(5ms);
    return pred();
  }
  void run_for(std::chrono::milliseconds d) {
    run_until([] { return false; }, d);
  }
  static bool knows(Cluster& c, const Cluster& other) { return !c.resolve({other.sid()}).empty(); }

  static void answer_with(Cluster& c, const std::string& prefix) {
    c.hook(HookPoint::query, "answer", [prefix](HookContext& ctx) {
      ctx.answer = prefix + ":" + ctx.payload->data.value_or("");
      return Verdict::modified;
    });
  }
  /// Counts the events `c` receives, by data.
  static std::shared_ptr<std::vector<std::string>> events_of(Cluster& c) {
    auto seen = std::make_shared<std::vector<std::string>>();
    c.hook(HookPoint::event, "count-events", [seen](HookContext& ctx) {
      seen->push_back(ctx.payload->data.value_or(""));
      return Verdict::pass;
    });
    return seen;
  }
  /// Keeps the bytes of the next event `c` sends over a protocol (after the send hooks, the
  /// auth signature included) and stops it from going out.
  static std::shared_ptr<std::vector<std::string>> intercept_events(Cluster& c) {
    auto bytes = std::make_shared<std::vector<std::string>>();
    c.hook(HookPoint::protocol_send, "intercept", [bytes](HookContext& ctx) {
      if (!ctx.payload->is(PayloadType::event)) return Verdict::pass;
      std::string b;
      bpacket::encode_payload(*ctx.payload, b);
      bytes->push_back(std::move(b));
      return Verdict::drop;
    });
    return bytes;
  }
  QueryPtr ask(Cluster& from, std::vector<std::string> resolve, const std::string& text,
               std::chrono::milliseconds timeout = 2s) {
    QueryOptions o;
    o.resolve = std::move(resolve);
    o.query = text;
    o.collect = true;
    o.timeout = timeout;
    auto q = from.query(o);
    EXPECT_TRUE(run_until([&] { return q->done(); }, timeout + 1s));
    return q;
  }

  std::map<Cluster*, std::vector<MemoryProtocol*>> protocols;
};

}  // namespace

// ---------------------------------------------------------------- plugin metadata, config

TEST(HookPluginFiles, EachPluginRegistersItsHookSet) {
  const std::vector<std::pair<std::string, std::string>> plugins = {
      {"local-only", ""}, {"auth", kAuthK1}, {"log", ""}, {"kv", ""}};
  for (const auto& [name, ini] : plugins) {
    PluginManager pm;
    const PluginInfo& info = load(pm, name, ini);
    EXPECT_EQ(info.name, name);
    EXPECT_EQ(info.hook_sets, std::vector<std::string>{name});
    EXPECT_TRUE(info.protocols.empty());
  }
}

TEST(HookPluginFiles, SampleConfigsLoad) {
  // Every sample section validates against its plugin's schema; auth ships without a secret
  // on purpose and refuses to load until one is set.
  for (const std::string name : {"local-only", "log", "kv", "auth"}) {
    const IniFile ini = IniFile::load(std::string(CLUSTER_HOOK_CONF_DIR) + "/" + name + ".ini");
    PluginManager pm;
    if (name == "auth") {
      try {
        pm.load(plugin_path(name), ini.section(name));
        ADD_FAILURE() << "conf/auth.ini must not hold a usable secret";
      } catch (const PluginError& e) {
        EXPECT_EQ(e.code(), PluginErrc::init_failed);
        EXPECT_NE(std::string(e.what()).find("keys is empty"), std::string::npos) << e.what();
      }
      continue;
    }
    EXPECT_NO_THROW(pm.load(plugin_path(name), ini.section(name))) << name;
  }
}

TEST(HookPluginFiles, LocalOnlyTakesNoKeys) {
  PluginErrc code{};
  const std::string msg = load_error("local-only", "[local-only]\nstrict = 1\n", &code);
  EXPECT_EQ(code, PluginErrc::bad_config);
  EXPECT_NE(msg.find("takes no keys"), std::string::npos) << msg;
}

TEST(HookPluginFiles, BadAuthConfigIsRefusedWithAClearMessage) {
  struct Case {
    std::string ini, expected;
  };
  const std::vector<Case> cases = {
      {"", "[auth] keys is empty: give at least one id:secret pair"},
      {"[auth]\nkeys =\n", "[auth] keys is empty"},
      {"[auth]\nkeys = k1\n", "[auth] keys: 'k1' is not id:secret"},
      {"[auth]\nkeys = :secret\n", "[auth] keys: ':secret' is not id:secret"},
      {"[auth]\nkeys = k1:\n", "[auth] keys: 'k1:' is not id:secret"},
      {"[auth]\nkeys = k1:a k1:b\n", "[auth] keys: key id 'k1' given twice"},
      {"[auth]\nkeys = k1:a k2:b\nsign_with = k3\n", "[auth] sign_with = 'k3' names no key of keys (key ids: k1 k2)"},
      {"[auth]\nkeys = " + std::string(256, 'x') + ":a\n", "a key id may have at most 255 bytes"},
  };
  for (const auto& c : cases) {
    PluginErrc code{};
    const std::string msg = load_error("auth", c.ini, &code);
    EXPECT_EQ(code, PluginErrc::init_failed) << c.ini;
    EXPECT_NE(msg.find(c.expected), std::string::npos) << "ini: " << c.ini << "\nmessage: " << msg;
  }
  PluginErrc code{};
  EXPECT_NE(load_error("auth", "[auth]\nkeys = k1:a\nwindow = soon\n", &code).find("not an integer"), std::string::npos);
  EXPECT_EQ(code, PluginErrc::bad_config);
  // window's range (1..86400) is declared in the descriptor: the host refuses it before init.
  for (const char* window : {"0", "86401"}) {
    const std::string msg = load_error("auth", std::string("[auth]\nkeys = k1:a\nwindow = ") + window + "\n", &code);
    EXPECT_EQ(code, PluginErrc::bad_config) << msg;
    EXPECT_NE(msg.find(std::string("[auth] window = '") + window + "' is out of range (1..86400)"), std::string::npos)
        << msg;
  }
  EXPECT_EQ(load_error("auth", "[auth]\nkeys = k1:a k2:b\nsign_with = k2\nwindow = 5\n"), "");
}

TEST(HookPluginFiles, LogRefusesAnInvalidLevel) {
  PluginErrc code{};
  const std::string msg = load_error("log", "[log]\nlevel = loud\n", &code);
  EXPECT_EQ(code, PluginErrc::init_failed);
  EXPECT_NE(msg.find("[log] level = 'loud' is not a level (fatal, critical, error, warning, notice, information, "
                     "debug, trace)"),
            std::string::npos)
      << msg;
  EXPECT_NE(load_error("log", "[log]\nlogger =\n").find("logger must name a logger"), std::string::npos);
  for (const char* level : {"fatal", "critical", "error", "warning", "notice", "information", "debug", "trace"})
    EXPECT_EQ(load_error("log", std::string("[log]\nlevel = ") + level + "\n"), "") << level;
}

// ---------------------------------------------------------------- hooks alone

TEST(HookPluginHooks, HmacOfTheseTestsIsRfc4231) {
  // RFC 4231 test case 2: the independent HMAC the tests below check the plugin against.
  EXPECT_EQ(Poco::DigestEngine::digestToHex(Poco::DigestEngine::Digest(
                [] {
                  const std::string d = hmac_sha256("Jefe", "what do ya want for nothing?");
                  return std::vector<unsigned char>(d.begin(), d.end());
                }())),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HookPluginHooks, LocalOnlyDropsRemotePacketsAndMembers) {
  Attached a("local-only", "local-only", "");
  ASSERT_TRUE(a.attach) << a.attach.message();
  // Early: before auth verification (-1000000) and every ordinary hook.
  for (const auto& [point, order] : a.registry.points()) EXPECT_LT(order, -1000000);
  Payload p = sample_event();
  EXPECT_EQ(a.receive(p, true), Verdict::pass);
  EXPECT_EQ(a.receive(p, false), Verdict::drop);
  EXPECT_EQ(a.reason, "local-only: packet from another host");

  ServiceInfo remote;
  remote.uuid = "r@02:00:00:00:00:02";
  remote.local = false;
  HookContext ctx;
  ctx.payload = &p;
  ctx.service = &remote;
  ctx.local = true;  // a hook rewrote the hid after the receive check: still refused
  EXPECT_EQ(a.registry.run(HookPoint::service_evaluate, ctx), Verdict::drop);
  EXPECT_EQ(ctx.reason, "local-only: refusing member r@02:00:00:00:00:02 from another host");
  ServiceInfo local = remote;
  local.local = true;
  ctx.service = &local;
  ctx.reason.clear();
  EXPECT_EQ(a.registry.run(HookPoint::service_evaluate, ctx), Verdict::pass);
}

TEST(HookPluginHooks, AuthSignsWithTheDocumentedLayout) {
  Attached a("auth", "auth", "[auth]\nkeys = k1:first-secret k2:second-secret\nsign_with = k2\n");
  ASSERT_TRUE(a.attach) << a.attach.message();
  Payload p = sample_event();
  const Payload original = p;
  const std::uint64_t before = now_ms();
  ASSERT_EQ(a.send(p), Verdict::modified);
  const std::uint64_t after = now_ms();
  ASSERT_TRUE(p.raw.has());
  const std::string raw = *p.raw;
  // "CA1" | 2 | "k2" | timestamp (8) | nonce (8) | tag (32)
  ASSERT_EQ(raw.size(), 3u + 1 + 2 + 8 + 8 + 32);
  EXPECT_EQ(raw.substr(0, 3), "CA1");
  EXPECT_EQ(raw[3], 2);
  EXPECT_EQ(raw.substr(4, 2), "k2");
  std::uint64_t ts = 0;
  for (std::size_t i = 6; i < 14; ++i) ts = (ts << 8) | static_cast<unsigned char>(raw[i]);
  EXPECT_GE(ts, before);
  EXPECT_LE(ts, after);
  // The tag: HMAC-SHA256 over the core's encoding of the payload with raw = the prefix.
  Payload check = p;
  check.raw = raw.substr(0, raw.size() - 32);
  std::string encoded;
  bpacket::encode_payload(check, encoded);
  EXPECT_EQ(raw.substr(raw.size() - 32), hmac_sha256("second-secret", encoded));
  // Nothing else changed; a second packet gets another nonce (and so another tag).
  check = p;
  check.raw.reset();
  EXPECT_EQ(check, original);
  Payload q = original;
  ASSERT_EQ(a.send(q), Verdict::modified);
  EXPECT_NE(q.raw->substr(14, 8), raw.substr(14, 8));
  // Signing again (a forwarded payload) replaces the old signature.
  ASSERT_EQ(a.send(q), Verdict::modified);
  EXPECT_EQ(q.raw->size(), raw.size());
  // Field 11 used by the application (a discovery's member list): wrapped ("CA2", its length,
  // the bytes) and covered by the tag; the receiver gets the bytes back, and a change to them
  // breaks the signature.
  Payload app = original;
  app.raw = std::string("application bytes");
  ASSERT_EQ(a.send(app), Verdict::modified);
  EXPECT_EQ(app.raw->substr(0, 3), "CA2");
  EXPECT_NE(app.raw->find(std::string("\0\0\0\x11", 4) + "application bytes"), std::string::npos);
  Payload tampered = app;
  tampered.raw.set().replace(tampered.raw->find("application"), 1, "A");
  ASSERT_EQ(a.receive(app), Verdict::modified);
  EXPECT_EQ(app.raw.value_or("absent"), "application bytes");
  EXPECT_EQ(a.receive(tampered), Verdict::drop);
  EXPECT_EQ(a.reason, "auth: bad signature");
  // The order: signing after every other send hook, verifying before them.
  for (const auto& [point, order] : a.registry.points()) {
    if (point == HookPoint::evaluate_send) {
      EXPECT_EQ(order, 1000000);
    } else {
      EXPECT_EQ(point, HookPoint::evaluate_receive);
      EXPECT_EQ(order, -1000000);
    }
  }
}

TEST(HookPluginHooks, AuthVerifiesAndNamesEveryRefusal) {
  Attached sender("auth", "auth", kAuthK1);
  Attached receiver("auth", "auth", "[auth]\nkeys = k0:zero k1:first-secret\nwindow = 2\n");
  Attached stranger("auth", "auth", "[auth]\nkeys = k9:first-secret\n");
  ASSERT_TRUE(sender.attach && receiver.attach && stranger.attach);

  Payload signed_event = sample_event();
  ASSERT_EQ(sender.send(signed_event), Verdict::modified);

  Payload p = signed_event;
  EXPECT_EQ(receiver.receive(p), Verdict::modified) << receiver.reason;
  EXPECT_FALSE(p.raw.has()) << "a verified packet goes on without field 11";
  Payload expected = signed_event;
  expected.raw.reset();
  EXPECT_EQ(p, expected);

  p = signed_event;
  EXPECT_EQ(receiver.receive(p), Verdict::drop);
  EXPECT_EQ(receiver.reason, "auth: replayed");

  p = sample_event();
  EXPECT_EQ(receiver.receive(p), Verdict::drop);
  EXPECT_EQ(receiver.reason, "auth: unsigned");
  p.raw = std::string("something else");
  EXPECT_EQ(receiver.receive(p), Verdict::drop);
  EXPECT_EQ(receiver.reason, "auth: unsigned");

  p = sample_event();
  ASSERT_EQ(stranger.send(p), Verdict::modified);
  EXPECT_EQ(receiver.receive(p), Verdict::drop);
  EXPECT_EQ(receiver.reason, "auth: unknown key id k9");

  // A flipped byte anywhere: data, a header field, the tag, the timestamp.
  for (int what = 0; what < 4; ++what) {
    p = sample_event();
    ASSERT_EQ(sender.send(p), Verdict::modified);
    switch (what) {
      case 0: p.data.set()[0] ^= 1; break;
      case 1: p.filter.set()[0] = "someone"; break;
      case 2: p.raw.set().back() = static_cast<char>(p.raw->back() ^ 0x40); break;
      default: p.raw.set()[13] ^= 1; break;  // last timestamp byte: 1 ms, still in the window
    }
    EXPECT_EQ(receiver.receive(p), Verdict::drop) << what;
    EXPECT_EQ(receiver.reason, "auth: bad signature") << what;
  }
  // A field added after signing.
  p = sample_event();
  ASSERT_EQ(sender.send(p), Verdict::modified);
  p.tags = StringList{"admin"};
  EXPECT_EQ(receiver.receive(p), Verdict::drop);
  EXPECT_EQ(receiver.reason, "auth: bad signature");
  // Truncated signature.
  p = sample_event();
  ASSERT_EQ(sender.send(p), Verdict::modified);
  p.raw.set().pop_back();
  EXPECT_EQ(receiver.receive(p), Verdict::drop);
  EXPECT_EQ(receiver.reason, "auth: bad signature");

  // Timestamps outside the window (2 s) either way, correctly signed by hand.
  p = sample_event();
  sign_by_hand(p, "k1", "first-secret", now_ms() - 5000, 7);
  EXPECT_EQ(receiver.receive(p), Verdict::drop);
  EXPECT_EQ(receiver.reason, "auth: stale timestamp");
  p = sample_event();
  sign_by_hand(p, "k1", "first-secret", now_ms() + 5000, 8);
  EXPECT_EQ(receiver.receive(p), Verdict::drop);
  EXPECT_EQ(receiver.reason, "auth: stale timestamp");
  // Inside it: accepted, whoever signed (the layout is all a peer needs).
  p = sample_event();
  sign_by_hand(p, "k1", "first-secret", now_ms() - 1000, 9);
  EXPECT_EQ(receiver.receive(p), Verdict::modified) << receiver.reason;

  // Every refusal was logged at debug level.
  EXPECT_GE(receiver.host->logs.size(), 10u);
}

TEST(HookPluginHooks, AuthAttachedTwiceToOneClusterFails) {
  Attached a("auth", "auth", kAuthK1);
  ASSERT_TRUE(a.attach);
  auto again = a.pm.create_hook_set("auth", *a.host);
  const sdk::Result r = again->attach(a.registry);
  EXPECT_FALSE(r);
  EXPECT_NE(r.message().find("exists already"), std::string::npos) << r.message();
  again.reset();
  EXPECT_EQ(a.registry.entries.size(), 2u) << "the failed attach left the first set's hooks alone";
  a.hooks.reset();
  EXPECT_TRUE(a.registry.entries.empty()) << "a destroyed set removes its hooks";
}

TEST(HookPluginHooks, LogOnlyPasses) {
  Poco::AutoPtr<CaptureChannel> capture(new CaptureChannel);
  Poco::Logger& logger = Poco::Logger::get("cluster.test.passes");
  logger.setChannel(capture);
  logger.setLevel(Poco::Message::PRIO_TRACE);
  Attached a("log", "log", "[log]\nlogger = cluster.test.passes\nlevel = trace\n");
  ASSERT_TRUE(a.attach) << a.attach.message();
  std::set<HookPoint> points;
  for (const auto& [point, order] : a.registry.points()) points.insert(point);
  EXPECT_FALSE(points.count(HookPoint::query)) << "log must not be a query hook";
  for (auto type : {PayloadType::query, PayloadType::response, PayloadType::event, PayloadType::heartbeat}) {
    Payload p = sample_event();
    p.type = static_cast<std::uint64_t>(type);
    p.ruid = std::string("r1");
    const Payload before = p;
    EXPECT_EQ(a.receive(p), Verdict::pass);
    EXPECT_EQ(a.send(p), Verdict::pass);
    EXPECT_EQ(p, before);
  }
  // query, response and event, each in and out.
  EXPECT_EQ(capture->lines.size(), 6u) << capture->all();
  EXPECT_TRUE(capture->has("query from abcd1234@02:00:00:00:00:01 ruid r1: hello", Poco::Message::PRIO_TRACE))
      << capture->all();
  EXPECT_TRUE(capture->has("event to {efgh5678} ruid r1: hello", Poco::Message::PRIO_TRACE)) << capture->all();
  logger.setChannel(nullptr);
}

// ---------------------------------------------------------------- members: local-only

TEST_F(HookPlugins, LocalOnlyDropsAnotherHostsPacketsButKeepsLocalOnes) {
  Options o = fast();
  o.remote = 1;
  auto a = member(o, {{"local-only", ""}}, {"local-only"});
  auto b = member(o);
  Options r = fast();
  r.remote = 1;
  r.hid = "02:00:00:00:00:02";
  auto remote = member(r, {}, {}, "10.0.0.2");
  auto at_a = events_of(*a);
  // The remote member and the local one without the hook set see everyone.
  ASSERT_TRUE(run_until([&] { return knows(*remote, *a) && knows(*b, *remote) && knows(*a, *b); }));
  run_for(400ms);  // several heartbeats of the remote member
  EXPECT_TRUE(knows(*a, *b));
  EXPECT_FALSE(knows(*a, *remote));
  EXPECT_EQ(a->known_services(), 1u);
  EXPECT_GT(a->counters().dropped_hook, 0u);
  // Events: the local one arrives, the remote one does not.
  EXPECT_EQ(remote->send(remote->resolve({a->sid()}), "from afar"), 1u);
  EXPECT_EQ(b->send(b->resolve({a->sid()}), "from here"), 1u);
  ASSERT_TRUE(run_until([&] { return !at_a->empty(); }));
  run_for(100ms);
  EXPECT_EQ(*at_a, std::vector<std::string>{"from here"});
}

// ---------------------------------------------------------------- members: auth

TEST_F(HookPlugins, AuthMembersDiscoverEachOtherAndTalk) {
  auto a = keyed(kAuthK1, {"asker"});
  auto b = keyed(kAuthK1, {"worker"});
  // Every packet that leaves b from now on carries a signature.
  auto sent = std::make_shared<std::map<std::string, int>>();  // payload type -> signed packets
  b->hook(HookPoint::protocol_send, "check-signed", [sent](HookContext& ctx) {
    const auto type = std::string(payload_type_name(ctx.payload->type.value_or(99)));
    if (ctx.payload->raw.has() && ctx.payload->raw->compare(0, 3, "CA1") == 0) ++(*sent)[type];
    else ++(*sent)["UNSIGNED " + type];
    return Verdict::pass;
  });
  ASSERT_TRUE(run_until([&] { return knows(*a, *b) && knows(*b, *a); }));
  run_for(20ms);  // the join packets still in flight
  const auto a_drops = a->counters().dropped_hook, b_drops = b->counters().dropped_hook;
  EXPECT_EQ(a->resolve({"worker"}).size(), 1u) << "tags arrived";
  auto at_a = events_of(*a);
  EXPECT_EQ(b->send(b->resolve({a->sid()}), "signed event"), 1u);
  ASSERT_TRUE(run_until([&] { return !at_a->empty(); }));
  EXPECT_EQ(*at_a, std::vector<std::string>{"signed event"});
  answer_with(*b, "b");
  auto q = ask(*a, {"worker"}, "version");
  EXPECT_FALSE(q->timed_out());
  EXPECT_EQ(q->payloads(), std::vector<std::string>{"b:version"});
  // Broadcasts (filtered multicasts) are signed too.
  Payload bc;
  bc.data = std::string("to all");
  ASSERT_TRUE(b->broadcast(bc));
  ASSERT_TRUE(run_until([&] { return at_a->size() == 2; }));
  run_for(250ms);  // periodic heartbeats too
  for (const auto& [type, n] : *sent) EXPECT_EQ(type.find("UNSIGNED"), std::string::npos) << type << ": " << n;
  for (const char* type : {"heartbeat", "event", "response"}) EXPECT_GT((*sent)[type], 0) << type;
  // Once both were keyed, nothing either sent was refused (only the join's own first packets,
  // sent before use_hook_set, were).
  EXPECT_EQ(a->counters().dropped_hook, a_drops);
  EXPECT_EQ(b->counters().dropped_hook, b_drops);
}

class HookPluginsStranger : public HookPlugins, public ::testing::WithParamInterface<const char*> {};

// A member without the key: no auth at all, or another key.
TEST_P(HookPluginsStranger, CannotInjectAnswerOrJoin) {
  const std::string stranger_ini = GetParam();
  auto stranger_sets = [&]() -> std::vector<std::string> {
    return stranger_ini.empty() ? std::vector<std::string>{} : std::vector<std::string>{"auth"};
  };
  auto stranger_plugins = [&]() -> std::vector<Plugin> {
    return stranger_ini.empty() ? std::vector<Plugin>{} : std::vector<Plugin>{{"auth", stranger_ini}};
  };
  // Everyone knows everyone while no one checks; then the hook sets are attached, so the keyed
  // members still have the stranger in their lists and can address it.
  auto a = member(fast({"asker"}), {{"auth", kAuthK1}});
  auto b = member(fast({"worker"}), {{"auth", kAuthK1}});
  auto c = member(fast({"worker"}), stranger_plugins());
  ASSERT_TRUE(run_until([&] { return a->known_services() == 2 && b->known_services() == 2 && c->known_services() == 2; }));
  a->use_hook_set("auth");
  b->use_hook_set("auth");
  for (const auto& s : stranger_sets()) c->use_hook_set(s);
  answer_with(*b, "b");
  answer_with(*c, "c");
  auto at_a = events_of(*a);

  // Its answer is dropped (or it drops the question): the query times out for it alone.
  auto q = ask(*a, {"worker"}, "who", 600ms);
  EXPECT_TRUE(q->timed_out());
  const auto results = q->results();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results.begin()->first, b->uuid());
  EXPECT_EQ(results.begin()->second.data, "b:who");

  // Its events are dropped; a keyed member's arrive.
  const auto dropped_before = a->counters().dropped_hook;
  EXPECT_EQ(c->send(c->resolve({a->sid()}), "injected"), 1u);
  EXPECT_EQ(b->send(b->resolve({a->sid()}), "genuine"), 1u);
  ASSERT_TRUE(run_until([&] { return !at_a->empty(); }));
  run_for(100ms);
  EXPECT_EQ(*at_a, std::vector<std::string>{"genuine"});
  EXPECT_GT(a->counters().dropped_hook, dropped_before);

  // A newcomer without the key is never discovered by keyed members; they keep each other.
  auto d = member(fast({"worker"}), stranger_plugins(), stranger_sets());
  run_for(800ms);
  EXPECT_FALSE(knows(*a, *d));
  EXPECT_FALSE(knows(*b, *d));
  EXPECT_TRUE(knows(*a, *b));
  EXPECT_TRUE(knows(*b, *a));
}

static std::string stranger_name(const ::testing::TestParamInfo<const char*>& param) {
  const char* names[] = {"WithoutAuth", "WithAnotherKey", "WithAnotherSecret"};
  return names[param.index];
}

INSTANTIATE_TEST_SUITE_P(HookPlugins, HookPluginsStranger,
                         ::testing::Values("", "[auth]\nkeys = k9:another-secret\n", "[auth]\nkeys = k1:wrong-secret\n"),
                         stranger_name);

TEST_F(HookPlugins, AuthDropsAReplayedPacket) {
  auto a = keyed(kAuthK1);
  auto b = keyed(kAuthK1);
  ASSERT_TRUE(run_until([&] { return knows(*a, *b) && knows(*b, *a); }));
  auto captured = intercept_events(*a);
  auto at_b = events_of(*b);
  a->send(a->resolve({b->sid()}), "once");
  ASSERT_EQ(captured->size(), 1u);
  MemoryProtocol* t = protocol_of(*b, "t");
  ASSERT_NE(t, nullptr);
  t->deliver(captured->front(), "127.0.0.1", 0);
  EXPECT_EQ(*at_b, std::vector<std::string>{"once"});
  const auto dropped = b->counters().dropped_hook;
  t->deliver(captured->front(), "127.0.0.1", 0);
  t->deliver(captured->front(), "127.0.0.1", 0);
  EXPECT_EQ(*at_b, std::vector<std::string>{"once"});
  EXPECT_EQ(b->counters().dropped_hook, dropped + 2);
}

TEST_F(HookPlugins, AuthDropsAPacketWithAFlippedDataByte) {
  auto a = keyed(kAuthK1);
  auto b = keyed(kAuthK1);
  ASSERT_TRUE(run_until([&] { return knows(*a, *b) && knows(*b, *a); }));
  auto captured = intercept_events(*a);
  auto at_b = events_of(*b);
  a->send(a->resolve({b->sid()}), "pay 100");
  ASSERT_EQ(captured->size(), 1u);
  // Flip one bit of the data's last byte in the packet bytes themselves.
  std::string bytes = captured->front();
  const auto at = bytes.find("pay 100");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 6] = static_cast<char>(bytes[at + 6] ^ 0x01);  // "pay 101"
  MemoryProtocol* t = protocol_of(*b, "t");
  const auto dropped = b->counters().dropped_hook;
  t->deliver(bytes, "127.0.0.1", 0);
  EXPECT_TRUE(at_b->empty());
  EXPECT_EQ(b->counters().dropped_hook, dropped + 1);
  // The intact packet still passes: the flipped one left no trace.
  t->deliver(captured->front(), "127.0.0.1", 0);
  EXPECT_EQ(*at_b, std::vector<std::string>{"pay 100"});
}

TEST_F(HookPlugins, AuthDropsAStaleTimestamp) {
  const std::string ini = "[auth]\nkeys = k1:first-secret\nwindow = 1\n";
  auto a = keyed(ini);
  auto b = keyed(ini);
  ASSERT_TRUE(run_until([&] { return knows(*a, *b) && knows(*b, *a); }));
  auto captured = intercept_events(*a);
  auto at_b = events_of(*b);
  a->send(a->resolve({b->sid()}), "old news");
  a->send(a->resolve({b->sid()}), "fresh");
  ASSERT_EQ(captured->size(), 2u);
  MemoryProtocol* t = protocol_of(*b, "t");
  t->deliver((*captured)[1], "127.0.0.1", 0);
  EXPECT_EQ(*at_b, std::vector<std::string>{"fresh"});
  run_for(1300ms);  // beyond the 1 s window; heartbeats keep the members known
  ASSERT_TRUE(knows(*b, *a));
  const auto dropped = b->counters().dropped_hook;
  t->deliver((*captured)[0], "127.0.0.1", 0);
  EXPECT_EQ(*at_b, std::vector<std::string>{"fresh"});
  EXPECT_EQ(b->counters().dropped_hook, dropped + 1);
}

TEST_F(HookPlugins, AuthKeyRotationLosesNoMember) {
  // Rotation from k1 to k2: every member accepts both keys before any signs with k2.
  const std::string both_sign_k1 = "[auth]\nkeys = k1:first-secret k2:second-secret\nsign_with = k1\n";
  const std::string both_sign_k2 = "[auth]\nkeys = k1:first-secret k2:second-secret\nsign_with = k2\n";
  auto a = keyed(both_sign_k1, {"x"});
  auto b = keyed(both_sign_k2, {"x"});
  auto c = keyed("[auth]\nkeys = k2:second-secret k1:first-secret\n", {"x"});  // signs with k2, the first
  auto lost = std::make_shared<std::vector<std::string>>();
  for (Cluster* m : {a.get(), b.get(), c.get()})
    m->hook(HookPoint::service_lost, "count-lost", [lost](HookContext& ctx) {
      lost->push_back(ctx.service->uuid);
      return Verdict::pass;
    });
  ASSERT_TRUE(run_until([&] { return a->known_services() == 2 && b->known_services() == 2 && c->known_services() == 2; }));
  for (Cluster* m : {a.get(), b.get(), c.get()}) {
    answer_with(*m, m->sid());
    auto q = ask(*m, {"x"}, "ping");
    EXPECT_FALSE(q->timed_out());
    EXPECT_EQ(q->payloads().size(), 2u);
  }
  // A member that dropped k1 too early knows the k2 signers only; a k1 signer does not know it.
  auto d = keyed("[auth]\nkeys = k2:second-secret\n", {"x"});
  ASSERT_TRUE(run_until([&] { return knows(*d, *b) && knows(*d, *c) && knows(*a, *d); }));
  run_for(300ms);
  EXPECT_FALSE(knows(*d, *a));
  // A switches to k2 (a restart with the new config): now the k2-only member knows everyone.
  const std::string a_uuid = a->uuid();
  a.reset();
  auto a2 = keyed(both_sign_k2, {"x"});
  ASSERT_TRUE(run_until([&] { return knows(*d, *a2) && knows(*b, *a2) && knows(*c, *a2) && knows(*a2, *d); }));
  run_for(500ms);
  for (const auto& uuid : *lost) EXPECT_EQ(uuid, a_uuid) << "only the member that left was lost";
  EXPECT_TRUE(knows(*b, *c) && knows(*c, *b));
}

TEST_F(HookPlugins, AuthHookSetAttachedTwiceIsRefused) {
  auto a = keyed(kAuthK1);
  try {
    a->use_hook_set("auth");
    ADD_FAILURE() << "second attach succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("exists already"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------- members: kv

TEST_F(HookPlugins, KvAnswersGetAndKeysAndRefusesUnknownKeys) {
  const std::string ini = "[kv]\nversion = 1.2.3\nOwner = ops team\nmy key = {odd}\nempty =\n";
  auto a = member(fast({"kv"}), {{"kv", ini}}, {"kv"});
  auto b = member(fast());
  ASSERT_TRUE(run_until([&] { return knows(*a, *b) && knows(*b, *a); }));
  auto answer = [&](const std::string& text) {
    auto q = ask(*b, {"kv"}, text);
    const auto r = q->results();
    return r.empty() ? QueryAnswer{"", true, "no answer"} : r.begin()->second;
  };
  QueryAnswer r = answer("get version");
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.data, "1.2.3");
  r = answer("get OWNER");  // keys are case-insensitive, like the ini file
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.data, "ops team");
  EXPECT_EQ(answer("get {my key}").data, "{odd}");
  EXPECT_EQ(answer("  get   my key  ").data, "{odd}");
  r = answer("get empty");
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.data, "");
  r = answer("get nope");
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.data, "kv: no key 'nope'");
  r = answer("keys");
  EXPECT_FALSE(r.error);
  std::vector<std::string> keys;
  ASSERT_TRUE(tcl::parse_list(r.data, keys)) << r.data;
  EXPECT_EQ(keys, (std::vector<std::string>{"empty", "my key", "owner", "version"}));
  EXPECT_EQ(r.data, "empty {my key} owner version");
  // Anything else is not kv's: no answer from it.
  r = answer("status");
  EXPECT_TRUE(r.error);
  EXPECT_EQ(r.data, "no query handler");
  // Other query hooks answer what kv leaves, and win over it.
  a->hook(HookPoint::query, "app", [](HookContext& ctx) {
    const std::string text = ctx.payload->data.value_or("");
    if (text != "status" && text != "get version") return Verdict::pass;
    ctx.answer = "app:" + text;
    return Verdict::modified;
  });
  EXPECT_EQ(answer("status").data, "app:status");
  EXPECT_EQ(answer("get version").data, "app:get version");
  EXPECT_EQ(answer("get owner").data, "ops team");
}

TEST(HookPluginQuoting, KvKeysIsATclList) {
  // Keys with every kind of special character come back through the core's Tcl parser.
  std::string ini = "[kv]\n";
  const std::vector<std::string> odd = {"a b", "{x", "y}", "$v", "a[c]", "q\"", "back\\slash", "semi;colon", "{}", "x#y"};
  for (std::size_t i = 0; i < odd.size(); ++i) ini += odd[i] + " = " + std::to_string(i) + "\n";
  Attached a("kv", "kv", ini);
  ASSERT_TRUE(a.attach) << a.attach.message();
  Payload p = sample_event("keys");
  p.type = static_cast<std::uint64_t>(PayloadType::query);
  HookContext ctx;
  ctx.payload = &p;
  ASSERT_EQ(a.registry.run(HookPoint::query, ctx), Verdict::modified);
  std::vector<std::string> keys;
  ASSERT_TRUE(tcl::parse_list(ctx.answer, keys)) << ctx.answer;
  std::vector<std::string> expected = odd;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(keys, expected) << ctx.answer;
}

// ---------------------------------------------------------------- members: log


TEST_F(HookPlugins, LogWritesMembershipAndTrafficAtItsLevel) {
  Poco::AutoPtr<CaptureChannel> capture(new CaptureChannel);
  Poco::Logger& logger = Poco::Logger::get("cluster.test.log");
  logger.setChannel(capture);
  logger.setLevel(Poco::Message::PRIO_TRACE);

  auto a = member(fast({"logged"}), {{"log", "[log]\nlevel = notice\nlogger = cluster.test.log\n"}}, {"log"});
  answer_with(*a, "a");
  auto b = member(fast({"visitor"}));
  ASSERT_TRUE(run_until([&] { return knows(*a, *b) && knows(*b, *a); }));
  ASSERT_TRUE(run_until([&] { return capture->has("discovered " + b->uuid(), Poco::Message::PRIO_NOTICE); }))
      << capture->all();
  EXPECT_TRUE(capture->has("tags {visitor}", Poco::Message::PRIO_NOTICE)) << capture->all();

  auto q = ask(*b, {a->sid()}, "hello there");
  EXPECT_EQ(q->payloads(), std::vector<std::string>{"a:hello there"}) << "log changes nothing";
  EXPECT_TRUE(capture->has("query from " + b->uuid() + " ruid " + q->id() + ": hello there", Poco::Message::PRIO_NOTICE))
      << capture->all();
  EXPECT_TRUE(capture->has("response to " + b->uuid() + " ruid " + q->id() + ": a:hello there",
                           Poco::Message::PRIO_NOTICE))
      << capture->all();

  EXPECT_EQ(b->send(b->resolve({a->sid()}), "an event"), 1u);
  ASSERT_TRUE(run_until([&] { return capture->has("event from " + b->uuid() + ": an event", Poco::Message::PRIO_NOTICE); }))
      << capture->all();
  QueryOptions o;
  o.resolve = {b->sid()};
  o.query = "outgoing";
  o.timeout = 300ms;
  auto out = a->query(o);
  ASSERT_TRUE(run_until([&] { return out->done(); }));
  EXPECT_TRUE(capture->has("query to " + b->uuid() + " ruid " + out->id() + ": outgoing", Poco::Message::PRIO_NOTICE));
  EXPECT_TRUE(capture->has("response from " + b->uuid() + " ruid " + out->id() + " error: no query handler",
                           Poco::Message::PRIO_NOTICE))
      << capture->all();

  b->tags_replace({"visitor", "late"});
  ASSERT_TRUE(run_until([&] { return capture->has("tags of " + b->uuid() + " are now {visitor late}", Poco::Message::PRIO_NOTICE); }))
      << capture->all();
  const std::string b_uuid = b->uuid();
  b->leave();
  ASSERT_TRUE(run_until([&] { return capture->has("lost " + b_uuid + " (left)", Poco::Message::PRIO_NOTICE); }))
      << capture->all();
  // Heartbeats and discovery are not logged as traffic.
  for (const auto& l : capture->lines) EXPECT_EQ(l.first, Poco::Message::PRIO_NOTICE) << l.second;

  // The host's logger level still filters: below it, nothing is written.
  const std::size_t lines = capture->lines.size();
  logger.setLevel(Poco::Message::PRIO_WARNING);
  auto c = member(fast());
  ASSERT_TRUE(run_until([&] { return knows(*a, *c); }));
  run_for(50ms);
  EXPECT_EQ(capture->lines.size(), lines);
  c.reset();
  a.reset();
  logger.setChannel(nullptr);
}
