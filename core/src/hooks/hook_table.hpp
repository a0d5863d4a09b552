// Hooks in order, per hook point: lower `order` first, then the order they were added.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cluster/sdk/hooks.hpp"
#include "cluster/stats.hpp"

namespace cluster {

class HookTable final : public HookRegistry {
 public:
  HookId add(HookPoint point, std::string name, HookFn fn, int order, std::string scope) noexcept override;
  bool remove(HookId id) noexcept override;
  /// Whether a hook of this name is registered (at any point).
  bool has(std::string_view name) const noexcept;

  /// Runs the hooks of `point` whose scope is empty or equals `scope`. Stops at the first drop.
  /// A hook that throws counts as a drop; its message becomes ctx.reason. Returns modified when
  /// any hook said so and none dropped.
  Verdict run(HookPoint point, HookContext& ctx, std::string_view scope = {}) const;
  /// Runs and estimated time per hook point that ran (Cluster::stats()).
  std::vector<HookTime> times() const;
  bool empty(HookPoint point) const noexcept {
    const auto& l = table_[index(point)];
    return !l || l->empty();
  }

 private:
  struct Entry {
    HookId id;
    std::string name;
    HookFn fn;
    int order;
    std::string scope;
  };
  static constexpr std::size_t kPoints = static_cast<std::size_t>(HookPoint::service_lost) + 1;
  static std::size_t index(HookPoint p) noexcept { return static_cast<std::size_t>(p); }
  using List = std::vector<Entry>;
  // Copy-on-write: run() holds a reference to the list it started with, so hooks may add or
  // remove hooks while running without invalidating the iteration (and without a copy per run).
  std::array<std::shared_ptr<const List>, kPoints> table_;
  // Per point: runs, and the summed time of every kHookTimeSample-th run (two clock reads per
  // run would cost more than many hooks do). Mutable: run() is const for re-entrancy's sake.
  struct Timing {
    std::uint64_t runs = 0;
    std::chrono::nanoseconds sampled{0};
  };
  mutable std::array<Timing, kPoints> timing_{};
  HookId next_ = 1;
};

}  // namespace cluster
