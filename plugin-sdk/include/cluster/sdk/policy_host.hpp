// What discovery and failure-detector plugins share: the member's services for the policies that
// decide who is in the cluster (sdk/discovery.hpp, sdk/failure_detector.hpp).
//
// Threads: every call, in both directions, runs on the cluster's loop thread. A policy keeps its
// own timers on loop() and cancels them in its stop().
// Re-entrancy: the core itself never calls a policy from inside another call into the same
// policy, except FailureDetector::removed() inside declare(dead). User hooks are another matter:
// a send, a lost member or a goodbye runs hooks, and a hook may call the Cluster API (heartbeat,
// discover, query, leave), which can lead back into the policy. So keep state consistent before
// each host call, and make stop() idempotent. The core never calls into a protocol from inside
// that protocol's received(): sends, contacts and announcements a policy makes while a packet is
// being handled (FailureDetector::added/heard run then) wait until it is, and report success
// (sent) at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "cluster/payload.hpp"
#include "cluster/sdk/config.hpp"
#include "cluster/sdk/event_loop.hpp"
#include "cluster/sdk/protocol.hpp"
#include "cluster/sdk/result.hpp"

namespace cluster::sdk {

/// The [cluster] timings membership policies follow (docs/configuration in README, [cluster]).
struct MembershipTimings {
  std::chrono::milliseconds heartbeat{0};     ///< our heartbeat period (picked once when configured as 0)
  std::chrono::milliseconds ttl{0};           ///< a member silent this long is gone...
  std::chrono::milliseconds expiry_grace{0};  ///< ...after this much more (a heartbeat in flight)
  std::chrono::milliseconds ping_delay{0};    ///< unreachable members are collected this long before one ping
  std::chrono::milliseconds ping_grace{0};    ///< a pinged member must be heard from within this long...
  std::chrono::milliseconds ping_recent{0};   ///< ...unless it was heard from this recently
  std::size_t max_multicast_packet = 0;       ///< largest packet the group carries
};

/// What became of a multicast.
enum class SendStatus : std::uint8_t {
  sent,       ///< handed to the multicast protocol
  vetoed,     ///< a send hook dropped it (not counted as a failure)
  too_large,  ///< over max_multicast_packet after the send hooks: send less, or send directly
  failed,     ///< the protocol failed (counted and logged by the core, rate-limited)
};

/// Which of the member's counters (Cluster::counters()) a policy bumps.
enum class PolicyCounter : std::uint8_t {
  burst_answer,  ///< discoveries of a burst answered by one multicast record
  ask_sent,      ///< a request for unknown members' records went out
  ping_sent,     ///< a ping went out
  // SDK 1.4 (appended): a probing failure detector's (SWIM) events; docs/failure-detection.md.
  probe_sent,      ///< a direct probe went out
  probe_indirect,  ///< members were asked to probe a member for us (one count per probe round)
  probe_failed,    ///< neither the probe nor the indirect probes were answered in time
  suspicion,       ///< we began to suspect a member (our own probe, or gossip)
  refutation,      ///< we were suspected and refuted it (a higher incarnation went out)
  confirmation,    ///< a suspected member was declared dead (suspicion timed out, or gossip)
  nack_sent,       ///< we probed for another member and its target did not answer
};

/// How much of our record a packet carries.
enum class Record : std::uint8_t {
  none,     ///< identity only (sid, hid, type, protocols, known)
  changed,  ///< plus our props and/or tags if they changed since a multicast carrying them went out
  full,     ///< plus our props (data) and tags
};

class PolicyHost {
 public:
  virtual EventLoop& loop() noexcept = 0;
  virtual void log(LogLevel level, std::string_view message) noexcept = 0;
  virtual const ClusterSettings& settings() const noexcept = 0;
  virtual const MembershipTimings& timings() const noexcept = 0;
  /// The plugin's validated ini section (empty for the built-in policies).
  virtual const PluginConfig& config() const noexcept = 0;
  /// A packet from us: sid, hid, `type`, channel 0, our protocols, known = members we know,
  /// and as much of our record as asked.
  virtual Payload packet(PayloadType type, Record record = Record::none) const = 0;
  /// Multicasts through the send hooks (over the multicast protocol, "c"). An unfiltered
  /// heartbeat that went out marks the props/tags it carried as sent (see Record::changed);
  /// other packets (a probe, an ask) do not, since not every member reads them.
  virtual SendStatus multicast(Payload& packet) noexcept = 0;
  /// Sends to a member we know, over its protocols in its priority order with fallback and
  /// failure reports, like every packet (the filter is set to its sid). Fails for an unknown
  /// uuid or when no protocol reaches it (then the failure detector is told it is unreachable),
  /// except while a packet is being handled: then it is sent after it and reports success.
  virtual Result send(std::string_view uuid, Payload& packet) noexcept = 0;
  /// Members we know now.
  virtual std::size_t known() const noexcept = 0;
  virtual void count(PolicyCounter what) noexcept = 0;

 protected:
  ~PolicyHost() = default;
};

}  // namespace cluster::sdk
