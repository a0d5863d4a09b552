// Configuration of one member: the [cluster] section of an ini file, or set in code.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cluster/export.hpp"
#include "cluster/ini.hpp"
#include "cluster/sdk/protocol.hpp"
#include "cluster/send_outcome.hpp"

#include <functional>

namespace cluster {

struct CLUSTER_API Options {
  std::string address = "230.230.230.230";  ///< multicast group
  std::uint16_t port = 23000;               ///< multicast port
  /// Multicast TTL. 0 (default): beacons never leave this host AND packets from other hosts
  /// are ignored.
  unsigned remote = 0;
  /// Forget a member silent for this long.
  std::chrono::milliseconds ttl = std::chrono::seconds(600);
  /// Heartbeat period; 0 picks a random 110-140 s once, as the reference does.
  std::chrono::milliseconds heartbeat{0};
  /// Added to ttl before a silent member expires, for the heartbeat still in flight: with ttl a
  /// multiple of the heartbeat (3 x 1 s), the expiry fell on the very moment the next heartbeat
  /// was due and often won, so members were lost one heartbeat early and listed again
  /// milliseconds later. Unset: a quarter of our heartbeat period (or of ttl, if shorter), at
  /// most 5 s.
  std::optional<std::chrono::milliseconds> expiry_grace;
  /// Our protocols in priority order; "c" is always added (last) when missing.
  std::vector<std::string> protocols{"t", "c"};
  /// User channels to listen to besides 0, 1 and 2.
  std::vector<std::uint64_t> channels;
  /// Tags may not hold control characters, and must fit in one heartbeat (max_multicast_packet):
  /// join throws ConfigError otherwise, and the tags_* calls throw std::invalid_argument.
  std::vector<std::string> tags;
  std::string hid;        ///< host id override ("" = MAC address of eth0 / first interface)
  std::string interface;  ///< multicast interface ("" = default route, join on all)
  /// How members are found and we are announced: one discovery registered by a loaded plugin
  /// (sdk/discovery.hpp), or several separated by commas or spaces ("multicast, seeds"): all
  /// run, and a member found by two is one member. "multicast" (built in) is the reference's
  /// beacon; without it no multicast protocol is needed ("c" is then not added to protocols).
  std::string discovery = "multicast";
  /// `discovery` as a list of names.
  std::vector<std::string> discovery_names() const;
  /// Address every transport listens on unless its own section sets one ("" = all).
  std::string bind;
  /// Address other members should use to reach us (NAT, several interfaces; "" = the source
  /// address they see). Transports advertise it in their props as `host`.
  std::string advertise;
  /// Who decides members are alive: a failure detector registered by a loaded plugin
  /// (sdk/failure_detector.hpp). "ttl" (built in) is the reference's ttl + ping rule.
  std::string failure_detector = "ttl";
  /// Cluster label ("" = none): every packet carries it in an envelope and packets of another
  /// label (or none) are dropped, counted as dropped_label; two clusters that share a group and
  /// port never merge. At most 255 bytes, no control characters. A member with a label and the
  /// reference (which has none) do not see each other (docs/security.md).
  std::string label;
  /// Seals (encrypts and authenticates) every packet: a sealer registered by a loaded plugin
  /// (sdk/sealer.hpp), e.g. "encrypt" (AES-256-GCM with a keyring). "" = none.
  std::string sealer;
  /// How long failed sids are collected before one ping goes out.
  std::chrono::milliseconds ping_delay = std::chrono::seconds(5);
  /// A pinged member must be heard from within this long...
  std::chrono::milliseconds ping_grace = std::chrono::seconds(20);
  /// ...unless it was seen this recently.
  std::chrono::milliseconds ping_recent = std::chrono::seconds(3);
  /// Largest packet sent by multicast; larger ones go over a stream protocol (reference limit).
  std::size_t max_multicast_packet = 4096;
  /// Members known at most; newcomers beyond it are refused (counted as refused_members) until
  /// some expire or leave. Bounds memory (about 2 KB a member, measured: 32 MB at the default)
  /// against forged heartbeats with fresh sids: without the auth hook set, anyone on the segment
  /// can announce members.
  std::size_t max_members = 16384;
  // Sends from other threads (Cluster::send_async; docs/host-apps.md): they wait in bounded
  // queues (4 lanes per cluster; a thread always uses the same lane) until the loop sends them.
  /// Requests queued at most per lane (threads spread over 4 lanes: at most 4x this in all).
  std::size_t send_queue_limit = 65536;
  /// What a producer meets at the limit: block (wait for room, at most send_queue_block_ms,
  /// then `full`), fail (`full` at once) or drop_oldest (the oldest queued request is dropped
  /// and reported to its SendDone).
  SendQueueFull send_queue_full = SendQueueFull::block;
  std::chrono::milliseconds send_queue_block_ms = std::chrono::seconds(1);
  // Stream limits (docs/transports.md, "Limits"): what a peer, or anyone who can connect,
  // may make us hold for TCP and Unix streams.
  /// Largest packet body accepted over a stream; a larger one is skipped as damaged. The
  /// biggest packets of this protocol (props, a query answer) are a few KiB; 1 MiB leaves
  /// room for large events while 1,000 connections cannot each hold 16 MiB.
  std::size_t max_packet = 1u << 20;
  /// Memory all partial (not yet complete) stream packets may hold together; beyond it the
  /// connection holding the most is closed.
  std::size_t max_buffered = 16u << 20;
  /// A partial stream packet must complete within this long (it closes the connection).
  std::chrono::milliseconds partial_timeout = std::chrono::seconds(15);

  /// Messages of the core, protocols and hook sets at this level or above are logged
  /// ([cluster] log_level: trace, debug, info, notice, warning, error). Drops by hooks are not
  /// logged by the core (Counters::dropped_hook counts them); hook sets may log their own at
  /// debug (auth does). clusterd sets this from [logging] level unless log_level is given.
  sdk::LogLevel log_level = sdk::LogLevel::warning;
  /// Where they go; empty = standard error. Called on the loop thread.
  std::function<void(sdk::LogLevel, std::string_view)> log_sink;

  /// Reads the [cluster] section. Throws ConfigError ("file:line: reason") for unknown keys and
  /// bad values.
  static Options from_ini(const IniFile& ini);
  /// Why `label` cannot be a [cluster] label ("" when it can).
  static std::string label_problem(const std::string& label);
};

/// A whole node description: [cluster], [plugins] and the plugins' own sections.
struct CLUSTER_API NodeConfig {
  Options options;
  std::vector<std::string> plugin_paths;  ///< [plugins] path (searched in order)
  std::vector<std::string> load;          ///< [plugins] load: names or paths
  std::vector<std::string> hook_sets;     ///< [plugins] hooks: hook sets to attach, in order
  IniFile ini;

  /// Loads and validates a file. Throws ConfigError.
  static NodeConfig load_file(const std::string& path);
  static NodeConfig from_ini(IniFile ini);
  /// The file a plugin name resolves to: a path when it contains '/', else
  /// "<dir>/cluster-<name>.so" for the first dir of plugin_paths where it exists.
  std::string resolve_plugin(const std::string& name) const;
};

}  // namespace cluster
