// Internal state of a Cluster. Everything here runs on the loop thread.
#pragma once

#include <map>
#include <optional>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cluster/bpacket/frame.hpp"
#include "cluster/cluster.hpp"
#include "cluster/query.hpp"
#include "cluster/sdk/discovery.hpp"
#include "cluster/sdk/failure_detector.hpp"
#include "hooks/hook_table.hpp"
#include "messaging/envelope.hpp"
#include "messaging/reuse_pool.hpp"
#include "messaging/send_queue.hpp"
#include "cluster/lifeline.hpp"
#include "cluster/log_throttle.hpp"
#include "membership/member_table.hpp"
#include "membership/recently_left.hpp"
#include "membership/recently_lost.hpp"

namespace cluster {



/// One stream connection's reassembly state (stream_limits.cpp).
struct StreamState {
  explicit StreamState(std::size_t max_packet) : decoder(max_packet) {}
  bpacket::StreamDecoder decoder;
  std::size_t accounted = 0;           ///< its decoder's memory as counted in Impl::stream_memory
  Clock::time_point partial_since{};   ///< when its partial packet began; epoch = none
};

/// One running protocol, and the host services the core offers it.
struct ProtocolSlot final : sdk::ProtocolHost {
  ProtocolSlot(Cluster::Impl& o, std::string i, const sdk::PluginConfig& c) : owner(o), id(std::move(i)), cfg(c) {}
  Cluster::Impl& owner;
  std::string id;
  const sdk::PluginConfig& cfg;
  std::shared_ptr<sdk::Protocol> proto;
  sdk::ProtocolTraits traits;
  std::unordered_map<sdk::ConnectionId, StreamState> streams;
  std::unordered_map<sdk::ConnectionId, std::string> bound;  ///< conn -> peer uuid told to bind()
  std::uint8_t lane = 0;  ///< its index among our protocols: the sealer's replay lane
  std::uint32_t abi_minor = 0;  ///< SDK minor of its plugin: backlog() needs 1.6
  ProtocolTraffic traffic;  ///< Cluster::stats(); counted on the loop thread

  sdk::EventLoop& loop() noexcept override;
  void log(sdk::LogLevel level, std::string_view message) noexcept override;
  const sdk::ClusterSettings& settings() const noexcept override;
  const sdk::PluginConfig& config() const noexcept override { return cfg; }
  void received(std::string_view bytes, const sdk::Origin& origin) noexcept override;
  void connection_closed(sdk::ConnectionId conn) noexcept override;
  void props_changed() noexcept override;
  void count(sdk::StreamGuard what) noexcept override;
};

/// The host services one hook set gets (its own config section).
struct HookSetSlot final : sdk::HookSetHost {
  HookSetSlot(Cluster::Impl& o, const sdk::PluginConfig& c) : owner(o), cfg(c) {}
  Cluster::Impl& owner;
  const sdk::PluginConfig& cfg;
  std::string name;
  std::shared_ptr<sdk::HookSet> set;

  sdk::EventLoop& loop() noexcept override;
  void log(sdk::LogLevel level, std::string_view message) noexcept override;
  const sdk::ClusterSettings& settings() const noexcept override;
  const sdk::PluginConfig& config() const noexcept override { return cfg; }
  void encode(const Payload& payload, std::string& out) const noexcept override;
};

/// The host services the sealer gets.
struct SealerSlot final : sdk::SealerHost {
  SealerSlot(Cluster::Impl& o, const sdk::PluginConfig& c) : owner(o), cfg(c) {}
  Cluster::Impl& owner;
  const sdk::PluginConfig& cfg;

  sdk::EventLoop& loop() noexcept override;
  void log(sdk::LogLevel level, std::string_view message) noexcept override;
  const sdk::ClusterSettings& settings() const noexcept override;
  const sdk::PluginConfig& config() const noexcept override { return cfg; }
};

/// The host side shared by the discovery and the failure detector (policy_hosts.cpp).
template <class HostBase>
struct PolicySlot : HostBase {
  PolicySlot(Cluster::Impl& o, const sdk::PluginConfig& c) : owner(o), cfg(c) {}
  Cluster::Impl& owner;
  const sdk::PluginConfig& cfg;

  sdk::EventLoop& loop() noexcept override;
  void log(sdk::LogLevel level, std::string_view message) noexcept override;
  const sdk::ClusterSettings& settings() const noexcept override;
  const sdk::MembershipTimings& timings() const noexcept override;
  const sdk::PluginConfig& config() const noexcept override { return cfg; }
  Payload packet(PayloadType type, sdk::Record record) const override;
  sdk::SendStatus multicast(Payload& packet) noexcept override;
  sdk::Result send(std::string_view uuid, Payload& packet) noexcept override;
  std::size_t known() const noexcept override;
  void count(sdk::PolicyCounter what) noexcept override;

 protected:
  ~PolicySlot() = default;
};

struct DiscoverySlot final : PolicySlot<sdk::DiscoveryHost> {
  DiscoverySlot(Cluster::Impl& o, const sdk::PluginConfig& c, std::string n, std::uint32_t minor)
      : PolicySlot(o, c), slot_name(std::move(n)), abi_minor(minor) {}
  std::string slot_name;
  std::uint32_t abi_minor;  ///< SDK minor of its plugin: message() needs 1.3
  std::shared_ptr<sdk::Discovery> policy;
  /// Contact points it used lately, newest last (bounded): a member answering one of them was
  /// found by this discovery (ServiceInfo::found_by).
  std::vector<sdk::ContactPoint> recent_contacts;
  sdk::Result contact(const sdk::ContactPoint& at, Payload& packet) noexcept override;
  bool awaiting_record(std::string_view uuid) noexcept override;
  std::vector<ServiceInfo> members() const override;
  std::string_view name() const noexcept override { return slot_name; }
  bool beacon() const noexcept override;
  /// Whether `member` is the one behind a contact point it used lately.
  bool contacted(const ServiceInfo& member) const;
};

struct DetectorSlot final : PolicySlot<sdk::FailureDetectorHost> {
  DetectorSlot(Cluster::Impl& o, const sdk::PluginConfig& c, std::uint32_t minor) : PolicySlot(o, c), abi_minor(minor) {}
  std::uint32_t abi_minor;  ///< SDK minor of its plugin: message() needs 1.4
  std::shared_ptr<sdk::FailureDetector> policy;
  void declare(std::string_view uuid, sdk::Liveness state, std::string_view reason) noexcept override;
  void announce() noexcept override;
  sdk::Result send_via(std::string_view uuid, std::string_view protocol, Payload& packet) noexcept override;
  sdk::Result advertise(std::string_view key, const Dict& value) noexcept override;
  std::unique_ptr<sdk::FailureDetector> builtin(std::string_view name) noexcept override;
  void health(std::uint32_t score) noexcept override;
};

/// What Cluster::hooks() returns: the hook table, usable from any thread (calls off the loop
/// thread run on it and wait, like Cluster::hook). Hook sets attach to the table itself.
struct LoopHookRegistry final : HookRegistry {
  explicit LoopHookRegistry(Cluster::Impl& o) : owner(o) {}
  Cluster::Impl& owner;

  HookId add(HookPoint point, std::string name, HookFn fn, int order, std::string scope) noexcept override;
  bool remove(HookId id) noexcept override;
};

/// Trimming walks the heap: only after a burst worth giving back (1 MiB), at most once a sweep.
inline constexpr std::size_t kTrimAfterFreeing = 1u << 20;
/// What a member costs us, roughly (its state, strings, props, handle, detector entry), for the
/// trim estimate: 1.6-2.0 KB measured per known member (docs/benchmarks.md, "Scale").
inline constexpr std::size_t kMemberFootprint = 2048;

struct Cluster::Impl {
  Cluster* self = nullptr;
  /// Handles reach the cluster through this; ~Cluster cuts it (see lifeline.hpp).
  std::shared_ptr<Lifeline> lifeline = std::make_shared<Lifeline>(*this);
  LoopHookRegistry loop_hooks{*this};
  Options opt;
  EventLoop* loop_ = nullptr;
  std::unique_ptr<EventLoop> own_loop;  ///< when the cluster runs its own thread
  std::thread thread;
  std::shared_ptr<PluginManager> plugins;
  sdk::ClusterSettings settings_;
  sdk::MembershipTimings timings_;
  std::vector<std::unique_ptr<ProtocolSlot>> protocols;  ///< our priority order
  std::vector<std::string> protocol_ids;
  MemberTable services;  ///< by uuid
  /// Expired members' tags and props, restored when they come back (see recently_lost.hpp).
  RecentlyLost recently_lost{0, {}};
  /// Members that said goodbye a moment ago: their late packets are dropped (recently_left.hpp).
  RecentlyLeft recently_left{0, {}};
  std::set<std::uint64_t> channels;
  std::vector<std::string> tags;
  bool tags_dirty = true;   ///< include tags in the next heartbeat (sdk::Record::changed)
  bool props_dirty = true;  ///< include props in the next heartbeat
  /// Props entries beside the protocols' (FailureDetectorHost::advertise), e.g. "swim {v 1}".
  std::vector<std::pair<std::string, Dict>> advertised;
  bool announce_soon = false;
  sdk::TimerId maintenance_timer = 0;
  Counters counters;
  HookTable hook_table;
  std::vector<std::unique_ptr<HookSetSlot>> hook_sets;
  /// Who finds members and announces us (one or several), and who says they are alive.
  std::vector<std::unique_ptr<DiscoverySlot>> discoveries;
  /// Calls fn(policy) on every discovery, in [cluster] discovery order.
  template <class F>
  void each_discovery(F&& fn) {
    // A hook run by one may leave the cluster: the others are stopped then, and get no more.
    for (std::size_t i = 0; i < discoveries.size() && !leaving && !left; ++i) fn(*discoveries[i]->policy);
  }
  std::unique_ptr<DetectorSlot> detector;
  /// Label and sealer around every packet (envelope.hpp); inactive without both.
  std::unique_ptr<SealerSlot> sealer_slot;
  Envelope envelope{{}, nullptr};
  LogThrottle foreign_label_log{std::chrono::minutes(1)};
  LogThrottle unopened_log{std::chrono::minutes(1)};
  LogThrottle replay_log{std::chrono::minutes(1)};
  /// Encodes `p` for protocol slot `sl` (enveloped and sealed when active); false: not sealed.
  bool encode_for(const ProtocolSlot& sl, const Payload& p, std::string& out);
  /// Checks the envelope of a received body: true with `payload` set, or false (counted).
  bool open_envelope(std::string_view body, std::string_view& payload);
  /// Checks the label, creates and starts the sealer, sets up the envelope (join, before the
  /// protocols start). Throws ConfigError / std::runtime_error.
  void start_sealer();
  bool joined = false;
  bool leaving = false;  ///< inside leave(): a hook run by the goodbye may call it again
  bool left = false;
  Payload decoded;  ///< decode buffer of on_packet, reused (handed on as a parameter)
  std::mt19937_64 rng{std::random_device{}()};
  std::set<sdk::TimerId> timers;  ///< outstanding one-shot timers, cancelled on leave
  struct RunningQuery {
    QueryPtr query;
    sdk::TimerId timer = 0;
    sdk::EventLoop::Clock::time_point started{};  ///< the loop's time: latency without a clock read
  };
  std::map<std::string, RunningQuery> queries;  ///< by id
  std::uint64_t query_counter = 0;
  LatencyHistogram queries_completed, queries_timed_out;  ///< Cluster::stats()

  // What a received packet causes (answers, asks, query responses, losses, failure reports,
  // sends from hooks) never calls into a protocol from inside its received(): it waits in the
  // outbox and runs in a zero-delay timer, after the protocol's read callback returned.
  int receiving = 0;  ///< depth of ProtocolSlot::received calls
  std::vector<std::function<void()>> outbox;
  /// Sends from other threads (send_async), created by start(), closed and flushed by leave().
  /// Lanes: a thread always uses the same one (its order is kept), and threads spread over
  /// them instead of contending for one lock (issue 17: two producers on one queue spent 70 %
  /// more per message than one). Fixed once joined: other threads read it without a lock.
  std::vector<std::shared_ptr<SendQueue>> send_queues;
  static constexpr std::size_t kSendLanes = 4;
  /// The calling thread's lane; nullptr before start.
  SendQueue* send_lane() const;
  /// Sends an event request and calls its done (loop thread; after the receive when inside one).
  void send_request(SendRequest& r);
  /// The send queue's gate (flow control, send_async.cpp): whether a member `r` goes to has
  /// more output waiting in a protocol than it should; stream protocols of SDK 1.6 or later.
  bool backlogged(const SendRequest& r);
  bool backlogged(ServiceState& member);
  std::vector<ProtocolSlot*> backlog_protocols;
  /// send_async: inline on the loop thread (sent, or closed once leaving), else queued.
  Queued submit_send(SendRequest&& r);
  /// send_async_copy: from another thread straight into the queue's recycled storage.
  Queued submit_send_copy(const ServicePtr& to, std::string_view data, const SendFlags& flags, SendDone&& done);
  bool outbox_armed = false;
  sdk::TimerId outbox_timer = 0;  ///< the zero-delay timer that flushes the outbox
  std::vector<std::function<void()>> outbox_running;  ///< spare storage for flush_outbox
  /// Runs fn now, or after the current receive when inside one.
  void later(std::function<void()> fn);
  void flush_outbox();

  // queries (query.cpp)
  QueryPtr start_query(QueryOptions o, std::vector<ServiceState*> targets);
  void launch_query(const QueryPtr& q, const QueryOptions& o, const std::vector<std::string>& targets);
  void end_query(QueryPtr q, bool timed_out);
  void on_response(ServiceState& s, const Payload& p);
  void on_query(const std::string& protocol, const std::string& uuid, Payload p, sdk::ConnectionId conn);

  // lifecycle (lifecycle.cpp)
  void start();
  void start_policies();
  /// Stops the discoveries started so far (newest first).
  void stop_discoveries();
  void leave();
  void schedule_maintenance();
  /// Why these tags cannot be ours ("" when they can): a control character, or a full heartbeat
  /// that would not fit in max_multicast_packet (nobody would ever hear it).
  std::string tags_problem(const std::vector<std::string>& candidate) const;
  /// Replaces our tags and announces them; throws std::invalid_argument (tags unchanged) when
  /// tags_problem() objects.
  void set_tags(std::vector<std::string> next);
  /// Our record changed: one announcement soon (several changes in one loop turn: one).
  void announce_changes();
  Payload packet(PayloadType type, sdk::Record record) const;

  // membership (membership.cpp)
  void lose(const std::string& uuid, std::string_view why);
  void merge_props(ServiceInfo& info, const std::string& data, bool replace);
  /// It offers a direct protocol we run whose props (port, path) we have not learned.
  bool lacks_props(const ServiceInfo& info);
  void declare(std::string_view uuid, sdk::Liveness state, std::string_view reason);

  // receiving (receive.cpp)
  void on_bytes(ProtocolSlot& slot, std::string_view bytes, const sdk::Origin& origin);
  void on_packet(ProtocolSlot& slot, std::string_view body, const sdk::Origin& origin);
  /// `uuid` is s's (a buffer of on_packet: it outlives s should a hook lose the member).
  void dispatch(ProtocolSlot& slot, ServiceState& s, const std::string& uuid, Payload& p, const sdk::Origin& origin);
  void on_failed_report(const std::string& uuid, const Payload& p);
  /// A heartbeat or discovery carrying `op`: every discovery (SDK 1.3+) gets it after the packet.
  void tell_discoveries(const std::string& uuid, const Payload& p);

  // stream limits (stream_limits.cpp): max_packet, max_buffered, partial_timeout
  std::size_t stream_memory = 0;     ///< memory of every partial stream packet together
  std::size_t freed_since_trim = 0;  ///< stream (and member) memory freed since the last malloc_trim
  /// Closings for over_budget / stalled, one line per 10 s: an attacker that reconnects made
  /// one line per connection (5.7 MB of log in 20 s).
  LogThrottle stream_close_log{std::chrono::seconds(10)};
  bool stream_sweep_armed = false;
  StreamState& stream_state(ProtocolSlot& slot, sdk::ConnectionId conn);
  /// After a feed: updates the totals, closes over-budget connections, arms the sweep.
  void stream_fed(ProtocolSlot& slot, sdk::ConnectionId conn, bool completed);
  /// Drops the state of a closed connection (it may not exist).
  void forget_stream(ProtocolSlot& slot, sdk::ConnectionId conn);
  /// Closes the connection (after the current receive) and drops its state.
  void close_stream(ProtocolSlot& slot, sdk::ConnectionId conn, const char* why);
  void schedule_stream_sweep();
  /// Closes stalled partial packets, gives freed memory back to the system.
  void sweep_streams();

  // sending (send.cpp)
  Payload base(PayloadType type, std::uint64_t channel = 0) const;
  /// base() into `p`, reusing its storage (a payload from payloads).
  void fill_base(Payload& p, PayloadType type, std::uint64_t channel = 0) const;
  ReusePool<Payload> payloads;  ///< payloads of sends, lent per send (reuse_pool.hpp)
  ReusePool<std::string> buffers;  ///< encoded packets and received uuids, lent per use
  std::string props_string() const;
  enum class MulticastFailure { none, hook, too_large, transport };
  /// Multicasts through the send hooks; `why` tells a veto from a packet too large for a
  /// datagram and from a transport failure (counted and logged, rate-limited). With
  /// `direct_fallback` a packet too large is neither counted nor logged: the caller sends it
  /// directly instead.
  sdk::Result multicast(Payload& p, MulticastFailure* why = nullptr, bool direct_fallback = false);
  LogThrottle multicast_failure_log;
  LogThrottle refused_member_log;
  sdk::Result send_to(ServiceState& s, Payload& p, const SendFlags& flags, sdk::ConnectionId via = 0,
                      std::string_view via_protocol = {});
  std::size_t send_many(ServiceState* const* to, std::size_t n, Payload& p, const SendFlags& flags);
  std::size_t send_many(const std::vector<ServiceState*>& to, Payload& p, const SendFlags& flags) {
    return send_many(to.data(), to.size(), p, flags);
  }
  /// send_to now, or (inside a receive: from a hook) once the receive is over, then reporting
  /// success.
  sdk::Result send_soon(ServiceState& s, Payload p, const SendFlags& flags);
  /// Over `protocol` only: no fallback, failure report or unreachable() (FailureDetectorHost::send_via).
  sdk::Result send_only(ServiceState& s, Payload& p, std::string_view protocol);
  /// Sends over a contact point (a member not known yet): DiscoveryHost::contact.
  sdk::Result send_contact(const sdk::ContactPoint& at, Payload& p);
  bool run_send_hooks(Payload& p, std::string_view protocol, const ServiceInfo* to);

  // helpers
  void attach_hook_set(const std::string& name);
  ServiceInfo self_info() const;
  ServiceState* find(std::string_view uuid);
  ProtocolSlot* slot(std::string_view id);
  /// A packet of `bytes` went out over `sl`: counters.sent and the slot's traffic.
  void count_sent(ProtocolSlot& sl, std::size_t bytes) noexcept {
    ++counters.sent;
    ++sl.traffic.packets_sent;
    sl.traffic.bytes_sent += bytes;
  }
  ProtocolSlot* multicast_slot();
  /// Heard over the group lately: a filtered multicast reaches it (ServiceInfo::heard_multicast).
  bool on_our_segment(const ServiceInfo& info) const;
  /// Found through seeds, DNS, etcd (or it contacted us) and never heard over the group: a
  /// multicast cannot reach it, not even as the last fallback.
  static bool beyond_our_segment(const ServiceInfo& info);
  /// How a member we just admitted from a packet of `type` over `slot` was found.
  std::string found_by(const ProtocolSlot& slot, PayloadType type, const ServiceInfo& info) const;
  void log(sdk::LogLevel level, std::string_view message) noexcept;
  /// A one-shot timer that leave() cancels.
  void after(std::chrono::milliseconds d, std::function<void()> fn);
  template <class F>
  auto on_loop(F&& f) -> decltype(f()) {
    if (!joined || loop_->in_loop_thread()) return f();
    // Through the send queue while it is open: behind this thread's earlier send_async.
    const auto run = [this](const std::function<void()>& g) {
      SendQueue* q = send_lane();
      if (q == nullptr || !q->call(g)) loop_->call(g);
    };
    using R = decltype(f());
    if constexpr (std::is_void_v<R>) {
      run([&] { f(); });
    } else {
      std::optional<R> r;
      run([&] { r.emplace(f()); });
      return std::move(*r);
    }
  }
};

}  // namespace cluster
