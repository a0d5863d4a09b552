#include "membership_tally.hpp"

#include <chrono>

namespace clusterd {
namespace {

// Reasons and ways of finding are a few fixed words, but a plugin may make up its own: the
// label set is bounded by keeping the first word, cut at 32 characters.
std::string label_of(const std::string& text) {
  std::string w = text.substr(0, text.find_first_of(" :(,"));
  if (w.size() > 32) w.resize(32);
  return w.empty() ? std::string("unknown") : w;
}

}  // namespace

void MembershipTally::attach(cluster::Cluster& c) {
  c.hook(cluster::HookPoint::service_discovered, "clusterd.tally.discovered", [this](cluster::HookContext& ctx) {
    if (ctx.service != nullptr) {
      std::lock_guard<std::mutex> g(m_);
      ++discovered_[label_of(ctx.service->found_by)];
      remember("discovered", ctx.service->uuid, ctx.service->found_by);
    }
    return cluster::Verdict::pass;
  });
  c.hook(cluster::HookPoint::service_lost, "clusterd.tally.lost", [this](cluster::HookContext& ctx) {
    std::lock_guard<std::mutex> g(m_);
    ++lost_[label_of(ctx.reason)];
    if (ctx.service != nullptr) remember("lost", ctx.service->uuid, ctx.reason);
    return cluster::Verdict::pass;
  });
}

void MembershipTally::remember(std::string what, const std::string& uuid, const std::string& detail) {
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  recent_.push_back({static_cast<std::int64_t>(now), std::move(what), uuid, detail});
  while (recent_.size() > kRecent) recent_.pop_front();
}

std::vector<MembershipTally::Event> MembershipTally::recent() const {
  std::lock_guard<std::mutex> g(m_);
  return {recent_.begin(), recent_.end()};
}

std::map<std::string, std::uint64_t> MembershipTally::discovered() const {
  std::lock_guard<std::mutex> g(m_);
  return discovered_;
}

std::map<std::string, std::uint64_t> MembershipTally::lost() const {
  std::lock_guard<std::mutex> g(m_);
  return lost_;
}

}  // namespace clusterd
