#include "membership/recently_left.hpp"

namespace cluster {

void RecentlyLeft::remember(const std::string& uuid, Clock::time_point now) {
  if (capacity_ == 0) return;
  forget_old(now);
  while (until_.size() >= capacity_ && !order_.empty()) {
    auto it = until_.find(order_.front().uuid);
    if (it != until_.end() && it->second == order_.front().until) until_.erase(it);
    order_.pop_front();
  }
  until_[uuid] = now + keep_;
  order_.push_back(Entry{uuid, now + keep_});
}

bool RecentlyLeft::contains(const std::string& uuid, Clock::time_point now) {
  if (until_.empty()) return false;
  forget_old(now);
  return until_.count(uuid) != 0;
}

void RecentlyLeft::forget_old(Clock::time_point now) {
  while (!order_.empty() && order_.front().until <= now) {
    auto it = until_.find(order_.front().uuid);
    // Only this entry's own time: the uuid may have been remembered again since.
    if (it != until_.end() && it->second == order_.front().until) until_.erase(it);
    order_.pop_front();
  }
}

}  // namespace cluster
