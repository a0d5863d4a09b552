#include "membership/recently_lost.hpp"

namespace cluster {

void RecentlyLost::remember(const ServiceInfo& info, Clock::time_point now) {
  if (capacity_ == 0) return;
  if (auto it = by_uuid_.find(info.uuid); it != by_uuid_.end()) {
    auto entry = it->second;
    by_uuid_.erase(it);
    entries_.erase(entry);
  }
  // Forget what is too old or over capacity, oldest first.
  while (!entries_.empty() && (entries_.size() >= capacity_ || entries_.front().until <= now)) {
    by_uuid_.erase(entries_.front().info.uuid);
    entries_.pop_front();
  }
  entries_.push_back(Entry{info, now + keep_});
  by_uuid_.emplace(entries_.back().info.uuid, std::prev(entries_.end()));
}

std::optional<ServiceInfo> RecentlyLost::take(std::string_view uuid, Clock::time_point now) {
  auto it = by_uuid_.find(uuid);
  if (it == by_uuid_.end()) return std::nullopt;
  const auto entry = it->second;
  by_uuid_.erase(it);
  std::optional<ServiceInfo> out;
  if (entry->until > now) out = std::move(entry->info);
  entries_.erase(entry);
  return out;
}

}  // namespace cluster
