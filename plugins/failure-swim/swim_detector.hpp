// The SWIM failure detector with Lifeguard's extensions (docs/failure-detection.md), as a
// FailureDetector on the SDK only: probe rounds (direct ping, indirect ping-req through other
// members, nacks), suspicion with incarnation numbers and refutation, Lifeguard's local health
// score and suspicion timeouts that shrink with independent confirmations, the buddy system, and
// dissemination piggybacked on probe traffic plus periodic gossip.
//
// Only members that advertise `swim {v 1}` and share one of our probe protocols are probed
// ("SWIM-managed"); every other member (a Tcl member, an older build) stays with a built-in ttl
// detector this one delegates to.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <cluster/sdk/failure_detector.hpp>

#include "awareness.hpp"
#include "codec.hpp"
#include "gossip_queue.hpp"
#include "suspicion.hpp"
#include "swim_config.hpp"

namespace cluster::swim {

/// Incarnation ordering (memberlist state.go): what a message about a member at `inc` does when
/// we know it at `known`.
namespace rules {
inline bool accept_alive(std::uint64_t known, std::uint64_t inc) noexcept { return inc > known; }
inline bool accept_suspect(std::uint64_t known, std::uint64_t inc) noexcept { return inc >= known; }
inline bool accept_dead(std::uint64_t known, std::uint64_t inc) noexcept { return inc >= known; }
/// Suspect/dead about us at `accused` when we are at `ours`: refute (or ignore an old one).
inline bool must_refute(std::uint64_t ours, std::uint64_t accused) noexcept { return accused >= ours; }
/// Above both (saturating: a forged accusation at 2^64 - 1 must not wrap us to 0).
inline std::uint64_t refuted_incarnation(std::uint64_t ours, std::uint64_t accused) noexcept {
  const std::uint64_t top = ours > accused ? ours : accused;
  return top == UINT64_MAX ? top : top + 1;
}
}  // namespace rules

class SwimDetector final : public sdk::FailureDetector {
 public:
  using Clock = std::chrono::steady_clock;
  enum class State : std::uint8_t { alive, suspect, dead };

  SwimDetector(sdk::FailureDetectorHost& host, Params params);
  SwimDetector(const SwimDetector&) = delete;
  SwimDetector& operator=(const SwimDetector&) = delete;
  ~SwimDetector() override = default;

  sdk::Result start() noexcept override;
  void added(const ServiceInfo& member) noexcept override;
  void heard(const ServiceInfo& member) noexcept override;
  void unreachable(const ServiceInfo& member) noexcept override;
  void received(const ServiceInfo& from, const Payload& packet) noexcept override;
  void removed(const ServiceInfo& member) noexcept override;
  void stop() noexcept override;
  void message(const ServiceInfo& from, const Payload& packet) noexcept override;

  /// Seeds the random choices (probe order, relays, gossip targets): for tests.
  void seed(std::uint64_t s) { rng_.seed(s); }

  // What tests look at.
  std::uint64_t incarnation() const noexcept { return inc_; }
  int health_score() const noexcept { return awareness_.score(); }
  /// The member's state, nullopt when it is not SWIM-managed.
  std::optional<State> state_of(const std::string& uuid) const;
  std::optional<std::uint64_t> incarnation_of(const std::string& uuid) const;
  /// The probe protocol used toward a SWIM-managed member ("" otherwise).
  std::string protocol_of(const std::string& uuid) const;
  bool delegated(const std::string& uuid) const { return delegated_.count(uuid) != 0; }
  std::size_t queued() const noexcept { return queue_.size(); }
  std::size_t pending() const noexcept { return pending_.size(); }
  /// The most a message's `raw` may hold (the packet budget less our fields and the hooks' reserve).
  std::size_t raw_budget() const noexcept { return raw_budget_; }

 private:
  struct Member {
    std::string protocol;  ///< the probe protocol toward it
    State state = State::alive;
    std::uint64_t inc = 0;
    std::unique_ptr<Suspicion> suspicion;
    sdk::TimerId suspicion_timer = 0;
    // Back after removal: suspect/dead at or below stale_inc (still in the gossip) is ignored
    // until stale_until.
    std::uint64_t stale_inc = 0;
    Clock::time_point stale_until{};
  };
  struct Pending {
    bool relay = false;      ///< we probe `target` for `requester`
    std::string target;
    Clock::time_point start{};
    // own probe
    bool closed = false;  ///< the round ended without an ack: only counting late nacks now
    std::vector<std::string> relays;  ///< asked to probe indirectly; each may nack once
    int expected_nacks = 0;
    int nacks = 0;
    // relayed probe
    std::string requester;
    std::string requester_protocol;
    std::uint32_t requester_seq = 0;
  };
  struct Tombstone {
    std::uint64_t inc = 0;
    Clock::time_point at{};
  };

  Clock::time_point now() const { return host_.loop().now(); }
  void log(sdk::LogLevel level, const std::string& text) noexcept;
  sdk::TimerId arm(Millis delay, std::function<void()> fn);
  void disarm(sdk::TimerId& id) noexcept;

  // Who is SWIM-managed.
  std::string pick_protocol(const ServiceInfo& m) const;
  bool eligible(const ServiceInfo& m) const;
  void manage(const ServiceInfo& m);
  void unmanage(const std::string& uuid);
  Member* find(const std::string& uuid);
  std::size_t cluster_size() const noexcept { return members_.size() + 1; }
  std::string reply_protocol(const ServiceInfo& from);

  // Sending.
  sdk::Result send(const std::string& to, const std::string& protocol, const Message& header,
                   const std::optional<Update>& first = std::nullopt);
  std::vector<std::pair<std::string, std::string>> random_members(std::size_t k, const std::string& except,
                                                                  bool alive_only);

  // Probing.
  void probe_tick();
  std::string next_target();
  void probe(const std::string& target);
  void probe_timed_out(std::uint32_t seq);
  void probe_round_end(std::uint32_t seq);
  void probe_settle(std::uint32_t seq);
  void relay_timed_out(std::uint32_t seq);
  std::uint32_t next_seq();
  void gossip_tick();
  void adjust_health(int delta);

  // Membership changes (ours or gossiped).
  void handle(const ServiceInfo& from, const Message& m);
  void apply(const Update& u);
  void on_alive(const Update& u);
  /// `ours`: our own probe failed (fresh evidence: never stale).
  void on_suspect(const Update& u, const std::string& why, bool ours = false);
  void on_dead(const Update& u);
  void refute(const Update& u);
  bool stale(const Member& m, std::uint64_t inc) const;
  void arm_suspicion(const std::string& uuid);
  void suspicion_expired(const std::string& uuid);
  void send_dead_directly(const Update& dead);

  sdk::FailureDetectorHost& host_;
  Params params_;
  std::string self_;                          ///< our uuid
  std::vector<std::string> probe_protocols_;  ///< params_.protocols that we run, in order
  std::vector<std::string> our_protocols_;    ///< every protocol we run (to answer any prober)
  std::size_t raw_budget_ = 0;
  bool started_ = false;
  bool stopped_ = false;
  std::unique_ptr<sdk::FailureDetector> delegate_;  ///< the ttl detector for the others
  std::set<std::string, std::less<>> delegated_;    ///< uuids the delegate has
  std::map<std::string, Member, std::less<>> members_;  ///< SWIM-managed members
  std::map<std::string, Tombstone, std::less<>> tombstones_;
  std::map<std::uint32_t, Pending> pending_;
  std::size_t relayed_ = 0;  ///< entries of pending_ that are probes for others (kMaxRelayed)
  std::uint32_t seq_ = 0;
  std::uint64_t inc_ = 0;  ///< our incarnation
  Awareness awareness_;
  GossipQueue queue_{kMaxQueued};
  std::vector<std::string> order_;  ///< this round-robin round's probe order
  std::size_t next_ = 0;
  std::set<sdk::TimerId> timers_;
  sdk::TimerId probe_timer_ = 0;
  sdk::TimerId gossip_timer_ = 0;
  Clock::time_point last_malformed_log_{};
  std::mt19937_64 rng_{std::random_device{}()};
};

std::unique_ptr<sdk::FailureDetector> make_swim_detector(sdk::FailureDetectorHost& host, Params params);

}  // namespace cluster::swim
