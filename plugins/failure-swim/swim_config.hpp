// The [swim] section: its keys, their defaults and ranges (the one place they are written), and
// the parsed parameters the detector runs with (docs/failure-detection.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <cluster/sdk/config.hpp>

namespace cluster::swim {

/// The wire version we speak; advertised as `swim {v 1}` and the first element of every `raw`.
inline constexpr const char* kWireVersion = "1";
/// The props key members advertise the detector under.
inline constexpr const char* kPropsKey = "swim";

/// The schema of [swim]. Defaults are tuned for a LAN (issue 13's targets: kill -9 noticed by
/// every member within ~3.5 s at N = 20, no false `lost` at 20 % loss).
inline constexpr sdk::ConfigKey kKeys[] = {
    {"probe_interval_ms", sdk::ConfigType::integer, "400",
     "period of our probe rounds (one member probed per round), ms; scaled by the local health score + 1"},
    {"probe_timeout_ms", sdk::ConfigType::integer, "200",
     "how long a direct probe waits for its ack before members are asked to probe indirectly, ms; "
     "scaled by the local health score + 1; below probe_interval_ms"},
    {"indirect_checks", sdk::ConfigType::integer, "3", "members asked to probe a member that did not ack us"},
    {"suspicion_mult", sdk::ConfigType::integer, "4",
     "suspicion timeout: suspicion_mult x max(1, log10(members)) x probe interval at least"},
    {"suspicion_max_mult", sdk::ConfigType::integer, "4",
     "a suspicion without confirmations lasts suspicion_max_mult times the least timeout"},
    {"awareness_max", sdk::ConfigType::integer, "4", "local health scores run 0 .. awareness_max - 1"},
    {"gossip_interval_ms", sdk::ConfigType::integer, "100", "period of gossip messages while updates wait, ms"},
    {"gossip_nodes", sdk::ConfigType::integer, "3", "random members each gossip message goes to"},
    {"retransmit_mult", sdk::ConfigType::integer, "4",
     "each update is sent retransmit_mult x ceil(log10(members + 1)) times"},
    {"protocol", sdk::ConfigType::list, "d t",
     "protocols to probe over, by preference: the first that we and the member run (and it has props for) is used"},
};

inline constexpr sdk::ConfigRange kRanges[] = {
    {"probe_interval_ms", 20, 600000}, {"probe_timeout_ms", 5, 600000}, {"indirect_checks", 0, 16},
    {"suspicion_mult", 1, 100},        {"suspicion_max_mult", 1, 100},  {"awareness_max", 1, 64},
    {"gossip_interval_ms", 10, 600000}, {"gossip_nodes", 0, 64},        {"retransmit_mult", 1, 64},
};

/// Bounds that protect us from what peers send and from our own growth.
inline constexpr std::size_t kMaxUpdatesPerMessage = 64;  ///< more in one message: malformed
inline constexpr std::size_t kMaxRawBytes = 16384;        ///< a longer `raw`: malformed
inline constexpr std::size_t kMaxUuidBytes = 512;         ///< a longer uuid in a message: malformed
inline constexpr std::size_t kMaxPending = 256;           ///< probes and relayed probes in flight
inline constexpr std::size_t kMaxRelayed = 128;           ///< of them, probes made for others: ours keep room
/// Incarnations above this are refused on the wire: a forged one near 2^64 would leave its
/// member no higher number to refute with (a member bumps by one per refutation).
inline constexpr std::uint64_t kMaxIncarnation = std::uint64_t{1} << 62;
inline constexpr std::size_t kMaxQueued = 512;            ///< updates waiting to be gossiped
inline constexpr std::size_t kMaxTombstones = 256;        ///< incarnations of removed members kept
inline constexpr std::size_t kDirectDeadLimit = 64;       ///< a dead verdict goes to every member up to this many
inline constexpr std::size_t kPacketBudget = 1000;        ///< bytes of an encoded packet, before hooks
inline constexpr std::size_t kHookReserve = 120;          ///< of which kept free for send hooks (auth)
/// How long incarnations of a removed member are remembered, and for how long after it comes back
/// suspect/dead gossip at or below that incarnation (still circulating) is ignored.
inline constexpr std::chrono::milliseconds kTombstoneKeep{60000};
inline constexpr std::chrono::milliseconds kReadmitGrace{5000};

/// What the detector runs with.
struct Params {
  std::chrono::milliseconds probe_interval{0};
  std::chrono::milliseconds probe_timeout{0};
  int indirect_checks = 0;
  int suspicion_mult = 0;
  int suspicion_max_mult = 0;
  int awareness_max = 0;
  std::chrono::milliseconds gossip_interval{0};
  int gossip_nodes = 0;
  int retransmit_mult = 0;
  std::vector<std::string> protocols;
};

/// The parameters a validated section holds.
Params params_from(const sdk::PluginConfig& config);
/// The defaults of kKeys.
Params default_params();
/// What is wrong with `p` beyond the ranges ("" = nothing): probe_timeout_ms must be below
/// probe_interval_ms, protocol must name at least one protocol and no multicast one ("c").
std::string check_params(const Params& p);

}  // namespace cluster::swim
