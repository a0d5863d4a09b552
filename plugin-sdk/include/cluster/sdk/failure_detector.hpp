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
class FailureDetectorHost : public PolicyHost {
 public:
  /// The detector's verdict. dead removes the member now (removed() follows, inside this call),
  /// or, called from added()/heard(), once the packet being handled is; "expired" as the reason
  /// also keeps its tags and props for a short return. suspect and
  /// alive are recorded and logged at debug. Unknown uuids are ignored.
  virtual void declare(std::string_view uuid, Liveness state, std::string_view reason) noexcept = 0;
  /// Someone doubts we are alive (a ping names us): the discovery announces our full record.
  virtual void announce() noexcept = 0;

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
};

using FailureDetectorFactory = std::function<std::unique_ptr<FailureDetector>(FailureDetectorHost&)>;

}  // namespace cluster::sdk
