#include "member_table.hpp"

namespace cluster {

ServiceState* MemberTable::find(std::string_view uuid) noexcept {
  auto it = members_.find(uuid);
  return it == members_.end() ? nullptr : &it->second;
}

ServiceState& MemberTable::add(std::string uuid, ServiceState state, Clock::time_point deadline) {
  state.deadline_ = deadline;
  ServiceState& s = members_.emplace(std::move(uuid), std::move(state)).first->second;
  deadlines_.emplace(s.deadline_, &s);
  by_sid_.emplace(std::string_view(s.info.sid), &s);
  return s;
}

std::optional<ServiceState> MemberTable::remove(std::string_view uuid) {
  auto it = members_.find(uuid);
  if (it == members_.end()) return std::nullopt;
  ServiceState& s = it->second;
  deadlines_.erase({s.deadline_, &s});
  auto [b, e] = by_sid_.equal_range(std::string_view(s.info.sid));
  for (; b != e; ++b)
    if (b->second == &s) {
      by_sid_.erase(b);
      break;
    }
  std::optional<ServiceState> out(std::move(s));
  members_.erase(it);
  return out;
}

void MemberTable::set_deadline(ServiceState& s, Clock::time_point deadline) {
  if (deadline == s.deadline_) return;
  deadlines_.erase({s.deadline_, &s});
  s.deadline_ = deadline;
  deadlines_.emplace(deadline, &s);
}

Clock::time_point MemberTable::earliest() const noexcept {
  return deadlines_.empty() ? Clock::time_point::max() : deadlines_.begin()->first;
}

std::vector<std::string> MemberTable::expired(Clock::time_point now) const {
  std::vector<std::string> out;
  for (const auto& [deadline, s] : deadlines_) {
    if (!(now > deadline)) break;
    out.push_back(s->info.uuid);
  }
  return out;
}

}  // namespace cluster
