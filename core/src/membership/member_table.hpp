// The members we know, by uuid. Deadlines are not kept here: liveness belongs to the failure
// detector (sdk/failure_detector.hpp; the default indexes its deadlines, policies/ttl_detector).
//
// Everything runs on the loop thread. Entries are nodes of a std::map, so ServiceState
// pointers stay valid until the member is removed.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "cluster/sdk/failure_detector.hpp"
#include "cluster/service.hpp"

namespace cluster {

using Clock = std::chrono::steady_clock;

struct ServiceState {
  ServiceInfo info;
  ServicePtr handle;
  bool discovered = false;     ///< service discovered fired
  int bare_heartbeats = 0;     ///< heartbeats without props seen before discovered fired
  Clock::time_point last_ask{};  ///< when we last asked it for its record (see on_packet)
  bool heard_full = false;     ///< a packet with its props and tags came (else asks are retried)
  bool restored = false;       ///< tags and props restored from before a short absence
  sdk::Liveness liveness = sdk::Liveness::alive;  ///< as the failure detector last declared
  /// Since when a protocol holds too much output for it (send queue flow control); epoch = not.
  Clock::time_point backlogged_since{};
};

class MemberTable {
 public:
  using Map = std::map<std::string, ServiceState, std::less<>>;

  MemberTable() = default;
  MemberTable(const MemberTable&) = delete;
  MemberTable& operator=(const MemberTable&) = delete;

  ServiceState* find(std::string_view uuid) noexcept {
    auto it = members_.find(uuid);
    return it == members_.end() ? nullptr : &it->second;
  }
  /// Adds a member (uuid not yet known).
  ServiceState& add(std::string uuid, ServiceState state) {
    return members_.emplace(std::move(uuid), std::move(state)).first->second;
  }
  /// Removes a member and returns its last state; nullopt when unknown.
  std::optional<ServiceState> remove(std::string_view uuid) {
    auto it = members_.find(uuid);
    if (it == members_.end()) return std::nullopt;
    std::optional<ServiceState> out(std::move(it->second));
    members_.erase(it);
    return out;
  }

  std::size_t size() const noexcept { return members_.size(); }
  bool empty() const noexcept { return members_.empty(); }
  Map::iterator begin() noexcept { return members_.begin(); }
  Map::iterator end() noexcept { return members_.end(); }
  Map::const_iterator begin() const noexcept { return members_.begin(); }
  Map::const_iterator end() const noexcept { return members_.end(); }

 private:
  Map members_;
};

}  // namespace cluster
