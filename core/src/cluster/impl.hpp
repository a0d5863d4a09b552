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
#include "hook_table.hpp"
#include "lifeline.hpp"
#include "log_throttle.hpp"
#include "member_table.hpp"
#include "recently_lost.hpp"

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
/// What a member costs us, roughly (its state, strings, props, handle), for the trim estimate.
inline constexpr std::size_t kMemberFootprint = 1024;

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
  std::vector<std::unique_ptr<ProtocolSlot>> protocols;  ///< our priority order
  std::vector<std::string> protocol_ids;
  MemberTable services;  ///< by uuid
  /// Expired members' tags and props, restored when they come back (see recently_lost.hpp).
  RecentlyLost recently_lost{0, {}};
  /// ttl + this before a silent member expires (Options::expiry_grace).
  Clock::duration expiry_grace{};
  /// The last full heartbeat did not fit in a datagram: asks are then answered directly.
  bool full_heartbeat_too_large = false;
  std::set<std::uint64_t> channels;
  std::vector<std::string> tags;
  bool tags_dirty = true;   ///< include tags in the next heartbeat
  bool props_dirty = true;  ///< include props in the next heartbeat
  bool heartbeat_soon = false;
  sdk::TimerId heartbeat_timer = 0;
  std::chrono::milliseconds heartbeat_period{0};
  std::vector<std::string> ping_pending;
  sdk::TimerId ping_timer = 0;
  Counters counters;
  HookTable hook_table;
  std::vector<std::unique_ptr<HookSetSlot>> hook_sets;
  bool joined = false;
  bool left = false;
  Payload scratch;  ///< decode buffer, reused
  std::mt19937_64 rng{std::random_device{}()};
  std::set<sdk::TimerId> timers;  ///< outstanding one-shot timers, cancelled on leave
  struct RunningQuery {
    QueryPtr query;
    sdk::TimerId timer = 0;
  };
  std::map<std::string, RunningQuery> queries;  ///< by id
  std::uint64_t query_counter = 0;

  // queries (query.cpp)
  QueryPtr start_query(QueryOptions o, std::vector<ServiceState*> targets);
  void end_query(const std::string& id, bool timed_out);
  void on_response(ServiceState& s);
  void on_query(ProtocolSlot& slot, ServiceState& s, const sdk::Origin& origin);

  // lifecycle (lifecycle.cpp)
  void start();
  void leave();
  void schedule_heartbeat();
  void send_heartbeat(bool full);
  /// Why these tags cannot be ours ("" when they can): a control character, or a full heartbeat
  /// that would not fit in max_multicast_packet (nobody would ever hear it).
  std::string tags_problem(const std::vector<std::string>& candidate) const;
  /// Replaces our tags and announces them; throws std::invalid_argument (tags unchanged) when
  /// tags_problem() objects.
  void set_tags(std::vector<std::string> next);
  void send_discovery();
  void expire();
  /// Keeps one timer at the earliest deadline, so a silent member is evicted when its ttl runs
  /// out, not at the next heartbeat tick.
  void schedule_expiry();
  sdk::TimerId expiry_timer = 0;
  Clock::time_point expiry_due{};
  void schedule_immediate_heartbeat();

  // Bursts of newcomers (discovery.cpp). A cold start of N members makes each member answer
  // N - 1 discoveries and, when datagrams were lost, ask about unknown senders: answering each
  // directly costs N^2 connections, asking each alone N^2 multicasts. The first of a burst is
  // handled at once (a lone newcomer waits for nothing); the rest, within the burst window, are
  // answered by one multicast heartbeat with our props (more than 3) or directly, and asked about
  // with filtered discoveries naming up to 64 sids each.
  std::vector<std::string> answer_pending;  ///< uuids whose discovery waits for our answer
  bool answer_window = false;
  std::vector<std::string> ask_pending;  ///< sids of unknown members to ask about
  bool ask_window = false;
  void answer_discovery(ServiceState& s);
  /// A discovery filtered to us (someone lacks our props and tags): one full multicast
  /// heartbeat, soon, answers it and everyone else who missed them; no connect that loss can
  /// stall.
  void answer_ask(ServiceState& s);
  bool ask_answer_window = false;   ///< an ask was answered within the burst window
  bool ask_answer_pending = false;  ///< more asks came in that window: one heartbeat at its end
  /// Asks again about a member whose props and tags have not come, on its own schedule
  /// (250 ms, doubling, 5 times), not only at its next bare heartbeat.
  void schedule_ask_retry(const std::string& uuid, int attempt);
  void answer_directly(ServiceState& s);
  void flush_answers();
  void ask_about(const std::string& sid);
  void send_ask(std::vector<std::string> sids);
  void flush_asks();

  // receiving (receive.cpp)
  void on_bytes(ProtocolSlot& slot, std::string_view bytes, const sdk::Origin& origin);
  void on_packet(ProtocolSlot& slot, std::string_view body, const sdk::Origin& origin);
  void dispatch(ProtocolSlot& slot, ServiceState& s, const sdk::Origin& origin);
  void merge_props(ServiceInfo& info, const std::string& data, bool replace);
  void on_ping(const Payload& p);
  void on_failed_report(ServiceState& s, const Payload& p);
  void lose(const std::string& uuid, const char* why);
  /// It offers a direct protocol we run whose props (port, path) we have not learned.
  bool lacks_props(const ServiceInfo& info);

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
  /// Closes the connection and drops its state.
  void close_stream(ProtocolSlot& slot, sdk::ConnectionId conn, const char* why);
  void schedule_stream_sweep();
  /// Closes stalled partial packets, gives freed memory back to the system.
  void sweep_streams();

  // sending (send.cpp)
  Payload base(PayloadType type, std::uint64_t channel = 0) const;
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
  std::size_t send_many(const std::vector<ServiceState*>& to, Payload& p, const SendFlags& flags);
  void schedule_ping(const std::string& sid);
  void flush_ping();
  /// A pinged member (ours or another's ping) must be heard from within ping_grace, unless it
  /// was seen within ping_recent.
  void shorten_deadline_of_pinged(std::string_view sid, Clock::time_point now);
  bool run_send_hooks(Payload& p, std::string_view protocol, const ServiceInfo* to);

  // helpers
  void attach_hook_set(const std::string& name);
  ServiceInfo self_info() const;
  ServiceState* find(std::string_view uuid);
  ProtocolSlot* slot(std::string_view id);
  ProtocolSlot* multicast_slot();
  void log(sdk::LogLevel level, std::string_view message) noexcept;
  /// A one-shot timer that leave() cancels.
  void after(std::chrono::milliseconds d, std::function<void()> fn);
  template <class F>
  auto on_loop(F&& f) -> decltype(f()) {
    if (!joined || loop_->in_loop_thread()) return f();
    using R = decltype(f());
    if constexpr (std::is_void_v<R>) {
      loop_->call([&] { f(); });
    } else {
      std::optional<R> r;
      loop_->call([&] { r.emplace(f()); });
      return std::move(*r);
    }
  }
};

}  // namespace cluster
