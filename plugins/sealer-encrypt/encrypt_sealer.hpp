// The `encrypt` packet sealer (cluster-encrypt.so; [cluster] sealer = encrypt): AES-256-GCM
// through OpenSSL 3 EVP, a keyring file, a sliding replay window per sender stream.
//
//   sealed = version (1, = 1) | key id (8) | nonce (12) | timestamp (8, big-endian, ms since the
//            Unix epoch) | ciphertext | tag (16)
//   GCM AAD = aad (the core's envelope header) | version | key id | nonce | timestamp
//   nonce   = lane (1) | epoch (7 random bytes) | counter (4, big-endian, per lane, from 0)
//   key id  = the first 8 bytes of SHA-256("cluster-encrypt key id v1" || key), 16 hex digits
//
// A receiver tracks each (epoch, lane) stream with the highest counter seen and a bitmap of the
// 1024 counters below it (IPsec/DTLS style). The plugin's logic lives in this static library
// (cluster_encrypt) so tests/plugins/test_encrypt.cpp can drive it on a fake host with a manual
// clock; encrypt_plugin.cpp only registers it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cluster/sdk/config.hpp"
#include "cluster/sdk/result.hpp"
#include "cluster/sdk/sealer.hpp"

typedef struct evp_cipher_st EVP_CIPHER;
typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace cluster::encrypt {

namespace sdk = cluster::sdk;

inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::size_t kKeySize = 32;
inline constexpr std::size_t kKeyIdSize = 8;
inline constexpr std::size_t kNonceSize = 12;
inline constexpr std::size_t kEpochSize = 7;
inline constexpr std::size_t kTimeSize = 8;
inline constexpr std::size_t kTagSize = 16;
/// version | key id | nonce | timestamp: in clear, authenticated.
inline constexpr std::size_t kHeaderSize = 1 + kKeyIdSize + kNonceSize + kTimeSize;  // 29
inline constexpr std::size_t kOverhead = kHeaderSize + kTagSize;                    // 45
/// Counters tracked below the highest one seen, per (epoch, lane).
inline constexpr std::uint64_t kReplayWindow = 1024;
/// Streams ((epoch, lane) pairs) remembered at most.
inline constexpr std::size_t kMaxStreams = 65536;

extern const sdk::ConfigKey kKeys[3];
extern const sdk::ConfigRange kRanges[1];

/// The [encrypt] section, parsed once at init.
struct Options {
  std::string keyring;          ///< path of the keyring file (required)
  bool persist = true;          ///< rewrite the file after install/use/remove
  std::int64_t window_ms = 30000;
};

/// Parses and checks the section (the host kept window in its range already).
sdk::Result options_from(const sdk::PluginConfig& config, Options& out);

/// What tests change; production uses the defaults.
struct Tuning {
  /// Wall clock, ms since the Unix epoch (timestamps sent and checked). Empty: system_clock.
  std::function<std::int64_t()> now_ms;
  /// The last counter a lane uses before it takes a fresh epoch (2^32 - 1: the nonce's 4 bytes).
  std::uint32_t counter_max = 0xffffffffu;
  /// Streams remembered at most by the replay table.
  std::size_t max_streams = kMaxStreams;
};

/// Key id of a 32-byte key: 16 lowercase hex digits.
std::string key_id_hex(const unsigned char* key, std::size_t size);

class EncryptSealer final : public sdk::PacketSealer, public sdk::Keyring {
 public:
  EncryptSealer(sdk::SealerHost& host, Options options, Tuning tuning = {});
  ~EncryptSealer() override;
  EncryptSealer(const EncryptSealer&) = delete;
  EncryptSealer& operator=(const EncryptSealer&) = delete;

  // PacketSealer
  sdk::Result start() noexcept override;
  std::size_t overhead() const noexcept override { return kOverhead; }
  bool seal(std::string_view aad, std::string_view body, std::uint8_t lane, std::string& out) noexcept override;
  sdk::OpenStatus open(std::string_view aad, std::string_view sealed, std::string& body) noexcept override;
  sdk::Keyring* keyring() noexcept override { return this; }

  // Keyring
  sdk::Result install(std::string_view key) noexcept override;
  sdk::Result use(std::string_view key) noexcept override;
  sdk::Result remove(std::string_view key) noexcept override;
  std::vector<sdk::KeyInfo> list() const override;

  /// Streams in the replay table (tests).
  std::size_t streams() const noexcept { return streams_.size(); }

 private:
  struct Key;
  /// The replay state of one (epoch, lane).
  struct Stream {
    std::uint64_t highest = 0;                                 ///< highest counter accepted
    std::array<std::uint64_t, kReplayWindow / 64> seen{};     ///< bit (counter % 1024)
    std::int64_t newest_sent = 0;                              ///< highest timestamp accepted
    std::list<std::uint64_t>::iterator position;              ///< in recency_
  };
  struct Lane {
    std::array<unsigned char, kEpochSize> epoch{};
    std::uint64_t next = 0;  ///< the counter the next packet uses
  };
  using StreamMap = std::unordered_map<std::uint64_t, Stream>;

  std::int64_t now() const;
  Key* find(const unsigned char* id) noexcept;
  sdk::Result resolve(std::string_view text, std::size_t& index) const;
  std::string known_ids() const;
  sdk::Result persist(const std::vector<const Key*>& order) const;
  sdk::Result load_file(std::vector<std::unique_ptr<Key>>& keys) const;
  std::unique_ptr<Key> make_key(const unsigned char* secret) const;
  /// Replay check of an authentic, fresh packet; records it when it is new.
  bool accept(std::uint64_t stream, std::uint32_t counter, std::int64_t sent, std::int64_t now);
  void evict_idle(std::int64_t now);

  sdk::SealerHost& host_;
  Options options_;
  Tuning tuning_;
  EVP_CIPHER* cipher_ = nullptr;
  std::vector<std::unique_ptr<Key>> keys_;  ///< the primary first
  std::array<Lane, 256> lanes_{};
  bool started_ = false;

  StreamMap streams_;
  std::list<std::uint64_t> recency_;  ///< stream keys, the most recently seen first
  std::int64_t full_warned_ms_ = 0;
  std::uint64_t full_refused_ = 0;
};

}  // namespace cluster::encrypt
