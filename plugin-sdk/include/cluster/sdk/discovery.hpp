// Discovery: how a member finds others and announces itself. A plugin kind like protocols and
// hook sets (Registrar::add_discovery), chosen with [cluster] discovery = <name>. The default,
// "multicast", is the reference's beacon: heartbeats and discoveries on the group (PROTOCOL.md
// section 6), byte for byte.
//
// Division of labour. The core receives and validates every packet, admits members (service
// evaluate hooks, max_members), keeps their props and tags, fires discovered/lost, and asks the
// failure detector who is alive. A discovery decides what goes out to find and keep members:
// when our record is sent and to whom, how newcomers are answered, how a missing record is
// fetched. Contact points (addresses from a file, seeds, DNS, etcd) come IN through contact().
//
// Several discoveries may run at once ([cluster] discovery = multicast, seeds): each gets every
// call below; a member found by two of them is one member (keyed by its uuid).
//
// All calls on the loop thread; see sdk/policy_host.hpp for re-entrancy.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/sdk/policy_host.hpp"
#include "cluster/sdk/service_info.hpp"

namespace cluster::sdk {

/// Where a member we do not know yet may be reached: a direct protocol we run, and what that
/// protocol needs (the props a member advertises for it, e.g. {port 40123} or {path /x.sock}).
struct ContactPoint {
  std::string protocol;  ///< "t", "u", ...: one of our protocols that is not multicast
  std::string ip;        ///< the address for protocols that need one ("" for unix)
  Dict props;            ///< as the member would advertise them
  bool local = false;    ///< on this host (local-only protocols, like unix, require it)
};

/// Services the core offers a discovery.
class DiscoveryHost : public PolicyHost {
 public:
  /// Sends `packet` over contact point `at` (framed, through the send hooks). The receiving
  /// member handles it like one from the group: a discovery (type 2) with our record makes it
  /// admit us and answer directly with its own record, which makes us admit it. Fails when the
  /// protocol is unknown, multicast, or the connect/send fails (while a packet is being
  /// handled it is sent after it and reports success).
  virtual Result contact(const ContactPoint& at, Payload& packet) noexcept = 0;
  /// Whether member `uuid` is known and its record (props and tags) has not come yet. True also
  /// marks it as asked now: the core's own reminder (missing_record at its bare heartbeats)
  /// then waits a second.
  virtual bool awaiting_record(std::string_view uuid) noexcept = 0;
  // SDK 1.3 (appended).
  /// The members we know now, a snapshot (e.g. to tell a newcomer about them).
  virtual std::vector<ServiceInfo> members() const = 0;
  /// This discovery's name, as [cluster] discovery lists it.
  virtual std::string_view name() const noexcept = 0;
  /// Whether this member also runs the multicast beacon: members heard over the group lately
  /// (ServiceInfo::heard_multicast) then get its heartbeats, and another discovery may leave
  /// them alone. False when only a protocol multicasts (nobody announces us on the group).
  virtual bool beacon() const noexcept = 0;

 protected:
  ~DiscoveryHost() = default;
};

class Discovery {
 public:
  virtual ~Discovery() = default;
  /// Runs once, after the protocols and the failure detector started: announce us and start
  /// looking. A failure fails the join with its message; then stop() is not called, so a
  /// failing start() must leave no timer or watch armed.
  virtual Result start() noexcept = 0;
  /// Our record must go out now (Record::full) or what changed of it (Record::changed): tags or
  /// props changed, Cluster::heartbeat(), a failure report, a ping naming us.
  virtual void announce(Record what) noexcept = 0;
  /// Asks every member to announce itself (Cluster::discover()).
  virtual void probe() noexcept = 0;
  /// A member announced itself and wants our record (a discovery packet not filtered to us).
  virtual void newcomer(const ServiceInfo& member) noexcept = 0;
  /// A member asked for our record specifically (a discovery filtered to us).
  virtual void asked(const ServiceInfo& member) noexcept = 0;
  /// We know `member` but not its record. `first`: it was just admitted from a packet without
  /// it; otherwise a later bare heartbeat while its props are still missing (at most once a
  /// second per member, and not within a second of awaiting_record() marking it).
  virtual void missing_record(const ServiceInfo& member, bool first) noexcept = 0;
  /// We leave: say goodbye (the beacon multicasts a disconnect) and cancel timers. No call into
  /// the host may follow once it returns.
  virtual void stop() noexcept = 0;
  /// SDK 1.3: a heartbeat or discovery from `from` carried `op`, a field the reference never
  /// sets and that discoveries use for their own exchanges (the contact discoveries' member
  /// lists: op "members", the list in `raw`). Runs after the core handled the packet (admitted
  /// `from`, merged its record), outside any protocol's received(): it may send. Every
  /// discovery of the member gets it; ignore ops that are not yours. Never called on a plugin
  /// built against SDK 1.2.
  virtual void message(const ServiceInfo& from, const Payload& packet) noexcept {
    (void)from;
    (void)packet;
  }
};

using DiscoveryFactory = std::function<std::unique_ptr<Discovery>(DiscoveryHost&)>;

}  // namespace cluster::sdk
