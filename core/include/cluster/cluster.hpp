// A member of a cluster (the seed's $cluster): join, discover, talk, leave.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/event_loop.hpp"
#include "cluster/export.hpp"
#include "cluster/options.hpp"
#include "cluster/payload.hpp"
#include "cluster/plugin_manager.hpp"
#include "cluster/query.hpp"
#include "cluster/resolver.hpp"
#include "cluster/sdk/hooks.hpp"
#include "cluster/sdk/sealer.hpp"
#include "cluster/send_outcome.hpp"
#include "cluster/service.hpp"

namespace cluster {

struct Stats;  // cluster/stats.hpp: include it to call Cluster::stats()

/// Why packets were dropped, and what went out. Read with Cluster::counters().
struct Counters {
  std::uint64_t received = 0;          ///< packets framed and decoded
  std::uint64_t dropped_remote = 0;    ///< remote = 0 and not from this host
  std::uint64_t dropped_malformed = 0; ///< bad framing or decode error
  std::uint64_t dropped_own = 0;       ///< our own sid
  std::uint64_t dropped_filter = 0;    ///< filter names someone else
  std::uint64_t dropped_channel = 0;   ///< channel not subscribed, or 1/2 from a remote sender
  std::uint64_t dropped_hook = 0;      ///< vetoed by a hook (or a hook threw)
  std::uint64_t dropped_invalid = 0;   ///< missing sid/hid/type/protocols, or no "c"
  std::uint64_t dropped_departed = 0;  ///< from a member that said goodbye moments before (a straggler)
  std::uint64_t sent = 0;              ///< packets handed to a protocol successfully
  std::uint64_t send_failures = 0;     ///< a protocol failed (and the next one was tried)
  std::uint64_t unreachable = 0;       ///< no protocol could reach a member (ping scheduled)
  std::uint64_t pings_sent = 0;
  std::uint64_t burst_answers = 0;     ///< discoveries of a burst answered by one multicast heartbeat
  std::uint64_t asks_sent = 0;         ///< filtered discoveries asking about unknown senders
  std::uint64_t refused_members = 0;   ///< newcomers refused: max_members reached
  std::uint64_t multicast_fallbacks = 0;  ///< sends to many that went direct: the multicast did not fit or failed
  // Stream limits (docs/transports.md, "Limits"): connections closed or refused to bound memory
  // and descriptors.
  std::uint64_t streams_over_budget = 0;  ///< closed: held the most when partial packets exceeded max_buffered
  std::uint64_t streams_stalled = 0;      ///< closed: a partial packet not completed within partial_timeout
  std::uint64_t conns_refused = 0;        ///< inbound connections closed at once (descriptor limit)
  std::uint64_t conns_evicted = 0;        ///< least recently active inbound ones closed to make room
  std::uint64_t conns_idle_closed = 0;    ///< closed after the transport's idle timeout
  // A probing failure detector's (swim; docs/failure-detection.md). 0 with the default ttl one.
  std::uint64_t probes_sent = 0;      ///< direct probes
  std::uint64_t probes_indirect = 0;  ///< probe rounds that asked other members to probe
  std::uint64_t probes_failed = 0;    ///< probe rounds without any ack
  std::uint64_t suspicions = 0;       ///< members we began to suspect
  std::uint64_t refutations = 0;      ///< suspicions of us we refuted
  std::uint64_t confirmations = 0;    ///< suspected members declared dead
  std::uint64_t nacks_sent = 0;       ///< indirect probes whose target did not answer us
  std::uint64_t detector_health = 0;  ///< gauge: the detector's local health score, 0 = healthy
  // The envelope (label and sealer; docs/security.md).
  std::uint64_t dropped_label = 0;     ///< another cluster label, or none where we have one
  std::uint64_t dropped_plain = 0;     ///< not sealed, and we seal (a downgrade)
  std::uint64_t dropped_unopened = 0;  ///< sealed and not opened: unknown key, forged, tampered, no sealer
  std::uint64_t dropped_replay = 0;    ///< sealed and authentic, but replayed or outside the time window
  // The send queue of other threads' send_async ([cluster] send_queue_*).
  std::uint64_t send_queue_full = 0;     ///< requests refused as `full` (fail, or block timed out)
  std::uint64_t send_queue_dropped = 0;  ///< queued requests dropped by drop_oldest
  std::uint64_t send_queue_paused = 0;   ///< times it held for a member whose transport was backlogged
};

struct SendFlags {
  bool allow_multicast = true;         ///< may fall back to "c" / use one filtered multicast
  std::vector<std::string> protocols;  ///< restrict to these protocol ids ("" = any)
  std::uint64_t channel = 0;
};

class CLUSTER_API Cluster {
 public:
  /// Joins on `loop` (which the caller runs) with protocols from `plugins`: starts every
  /// protocol in options.protocols, then multicasts a heartbeat and a discovery. Must be called
  /// on the loop thread or before the loop runs. Throws ConfigError for an unknown protocol id
  /// or bad options, std::runtime_error when a protocol fails to start.
  static std::unique_ptr<Cluster> join(Options options, std::shared_ptr<PluginManager> plugins,
                                       EventLoop& loop, const std::function<void(Cluster&)>& prepare = {});
  /// Joins as a node file says: loads its plugins, attaches its hook sets, and runs its own
  /// loop thread. A loaded plugin whose hook sets are not attached (and that serves none of
  /// our protocols) is logged as a warning with the fix. `prepare` runs before the first packet is sent or received (register hooks
  /// there to see every member from the start). Throws ConfigError / PluginError /
  /// std::runtime_error.
  static std::unique_ptr<Cluster> join(const NodeConfig& config,
                                       const std::function<void(Cluster&)>& prepare = {});

  /// Leaves gracefully if leave() was not called. Service handles outlive it (see service.hpp);
  /// handle calls running on other threads finish first.
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  /// Multicasts a disconnect (members drop us at once), stops protocols. Idempotent.
  void leave();

  // Identity and settings. Thread-safe (immutable after join).
  const std::string& sid() const noexcept;
  const std::string& hid() const noexcept;
  std::string uuid() const { return sid() + "@" + hid(); }
  const Options& config() const noexcept;
  std::chrono::milliseconds ttl() const noexcept { return config().ttl; }
  EventLoop& loop() noexcept;

  // Everything below is thread-safe: from another thread the call runs on the loop and waits.

  /// Announces us now through the discovery (the default multicasts a heartbeat); with `full`
  /// it carries props and tags, else what changed of them.
  void heartbeat(bool full = false);
  /// Asks members to announce themselves through the discovery (the default multicasts a
  /// discovery probe; members answer with a direct heartbeat).
  void discover();
  // Called from a hook or callback while a packet is being handled, heartbeat, discover, send,
  // send_payload, broadcast and query send their packets once it is handled (never from
  // inside the protocol's read callback): send then returns the number of members it will
  // try, send_payload and broadcast success.

  std::vector<ServicePtr> services() const;
  std::size_t known_services() const;
  /// Members matching any of the terms (see Resolver).
  std::vector<ServicePtr> resolve(const std::vector<std::string>& terms) const;
  std::vector<ServicePtr> resolve(const Resolver& resolver) const;
  /// Whether we ourselves match the resolver.
  bool resolve_self(const Resolver& resolver) const;

  std::vector<std::string> tags() const;
  /// Tag changes schedule one immediate heartbeat (several changes in one turn: one heartbeat).
  /// Each throws std::invalid_argument, leaving our tags unchanged, when a resulting tag holds a
  /// control character or the tags would push our heartbeat over max_multicast_packet.
  void tags_append(const std::vector<std::string>& tags);
  void tags_remove(const std::vector<std::string>& tags);
  void tags_replace(const std::vector<std::string>& tags);
  /// -map: each tag equal to a key becomes its value (an empty value removes the tag).
  void tags_map(const std::vector<std::pair<std::string, std::string>>& mapping);
  /// -mappend: like tags_map, and values whose key is not among our tags are appended.
  void tags_mappend(const std::vector<std::pair<std::string, std::string>>& mapping);

  /// Channels we process: 0, 1, 2, the configured ones and those subscribed at run time.
  std::vector<std::uint64_t> channels() const;
  void subscribe(std::uint64_t channel);
  /// Channels 0-2 cannot be left (returns false).
  bool unsubscribe(std::uint64_t channel);

  /// Sends an event (type 6) with `data` to each member: directly, or as one filtered multicast
  /// when there are more than 3 and flags allow it. Returns how many were reached.
  std::size_t send(const std::vector<ServicePtr>& to, const std::string& data, const SendFlags& flags = {});
  /// Sends an event without waiting (docs/host-apps.md, "Sends from other threads"). On the loop
  /// thread it sends at once (`sent`, done has run). From any other thread the request waits in
  /// the cluster's send queue (`queued`; done runs on the loop thread after the send), or is
  /// refused (`full` per [cluster] send_queue_full, `closed` once leave() began: done is not
  /// called then). Requests of one thread are sent in the order made, and that thread's later
  /// blocking calls (send, tags_*, ...) wait behind them; no order between threads.
  /// Must not race ~Cluster, like every call here.
  Queued send_async(std::vector<ServicePtr> to, std::string data, SendFlags flags = {}, SendDone done = {});
  /// The same to one member, without a vector.
  Queued send_async(ServicePtr to, std::string data, SendFlags flags = {}, SendDone done = {});
  /// The same, copying `data` (the caller keeps its buffer) and `flags`. From a host thread it
  /// allocates nothing per message once the queue has warmed up: data up to 1 KiB goes into
  /// buffers the loop hands back, and the protocol list into lists it hands back. The fast way
  /// to stream small events from host threads (docs/host-apps.md, "Sends from other threads");
  /// the by-value forms cost the caller an allocation and a free for each message.
  Queued send_async_copy(const ServicePtr& to, std::string_view data, const SendFlags& flags = {},
                         SendDone done = {});
  /// Sends a payload we built to one member (negotiation, fallback, failure report).
  sdk::Result send_payload(const ServicePtr& to, Payload payload, const SendFlags& flags = {});
  /// Starts a query (see QueryOptions). Throws std::invalid_argument when neither resolve nor
  /// resolver is given. The callback runs on the loop thread; wait() blocks another thread
  /// (on the loop thread it throws std::logic_error).
  QueryPtr query(QueryOptions options);

  /// Multicasts a payload to every member (type defaults to event, channel to 0).
  sdk::Result broadcast(Payload payload);

  /// The hook registry; usable from any thread (calls off the loop thread run on it and wait).
  /// add() returns 0 for a taken name or no function, and logs an error.
  HookRegistry& hooks() noexcept;
  /// Removes a hook; thread-safe. False when there was no such hook.
  bool unhook(HookId id);
  /// Creates hook set `name` (registered by a loaded plugin) and attaches its hooks. Throws
  /// std::invalid_argument for an unknown name, ConfigError when it refuses to attach.
  void use_hook_set(const std::string& name);
  /// Like hooks().add(...), but misuse throws std::invalid_argument: a name already taken
  /// (names are unique per cluster) or no function.
  HookId hook(HookPoint point, std::string name, HookFn fn, int order = 0, std::string scope = {});

  Counters counters() const;
  /// Traffic per protocol, query latency, hook time (cluster/stats.hpp); any thread.
  Stats stats() const;

  /// The sealer's keyring (docs/security.md), on this member only; any thread. install_key
  /// adds an accepted key (encrypt: base64 of 32 bytes), use_key makes a key (by id or text)
  /// the primary that seals, remove_key drops one (never the primary), keys() lists them, the
  /// primary first, without secrets. Refusals throw std::invalid_argument with the sealer's
  /// message; without a sealer (or one without a keyring) std::runtime_error.
  void install_key(const std::string& key);
  void use_key(const std::string& key);
  void remove_key(const std::string& key);
  std::vector<sdk::KeyInfo> keys() const;

  struct Impl;  ///< internal; handles (Service, Query) reach it through a lifeline

 private:
  explicit Cluster(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cluster
