// The members we know, with the two indexes the hot paths need: by deadline (the next expiry
// is the first entry; a heartbeat moves one entry) and by sid (a ping lists sids, not uuids).
//
// Why: a member event used to scan every member (the earliest deadline at each newcomer, every
// member per sid of a ping). Forged heartbeats with fresh sids made that quadratic: 760 µs per
// newcomer at 50k members, queries delayed by most of a second. Here every member event is
// O(log n) and a ping is O(sids).
//
// Everything runs on the loop thread. Entries are nodes of a std::map, so ServiceState
// pointers stay valid until the member is removed; the indexes hold such pointers.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cluster/service.hpp"

namespace cluster {

using Clock = std::chrono::steady_clock;

struct ServiceState {
  ServiceInfo info;
  ServicePtr handle;
  bool discovered = false;     ///< service discovered fired
  int bare_heartbeats = 0;     ///< heartbeats without props seen before discovered fired
  Clock::time_point last_ask{};  ///< when we last asked it for its props (see on_packet)
  bool heard_full = false;     ///< a packet with its props and tags came (else asks are retried)
  bool restored = false;       ///< tags and props restored from before a short absence

  /// Expires after this unless heard from (ttl, or a ping's grace). Moved only through
  /// MemberTable::set_deadline, which keeps the deadline index in step.
  Clock::time_point deadline() const noexcept { return deadline_; }

 private:
  friend class MemberTable;
  Clock::time_point deadline_{};
};

class MemberTable {
 public:
  using Map = std::map<std::string, ServiceState, std::less<>>;

  MemberTable() = default;
  MemberTable(const MemberTable&) = delete;
  MemberTable& operator=(const MemberTable&) = delete;

  ServiceState* find(std::string_view uuid) noexcept;
  /// Adds a member (uuid not yet known) that expires at `deadline`.
  ServiceState& add(std::string uuid, ServiceState state, Clock::time_point deadline);
  /// Removes a member and returns its last state; nullopt when unknown.
  std::optional<ServiceState> remove(std::string_view uuid);
  void set_deadline(ServiceState& s, Clock::time_point deadline);
  /// Shortens a deadline only (a ping's grace never extends one).
  void shorten_deadline(ServiceState& s, Clock::time_point deadline) {
    if (deadline < s.deadline_) set_deadline(s, deadline);
  }

  /// The earliest deadline; Clock::time_point::max() when empty.
  Clock::time_point earliest() const noexcept;
  /// Uuids of the members whose deadline is before `now`, earliest first.
  std::vector<std::string> expired(Clock::time_point now) const;
  /// Calls f(ServiceState&) for each member with this sid (one, unless two hosts drew the same).
  template <class F>
  void for_sid(std::string_view sid, F&& f) {
    auto [b, e] = by_sid_.equal_range(sid);
    std::vector<ServiceState*> hits;  // f may not change the table, but be safe against it
    for (; b != e; ++b) hits.push_back(b->second);
    for (ServiceState* s : hits) f(*s);
  }

  std::size_t size() const noexcept { return members_.size(); }
  bool empty() const noexcept { return members_.empty(); }
  Map::iterator begin() noexcept { return members_.begin(); }
  Map::iterator end() noexcept { return members_.end(); }
  Map::const_iterator begin() const noexcept { return members_.begin(); }
  Map::const_iterator end() const noexcept { return members_.end(); }

 private:
  Map members_;
  std::set<std::pair<Clock::time_point, const ServiceState*>> deadlines_;
  std::unordered_multimap<std::string_view, ServiceState*> by_sid_;  ///< keys view info.sid
};

}  // namespace cluster
