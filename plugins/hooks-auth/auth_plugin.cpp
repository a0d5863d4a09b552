// Hook set "auth": shared-secret authentication of every packet with HMAC-SHA256.
//
// The signature travels in field 11 `raw`, the one field the reference ignores (PROTOCOL.md
// section 9: it drops packets with unknown field ids):
//
//   raw = "CA1" | len(key id) (1 byte) | key id | timestamp (8 bytes, big-endian, ms since the
//         Unix epoch) | nonce (8 random bytes) | tag (32 bytes)
//   tag = HMAC-SHA256(secret, canonical encoding of the payload with raw = everything but the tag)
//
// The canonical encoding is the core's (HookSetHost::encode: filter first, then ascending ids),
// so the tag covers every field, whatever order a packet's fields came in. Signing runs last
// among the evaluate send hooks; verification first among the evaluate receive hooks (after
// local-only, which needs no work). See docs/hooks.md for the threat model and limits.
#include <Poco/HMACEngine.h>
#include <Poco/SHA2Engine.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "cluster/sdk.hpp"
#include "hook_set_base.hpp"

namespace {

using cluster::HookContext;
using cluster::HookPoint;
using cluster::HookRegistry;
using cluster::Payload;
using cluster::Verdict;
using cluster::sdk::ConfigKey;
using cluster::sdk::ConfigType;
using cluster::sdk::HookSetHost;
using cluster::sdk::LogLevel;
using cluster::sdk::PluginConfig;
using cluster::sdk::Result;
using cluster::sdk::text::printable;

constexpr ConfigKey kKeys[] = {
    {"keys", ConfigType::string, "",
     "shared secrets as id:secret pairs separated by whitespace (k1:secret1 k2:secret2); every "
     "listed key is accepted; required"},
    {"sign_with", ConfigType::string, "", "key id that signs outgoing packets; default: the first of keys"},
    {"window", ConfigType::integer, "30",
     "seconds a packet's timestamp may differ from our clock (1..86400); also the replay window"},
};

constexpr cluster::sdk::ConfigRange kRanges[] = {
    {"window", 1, 86400},
};

constexpr std::string_view kMagic = "CA1";
// The same, wrapping the application's own field 11 (a member list of the contact discoveries):
// "CA2" | key | time | nonce | length of the application bytes (4, big-endian) | them | tag.
constexpr std::string_view kMagicApp = "CA2";
constexpr std::size_t kAppLenSize = 4;
constexpr std::size_t kMaxAppBytes = 0xffffffffu;
constexpr std::size_t kTimeSize = 8;
constexpr std::size_t kNonceSize = 8;
constexpr std::size_t kTagSize = 32;
constexpr std::size_t kMaxKeyId = 255;
/// Tags of accepted packets remembered against replays; beyond it the oldest are forgotten.
constexpr std::size_t kReplayCacheLimit = 100000;
/// Verification before every other receive hook except local-only's admission; signing after
/// every other send hook, so it covers their changes.
constexpr int kVerifyOrder = cluster::hook_order::verify;
constexpr int kSignOrder = cluster::hook_order::last;

// Poco 1.11's SHA2Engine lacks the BLOCK_SIZE/DIGEST_SIZE constants HMACEngine needs.
class Sha256Engine : public Poco::SHA2Engine {
 public:
  enum { BLOCK_SIZE = 64, DIGEST_SIZE = 32 };
  Sha256Engine() : Poco::SHA2Engine(Poco::SHA2Engine::SHA_256) {}
};
using Hmac = Poco::HMACEngine<Sha256Engine>;
static_assert(Hmac::DIGEST_SIZE == kTagSize);

struct Key {
  std::string id;
  std::string secret;
};

struct AuthConfig {
  std::vector<Key> keys;
  std::size_t sign_with = 0;   ///< index into keys
  std::int64_t window_ms = 30000;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

Result parse_config(const PluginConfig& cfg, AuthConfig& out) {
  const std::string section = "[" + cfg.section() + "] ";
  const std::string& text = cfg.get("keys");
  out.keys.clear();
  for (std::size_t i = 0; i < text.size();) {
    while (i < text.size() && is_space(text[i])) ++i;
    std::size_t j = i;
    while (j < text.size() && !is_space(text[j])) ++j;
    if (j == i) break;
    const std::string_view item(text.data() + i, j - i);
    i = j;
    const auto colon = item.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == item.size())
      return Result::failure(section + "keys: '" + printable(item, 40) +
                             "' is not id:secret (a key id, a colon, a secret; pairs separated by spaces)");
    Key k{std::string(item.substr(0, colon)), std::string(item.substr(colon + 1))};
    if (k.id.size() > kMaxKeyId) return Result::failure(section + "keys: a key id may have at most 255 bytes");
    for (const Key& other : out.keys)
      if (other.id == k.id) return Result::failure(section + "keys: key id '" + printable(k.id, 60) + "' given twice");
    out.keys.push_back(std::move(k));
  }
  if (out.keys.empty())
    return Result::failure(section + "keys is empty: give at least one id:secret pair (keys = k1:<long random secret>)");
  const std::string& sign = cfg.get("sign_with");
  out.sign_with = 0;
  if (!sign.empty()) {
    bool found = false;
    std::string ids;
    for (std::size_t k = 0; k < out.keys.size(); ++k) {
      ids += (k ? " " : "") + out.keys[k].id;
      if (out.keys[k].id == sign) {
        out.sign_with = k;
        found = true;
      }
    }
    if (!found)
      return Result::failure(section + "sign_with = '" + printable(sign, 60) + "' names no key of keys (key ids: " +
                             ids + ")");
  }
  out.window_ms = cfg.get_int("window") * 1000;  // the host kept it in 1..86400
  return Result::success();
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void put_u64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

std::uint64_t get_u64(std::string_view s) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

bool equal_constant_time(std::string_view a, const unsigned char* b, std::size_t n) {
  if (a.size() != n) return false;
  unsigned diff = 0;
  for (std::size_t i = 0; i < n; ++i) diff |= static_cast<unsigned>(static_cast<unsigned char>(a[i]) ^ b[i]);
  return diff == 0;
}

using Tag = std::array<unsigned char, kTagSize>;
struct TagHash {
  std::size_t operator()(const Tag& t) const noexcept {
    std::uint64_t h = 0;  // the tag is a MAC: its bytes are as good as any hash
    std::memcpy(&h, t.data(), sizeof h);
    return static_cast<std::size_t>(h);
  }
};

class Auth final : public cluster::hooks::HookSetBase {
 public:
  /// `cfg`: the [auth] section, parsed (and refused when invalid) once, at init.
  Auth(HookSetHost& host, const AuthConfig& cfg) : host_(host), cfg_(cfg) {
    for (const Key& k : cfg_.keys) macs_.push_back(std::make_unique<Hmac>(k.secret));
    std::random_device rd;
    rng_.seed((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
  }

  Result attach(HookRegistry& hooks) noexcept override {
    return cluster::sdk::guard("auth: attach", [&] {
      if (!add(hooks, HookPoint::evaluate_receive, "auth.verify", [this](HookContext& ctx) { return verify(ctx); },
               kVerifyOrder))
        return refuse_duplicate("auth", "auth.verify");
      if (!add(hooks, HookPoint::evaluate_send, "auth.sign", [this](HookContext& ctx) { return sign(ctx); },
               kSignOrder))
        return refuse_duplicate("auth", "auth.sign");
      return Result::success();
    });
  }

 private:
  enum Kind { unsigned_, unknown_key, bad_signature, stale, replayed, kinds };

  /// Computes the tag of `p` (whose raw holds the tag-less prefix) with key `k` into `tag`.
  bool compute(const Payload& p, std::size_t k, Tag& tag) {
    encoded_.clear();
    host_.encode(p, encoded_);
    if (encoded_.empty()) return false;
    Hmac& mac = *macs_[k];
    mac.reset();
    mac.update(encoded_.data(), encoded_.size());
    const auto& d = mac.digest();
    if (d.size() != tag.size()) return false;
    std::copy(d.begin(), d.end(), tag.begin());
    return true;
  }

  Verdict sign(HookContext& ctx) {
    if (ctx.payload == nullptr) return Verdict::pass;
    Payload& p = *ctx.payload;
    // Field 11 carries the signature. The application's own bytes there (a discovery's member
    // list) are wrapped and covered by the tag; a payload that carries an old signature
    // (forwarded, or sent again) is signed anew.
    std::string app;
    if (p.raw.has() && !p.raw->empty() && p.raw->compare(0, kMagic.size(), kMagic) != 0 &&
        p.raw->compare(0, kMagicApp.size(), kMagicApp) != 0)
      app = *p.raw;
    if (app.size() > kMaxAppBytes) {
      ctx.reason = "auth: field 11 (raw) of the application is too large to sign";
      return Verdict::drop;
    }
    const Key& key = cfg_.keys[cfg_.sign_with];
    std::string& raw = p.raw.set();
    raw.assign(app.empty() ? kMagic : kMagicApp);
    raw.push_back(static_cast<char>(key.id.size()));
    raw += key.id;
    put_u64(raw, static_cast<std::uint64_t>(now_ms()));
    put_u64(raw, rng_());
    if (!app.empty()) {
      for (int shift = 24; shift >= 0; shift -= 8) raw.push_back(static_cast<char>((app.size() >> shift) & 0xff));
      raw += app;
    }
    Tag tag;
    if (!compute(p, cfg_.sign_with, tag)) {
      ctx.reason = "auth: cannot encode the packet to sign it";
      return Verdict::drop;
    }
    raw.append(reinterpret_cast<const char*>(tag.data()), tag.size());
    return Verdict::modified;
  }

  Verdict refuse(HookContext& ctx, Kind kind, std::string reason) {
    ++drops_[kind];
    ctx.reason = std::move(reason);
    host_.log(LogLevel::debug, ctx.reason + " (from " + sender(ctx) + ", " + std::to_string(drops_[kind]) +
                                   " such drops so far)");
    return Verdict::drop;
  }

  static std::string sender(const HookContext& ctx) {
    const Payload& p = *ctx.payload;
    return (p.sid.has() ? printable(*p.sid, 40) : std::string("?")) + "@" +
           (p.hid.has() ? printable(*p.hid, 40) : std::string("?"));
  }

  Verdict verify(HookContext& ctx) {
    if (ctx.payload == nullptr) return Verdict::pass;
    Payload& p = *ctx.payload;
    const bool wraps = p.raw.has() && p.raw->compare(0, kMagicApp.size(), kMagicApp) == 0;
    if (!p.raw.has() || (!wraps && p.raw->compare(0, kMagic.size(), kMagic) != 0))
      return refuse(ctx, unsigned_, "auth: unsigned");
    std::string& raw = p.raw.set();
    const std::size_t id_len = raw.size() > kMagic.size() ? static_cast<unsigned char>(raw[kMagic.size()]) : 0;
    std::size_t prefix = kMagic.size() + 1 + id_len + kTimeSize + kNonceSize;
    std::size_t app_len = 0;
    if (wraps) {  // the application's bytes follow, their length first
      if (raw.size() < prefix + kAppLenSize + kTagSize) return refuse(ctx, bad_signature, "auth: bad signature");
      for (std::size_t i = 0; i < kAppLenSize; ++i) app_len = (app_len << 8) | static_cast<unsigned char>(raw[prefix + i]);
      prefix += kAppLenSize;
      if (app_len > raw.size() - prefix - kTagSize) return refuse(ctx, bad_signature, "auth: bad signature");
      prefix += app_len;
    }
    if (raw.size() != prefix + kTagSize) return refuse(ctx, bad_signature, "auth: bad signature");
    const std::string_view id(raw.data() + kMagic.size() + 1, id_len);
    std::size_t k = 0;
    while (k < cfg_.keys.size() && cfg_.keys[k].id != id) ++k;
    if (k == cfg_.keys.size()) return refuse(ctx, unknown_key, "auth: unknown key id " + printable(id, 60));
    // The timestamp is covered by the tag: check it first all the same, it costs nothing.
    const auto sent = static_cast<std::int64_t>(get_u64(std::string_view(raw).substr(kMagic.size() + 1 + id_len)));
    const std::int64_t now = now_ms();
    if (sent < now - cfg_.window_ms || sent > now + cfg_.window_ms)
      return refuse(ctx, stale, "auth: stale timestamp");
    const std::string given = raw.substr(prefix);
    raw.resize(prefix);
    Tag tag;
    if (!compute(p, k, tag) || !equal_constant_time(given, tag.data(), tag.size()))
      return refuse(ctx, bad_signature, "auth: bad signature");
    if (!remember(tag)) return refuse(ctx, replayed, "auth: replayed");
    // Verified: hide the signature from everything after us; the application's bytes stay.
    if (wraps) raw = raw.substr(prefix - app_len, app_len);
    else p.raw.reset();
    return Verdict::modified;
  }

  /// Records an accepted tag; false when it was seen before. A tag is kept for twice the window
  /// (a timestamp accepted now stays acceptable for at most that long), at most
  /// kReplayCacheLimit of them.
  bool remember(const Tag& tag) {
    const auto now = std::chrono::steady_clock::now();
    const auto keep = std::chrono::milliseconds(2 * cfg_.window_ms);
    while (!order_.empty() && (now - order_.front().first > keep || order_.size() >= kReplayCacheLimit)) {
      seen_.erase(order_.front().second);
      order_.pop_front();
    }
    if (!seen_.insert(tag).second) return false;
    order_.emplace_back(now, tag);
    return true;
  }

  HookSetHost& host_;
  AuthConfig cfg_;
  std::vector<std::unique_ptr<Hmac>> macs_;  ///< per key, in the order of cfg_.keys
  std::mt19937_64 rng_;                      ///< nonces: unique, need not be secret
  std::string encoded_;                      ///< reused encode buffer
  std::unordered_set<Tag, TagHash> seen_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, Tag>> order_;
  std::uint64_t drops_[kinds] = {};
};

bool init(cluster::sdk::Registrar& registrar, std::string& error) noexcept {
  return cluster::sdk::guard_init("auth", error, [&] {
    AuthConfig cfg;
    if (Result r = parse_config(registrar.config(), cfg); !r) return r;
    registrar.add_hook_set("auth", cluster::sdk::hook_set_factory<Auth>(std::move(cfg)));
    return Result::success();
  });
}

}  // namespace

CLUSTER_PLUGIN_RANGED("auth", "1.0.0", "hook set auth: HMAC-SHA256 shared-secret authentication of every packet",
                      kKeys, std::size(kKeys), kRanges, std::size(kRanges), init, nullptr)
