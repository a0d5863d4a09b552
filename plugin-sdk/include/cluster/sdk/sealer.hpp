// Packet sealing (SDK 1.5): a plugin kind that encrypts and authenticates every packet body this
// member sends, on every transport, and opens every one it receives before anything decodes it
// (Registrar::add_sealer, chosen with [cluster] sealer = <name>; the `encrypt` plugin is
// AES-256-GCM with a keyring).
//
// Why a plugin kind of its own and not a hook set: hooks see decoded payloads, after the core
// has read the sender, the filter and the channel; a sealer must hide all of them and must see
// the bytes before the decoder does (a forged packet reaches no decoder). Why not a transport
// wrapper: one sealer covers every transport, present and future, with one keyring.
//
// The core frames a sealed packet as an envelope (docs/wire-format.md, "Envelope"): a payload of
// two fields, filter = {"\x01CL"} (which the reference drops silently: it names no member) and
// raw = flags | len(label) | label | content. `aad` is flags, length and label: authenticated
// by the sealer but not encrypted, so a member of another label is told apart without a key.
//
// Every call on the loop thread; none re-enters the core.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/sdk/config.hpp"
#include "cluster/sdk/event_loop.hpp"
#include "cluster/sdk/protocol.hpp"
#include "cluster/sdk/result.hpp"

namespace cluster::sdk {

/// Why a sealed packet was not opened (each one counted by the core).
enum class OpenStatus : std::uint8_t {
  ok = 1,
  malformed,    ///< too short, unknown version: not a sealed packet of this sealer
  unknown_key,  ///< sealed with a key we do not hold
  forged,       ///< authentication failed: tampered, truncated, or another key under a known id
  stale,        ///< authentic, but older (or newer) than the replay window allows
  replayed,     ///< authentic, and opened before
};

inline constexpr std::string_view open_status_name(OpenStatus s) noexcept {
  switch (s) {
    case OpenStatus::ok: return "ok";
    case OpenStatus::malformed: return "malformed";
    case OpenStatus::unknown_key: return "unknown key";
    case OpenStatus::forged: return "forged";
    case OpenStatus::stale: return "stale";
    case OpenStatus::replayed: return "replayed";
  }
  return "?";
}

/// One key of a keyring, as listed (never the secret itself).
struct KeyInfo {
  std::string id;             ///< the sealer's key id (encrypt: 16 hex digits of a hash of the key)
  bool primary = false;       ///< seals what we send
  std::uint64_t opened = 0;   ///< packets opened with it since it was installed or loaded
};

/// Keys managed at run time (clusterctl keys, Cluster::install_key ...). A sealer without
/// keys returns no keyring.
class Keyring {
 public:
  /// Adds an accepted key (the sealer's text form; encrypt: base64 of 32 bytes). Installing a
  /// key held already succeeds and changes nothing. Persisted when the sealer keeps a file.
  virtual Result install(std::string_view key) noexcept = 0;
  /// Makes the key with this id (or this key text) the primary: it seals from now on.
  virtual Result use(std::string_view key) noexcept = 0;
  /// Drops the key with this id (or key text). The primary cannot be removed.
  virtual Result remove(std::string_view key) noexcept = 0;
  /// Every key, the primary first.
  virtual std::vector<KeyInfo> list() const = 0;

 protected:
  ~Keyring() = default;
};

/// Services the core offers a sealer.
class SealerHost {
 public:
  virtual EventLoop& loop() noexcept = 0;
  virtual void log(LogLevel level, std::string_view message) noexcept = 0;
  virtual const ClusterSettings& settings() const noexcept = 0;
  /// The sealer plugin's validated ini section.
  virtual const PluginConfig& config() const noexcept = 0;

 protected:
  ~SealerHost() = default;
};

class PacketSealer {
 public:
  virtual ~PacketSealer() = default;
  /// Runs once at join, before any protocol starts. A failure fails the join with its message.
  virtual Result start() noexcept = 0;
  /// At most this many bytes are added by seal() (the core checks packet sizes with it).
  virtual std::size_t overhead() const noexcept = 0;
  /// Appends to `out` the sealed form of `body`, authenticating `aad` (the envelope header,
  /// already in `out`) too. `lane` tells apart streams that are ordered on their own (the
  /// core passes the protocol's index), so a receiver's replay window can track each. False
  /// (with nothing appended) fails the send.
  virtual bool seal(std::string_view aad, std::string_view body, std::uint8_t lane, std::string& out) noexcept = 0;
  /// Opens `sealed` (authenticating `aad`) into `body` (replacing its contents).
  virtual OpenStatus open(std::string_view aad, std::string_view sealed, std::string& body) noexcept = 0;
  /// The keyring, or nullptr when keys cannot be managed at run time.
  virtual Keyring* keyring() noexcept { return nullptr; }
};

using SealerFactory = std::function<std::unique_ptr<PacketSealer>(SealerHost&)>;

}  // namespace cluster::sdk
