#include "gossip_queue.hpp"

#include <algorithm>
#include <cmath>

namespace cluster::swim {

int retransmit_limit(int mult, std::size_t n) {
  const int scale = static_cast<int>(std::ceil(std::log10(static_cast<double>(n) + 1.0)));
  return std::max(1, mult * scale);
}

void GossipQueue::push(Update u) {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.update.uuid == u.uuid; }),
                 entries_.end());
  if (max_ == 0) return;
  if (entries_.size() >= max_) {
    // Full: drop the one sent most often (the oldest among them).
    auto worst = std::max_element(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
      return a.transmits != b.transmits ? a.transmits < b.transmits : a.id > b.id;
    });
    entries_.erase(worst);
  }
  Entry e;
  e.encoded = encode_update(u);
  e.update = std::move(u);
  e.id = ++next_id_;
  entries_.push_back(std::move(e));
}

std::vector<std::string> GossipQueue::take(std::size_t budget, int limit, const std::string& skip_uuid) {
  std::vector<std::size_t> order(entries_.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const Entry& x = entries_[a];
    const Entry& y = entries_[b];
    return x.transmits != y.transmits ? x.transmits < y.transmits : x.id > y.id;
  });
  std::vector<std::string> out;
  std::size_t used = 0;
  for (std::size_t i : order) {
    Entry& e = entries_[i];
    if (!skip_uuid.empty() && e.update.uuid == skip_uuid) continue;
    if (used + e.encoded.size() + 3 > budget) continue;  // a smaller one may still fit
    used += e.encoded.size() + 3;
    out.push_back(e.encoded);
    ++e.transmits;
  }
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.transmits >= limit; }),
                 entries_.end());
  return out;
}

const Update* GossipQueue::find(const std::string& uuid) const noexcept {
  for (const auto& e : entries_)
    if (e.update.uuid == uuid) return &e.update;
  return nullptr;
}

}  // namespace cluster::swim
