// Failure detection: which members are alive. A plugin kind like protocols and hook sets
// (Registrar::add_failure_detector), chosen with [cluster] failure_detector = <name>. The
// default, "ttl", is the reference's rule: a member silent for ttl (+ expiry_grace) is gone; an
// unreachable one is pinged, and a pinged member must be heard from within ping_grace.
//
// The detector is told what was heard, what failed and (through loop()) the time; it answers by
// declaring members alive, suspect or dead. The core removes a dead member at once (service
// lost hooks, with the detector's reason) and tells every component.
//
// All calls on the loop thread; see sdk/policy_host.hpp for re-entrancy.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "cluster/sdk/policy_host.hpp"
#include "cluster/sdk/service_info.hpp"

namespace cluster::sdk {

enum class Liveness : std::uint8_t {
  alive,    ///< heard from as expected
  suspect,  ///< in doubt (e.g. pinged): still a member, routes may avoid it
  dead,     ///< gone: the core removes it
};

/// Services the core offers a failure detector.
class FailureDetector;

class FailureDetectorHost : public PolicyHost {
 public:
  /// The detector's verdict. dead removes the member now (removed() follows, inside this call),
  /// or, called from added()/heard(), once the packet being handled is; its tags and props are
  /// kept for a short return (a wrong verdict, a paused process). suspect and
  /// alive are recorded and logged at debug. Unknown uuids are ignored.
  virtual void declare(std::string_view uuid, Liveness state, std::string_view reason) noexcept = 0;
  /// Someone doubts we are alive (a ping names us): the discovery announces our full record.
  virtual void announce() noexcept = 0;

  // SDK 1.4 (appended).
  /// Sends to member `uuid` over `protocol` only (one of ours that it advertises), through the
  /// send hooks, filter set to its sid: no fallback, no failure report, no unreachable(), not
  /// counted in send_failures. For a detector's own probes, whose loss is the signal. Fails for
  /// an unknown uuid, a protocol we or it do not run, or a failed send (while a packet is being
  /// handled: sent after it, reports success).
  virtual Result send_via(std::string_view uuid, std::string_view protocol, Payload& packet) noexcept = 0;
  /// Publishes `value` in our props under `key` (beside the protocols' entries; a key that is a
  /// protocol id is refused), so members can tell we speak the detector's messages; an empty
  /// value withdraws it. The discovery announces the change. The reference keeps props as a
  /// dict and only reads its protocols' keys: an extra key is ignored there.
  virtual Result advertise(std::string_view key, const Dict& value) noexcept = 0;
  /// A new instance of a built-in detector ("ttl") on this host, e.g. for the members that do
  /// not speak a plugin's own messages: it declares through this host. nullptr if unknown. The
  /// caller starts, feeds and stops it.
  virtual std::unique_ptr<FailureDetector> builtin(std::string_view name) noexcept = 0;
  /// The detector's local health, 0 = healthy (a SWIM member's Lifeguard score): shown as the
  /// detector_health counter.
  virtual void health(std::uint32_t score) noexcept = 0;

 protected:
  ~FailureDetectorHost() = default;
};

class FailureDetector {
 public:
  virtual ~FailureDetector() = default;
  /// Runs once, after the protocols and before the discovery started. A failure fails the join;
  /// then stop() is not called, so a failing start() must leave no timer armed.
  virtual Result start() noexcept = 0;
  /// A member was admitted (its first packet). member.last_seen is now.
  virtual void added(const ServiceInfo& member) noexcept = 0;
  /// A packet that proves `member` alive came (heartbeat, discovery, response); last_seen is now.
  virtual void heard(const ServiceInfo& member) noexcept = 0;
  /// No protocol could reach `member` (every protocol failed, or none was common).
  virtual void unreachable(const ServiceInfo& member) noexcept = 0;
  /// A packet of a type the detector handles (ping, type 3) from `from`, after every check
  /// and hook passed.
  virtual void received(const ServiceInfo& from, const Payload& packet) noexcept = 0;
  /// The member is gone (left, expired, declared dead): forget it.
  virtual void removed(const ServiceInfo& member) noexcept = 0;
  /// We leave: cancel timers. No call into the host may follow once it returns.
  virtual void stop() noexcept = 0;
  /// SDK 1.4: a packet of type detector (9) from `from`, after every check and hook passed;
  /// outside any protocol's received() (it may send). Never called on a plugin built against
  /// SDK 1.3 or older. A detector that sends no such packets ignores it.
  virtual void message(const ServiceInfo& from, const Payload& packet) noexcept {
    (void)from;
    (void)packet;
  }
};

using FailureDetectorFactory = std::function<std::unique_ptr<FailureDetector>(FailureDetectorHost&)>;

}  // namespace cluster::sdk
