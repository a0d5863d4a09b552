// The reference's failure detection (PROTOCOL.md section 6, "Expiry" and "Pings"): a member
// silent for ttl + expiry_grace is dead. One that no protocol reached is pinged (its sid
// collected for ping_delay, then one multicast names them all); every member that sees the ping
// (we too) expects the named members within ping_grace, unless it heard them within
// ping_recent; a member that finds itself named answers with a full heartbeat.
//
// Deadlines are indexed (ordered set + a timer at the earliest), so a member event costs
// O(log n): forged heartbeats with fresh sids once made a scan per newcomer quadratic.
#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/sdk/timers.hpp"
#include "policies/builtin_policies.hpp"
#include "cluster/tcl.hpp"

namespace cluster::policies {
namespace {

using Clock = std::chrono::steady_clock;

class TtlDetector final : public sdk::FailureDetector {
 public:
  explicit TtlDetector(sdk::FailureDetectorHost& host) : host_(host) {}

  sdk::Result start() noexcept override { return sdk::Result::success(); }

  void added(const ServiceInfo& m) noexcept override {
    auto [it, fresh] = members_.try_emplace(m.uuid);
    Entry& e = it->second;
    if (fresh) {
      e.sid = m.sid;
      by_sid_.emplace(m.sid, m.uuid);
    }
    e.heard = now();
    set_deadline(it->first, e, e.heard + lifetime());
  }

  void heard(const ServiceInfo& m) noexcept override {
    auto it = members_.find(m.uuid);
    if (it == members_.end()) return;
    Entry& e = it->second;
    e.heard = now();
    set_deadline(it->first, e, e.heard + lifetime());
    if (e.suspect) {
      e.suspect = false;
      host_.declare(m.uuid, sdk::Liveness::alive, "heard from");
    }
  }

  void unreachable(const ServiceInfo& m) noexcept override {
    if (std::find(ping_pending_.begin(), ping_pending_.end(), m.sid) == ping_pending_.end())
      ping_pending_.push_back(m.sid);
    if (ping_timer_ != 0 || stopped_) return;
    ping_timer_ = host_.loop().after(host_.timings().ping_delay, [this] {
      ping_timer_ = 0;
      flush_ping();
    });
  }

  void received(const ServiceInfo& /*from*/, const Payload& p) noexcept override {
    if (p.type.value_or(0) != static_cast<std::uint64_t>(PayloadType::ping) || !p.data.has()) return;
    std::vector<std::string> sids;
    if (!tcl::parse_list(*p.data, sids)) return;
    for (const auto& sid : sids) {
      if (sid == host_.settings().sid) {
        // We are asked to prove we are alive: at once, or staggered when many were listed.
        if (sids.size() == 1) {
          host_.announce();
        } else {
          const auto delay = std::chrono::milliseconds(rng_() % 15000);
          after(delay, [this] { host_.announce(); });
        }
        continue;
      }
      shorten_deadline_of_pinged(sid);
    }
    schedule_expiry();
  }

  void removed(const ServiceInfo& m) noexcept override {
    auto it = members_.find(m.uuid);
    if (it == members_.end()) return;
    deadlines_.erase({it->second.deadline, &it->first});
    auto [b, e] = by_sid_.equal_range(it->second.sid);
    for (; b != e; ++b)
      if (b->second == m.uuid) {
        by_sid_.erase(b);
        break;
      }
    members_.erase(it);
  }

  void stop() noexcept override {
    stopped_ = true;
    if (ping_timer_ != 0) host_.loop().cancel(ping_timer_);
    if (expiry_timer_ != 0) host_.loop().cancel(expiry_timer_);
    timers_.cancel_all();
  }

 private:
  struct Entry {
    std::string sid;
    Clock::time_point heard{};
    Clock::time_point deadline{};
    bool suspect = false;
  };
  using Members = std::map<std::string, Entry, std::less<>>;

  Clock::time_point now() const { return host_.loop().now(); }
  Clock::duration lifetime() const { return host_.timings().ttl + host_.timings().expiry_grace; }

  template <class F>
  void after(std::chrono::milliseconds d, F fn) {
    timers_.after(d, std::move(fn));
  }

  void set_deadline(const std::string& uuid, Entry& e, Clock::time_point deadline) {
    // The node is moved, not freed and allocated again: this runs for every heartbeat and response.
    auto node = deadlines_.extract({e.deadline, &uuid});
    e.deadline = deadline;
    if (node) {
      node.value() = {deadline, &uuid};
      deadlines_.insert(std::move(node));
    } else {
      deadlines_.insert({deadline, &uuid});
    }
    schedule_expiry();
  }

  // A pinged member (ours or another's ping) must be heard from within ping_grace, unless it
  // was heard within ping_recent. A ping never extends a deadline.
  void shorten_deadline_of_pinged(const std::string& sid) {
    const auto t = now();
    auto [b, e] = by_sid_.equal_range(sid);
    for (; b != e; ++b) {
      auto it = members_.find(b->second);
      if (it == members_.end()) continue;
      Entry& m = it->second;
      if (t - m.heard < host_.timings().ping_recent) continue;
      const auto deadline = t + host_.timings().ping_grace;
      if (deadline < m.deadline) set_deadline(it->first, m, deadline);
      if (!m.suspect) {
        m.suspect = true;
        host_.declare(it->first, sdk::Liveness::suspect, "pinged");
      }
    }
  }

  void flush_ping() {
    if (ping_pending_.empty() || stopped_) return;
    Payload p = host_.packet(PayloadType::ping);
    p.data = tcl::format_list(ping_pending_);
    // Apply it to our own view too: we never receive our own packets.
    const std::vector<std::string> sids = std::move(ping_pending_);
    ping_pending_.clear();
    if (host_.multicast(p) == sdk::SendStatus::sent) host_.count(sdk::PolicyCounter::ping_sent);
    for (const auto& sid : sids) shorten_deadline_of_pinged(sid);
  }

  // Keeps one timer at the earliest deadline, so a silent member is evicted when its time runs
  // out, not at the next heartbeat tick.
  void schedule_expiry() {
    if (stopped_ || deadlines_.empty()) return;
    const Clock::time_point earliest = deadlines_.begin()->first;
    if (expiry_timer_ != 0 && expiry_due_ <= earliest) return;  // an earlier check is due anyway
    if (expiry_timer_ != 0) host_.loop().cancel(expiry_timer_);
    expiry_due_ = earliest;
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(earliest - now()) + std::chrono::milliseconds(1);
    expiry_timer_ = host_.loop().after(std::max(wait, std::chrono::milliseconds(1)), [this] {
      expiry_timer_ = 0;
      expire();
    });
  }

  void expire() {
    const auto t = now();
    std::vector<std::string> dead;
    for (auto it = deadlines_.begin(); it != deadlines_.end() && it->first < t; ++it) dead.push_back(*it->second);
    // declare() removes the member (removed() runs inside it) and may run hooks that leave.
    for (const auto& uuid : dead) {
      if (stopped_) return;
      host_.declare(uuid, sdk::Liveness::dead, "expired");
    }
    schedule_expiry();
  }

  sdk::FailureDetectorHost& host_;
  bool stopped_ = false;
  Members members_;
  std::set<std::pair<Clock::time_point, const std::string*>> deadlines_;  ///< keys point into members_
  std::unordered_multimap<std::string, std::string> by_sid_;  ///< sid -> uuid (two hosts may draw one sid)
  std::vector<std::string> ping_pending_;
  sdk::TimerId ping_timer_ = 0;
  sdk::TimerId expiry_timer_ = 0;
  Clock::time_point expiry_due_{};
  sdk::Timers timers_{host_.loop()};  ///< one-shot: staggered answers to pings
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace

std::unique_ptr<sdk::FailureDetector> make_ttl_detector(sdk::FailureDetectorHost& host) {
  return std::make_unique<TtlDetector>(host);
}

}  // namespace cluster::policies
