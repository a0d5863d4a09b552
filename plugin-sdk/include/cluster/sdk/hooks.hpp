// Hooks: user code that inspects, mutates or vetoes traffic at every stage (the seed's
// "evaluate", "channel", "protocol", "query" and "service" hooks).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "cluster/payload.hpp"
#include "cluster/sdk/config.hpp"
#include "cluster/sdk/event_loop.hpp"
#include "cluster/sdk/protocol.hpp"
#include "cluster/sdk/result.hpp"
#include "cluster/sdk/service_info.hpp"

namespace cluster {

/// What a hook decides. Non-zero so a forgotten return value is never mistaken for a verdict.
enum class Verdict : std::uint8_t {
  pass = 1,      ///< go on unchanged
  modified = 2,  ///< go on with the (mutated) payload
  drop = 3,      ///< stop here: the packet is dropped (or, for query, the answer is an error)
};

/// Where a hook runs. "may mutate/veto" is documented per point in docs/hooks.md.
enum class HookPoint : std::uint8_t {
  evaluate_receive,    ///< every received packet, after the channel/filter checks
  evaluate_send,       ///< every packet we send
  channel_receive,     ///< received on a channel (scope: channel number, "" = all)
  channel_send,        ///< sent on a channel (scope: channel number)
  protocol_receive,    ///< received over a protocol (scope: protocol id)
  protocol_send,       ///< sent over a protocol (scope: protocol id)
  query,               ///< a query arrived: set `answer`; drop (with `reason`) answers an error
  event,               ///< an event (type 6) arrived
  broadcast,           ///< a channel-0 or filtered multicast packet arrived
  tags_changed,        ///< a known member changed its tags
  service_evaluate,    ///< a packet from an unknown member: drop refuses the new member
  service_validate,    ///< a packet from a known member: drop ignores the packet
  service_discovered,  ///< a new member (after its first heartbeat/discovery)
  service_lost,        ///< a member left or expired
};

inline constexpr std::string_view hook_point_name(HookPoint p) noexcept {
  constexpr std::string_view names[] = {
      "evaluate receive", "evaluate send", "channel receive",  "channel send",
      "protocol receive", "protocol send", "query",            "event",
      "broadcast",        "tags changed",  "service evaluate", "service validate",
      "service discovered", "service lost"};
  return names[static_cast<std::size_t>(p)];
}

struct HookContext {
  HookPoint point{};
  Payload* payload = nullptr;             ///< mutable view; null for discovered/lost
  const ServiceInfo* service = nullptr;   ///< the peer, when known
  std::string_view protocol;              ///< protocol the packet came on / goes over
  std::uint64_t channel = 0;
  bool local = false;                     ///< the peer is on this host
  bool outgoing = false;                  ///< a packet we send
  std::string answer;                     ///< query: the response data
  std::string reason;                     ///< why a hook dropped (logged, sent as query error)
};

using HookFn = std::function<Verdict(HookContext&)>;
using HookId = std::uint64_t;  ///< 0 = not added

class HookRegistry {
 public:
  /// Adds a hook. `name` must be unique among the hooks of the cluster (0 is returned for a
  /// duplicate, or no function; Cluster::hooks() also logs an error then). Lower `order` runs first; equal orders run in the order added (the bands in
  /// cluster::hook_order below say where the shipped hook sets run). `scope` limits
  /// channel_* hooks to one channel ("5") and protocol_* hooks to one protocol ("t").
  virtual HookId add(HookPoint point, std::string name, HookFn fn, int order = 0,
                     std::string scope = {}) noexcept = 0;
  virtual bool remove(HookId id) noexcept = 0;

 protected:
  ~HookRegistry() = default;
};

/// Where in a hook point's chain the shipped hook sets run (HookRegistry::add's `order`: lower
/// runs first). Own hooks use the default 0 (`user`), or a band plus or minus a little to run
/// just before or after a shipped set. The gaps are wide so that bands never need renumbering.
namespace hook_order {
/// Refuses a packet on where it came from alone, before any work is spent on it, verification
/// included (local-only drops packets from other hosts here).
inline constexpr int admit = -2000000;
/// Proves a received packet authentic before anything reads or acts on it (auth.verify); only
/// `admit` runs earlier, so a forged packet reaches no user hook.
inline constexpr int verify = -1000000;
/// The default for application hooks: after admission and verification, before observers.
inline constexpr int user = 0;
/// Records what the other hooks let through and what is about to be sent, unchanged (log): after
/// every hook that may drop or rewrite, before the signature.
inline constexpr int observe = 900000;
/// Seals an outgoing packet after every other send hook, so the seal covers their changes
/// (auth.sign); and answers only what no other query hook answered (kv's default responder).
inline constexpr int last = 1000000;
}  // namespace hook_order

namespace sdk {

/// Services the core offers a hook set.
class HookSetHost {
 public:
  virtual EventLoop& loop() noexcept = 0;
  virtual void log(LogLevel level, std::string_view message) noexcept = 0;
  virtual const ClusterSettings& settings() const noexcept = 0;
  virtual const PluginConfig& config() const noexcept = 0;
  /// Encodes a payload as the core sends it (filter first, ascending ids).
  virtual void encode(const Payload& payload, std::string& out) const noexcept = 0;

 protected:
  ~HookSetHost() = default;
};

/// A named group of hooks from a plugin ("auth", "log", ...).
class HookSet {
 public:
  virtual ~HookSet() = default;
  /// Adds the set's hooks. A failure fails the join with this message.
  virtual Result attach(HookRegistry& hooks) noexcept = 0;
};

}  // namespace sdk
}  // namespace cluster
