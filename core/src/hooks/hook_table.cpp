#include "hooks/hook_table.hpp"

#include <algorithm>
#include <exception>

namespace cluster {

HookId HookTable::add(HookPoint point, std::string name, HookFn fn, int order, std::string scope) noexcept {
  try {
    if (!fn || index(point) >= kPoints || has(name)) return 0;
    auto& slot = table_[index(point)];
    List list = slot ? *slot : List{};
    const HookId id = next_++;
    // Insert after every entry with order <= ours: stable by registration.
    auto pos = std::upper_bound(list.begin(), list.end(), order,
                                [](int o, const Entry& e) { return o < e.order; });
    list.insert(pos, Entry{id, std::move(name), std::move(fn), order, std::move(scope)});
    slot = std::make_shared<const List>(std::move(list));
    return id;
  } catch (...) {
    return 0;
  }
}

bool HookTable::has(std::string_view name) const noexcept {
  for (const auto& l : table_)
    if (l)
      for (const auto& e : *l)
        if (e.name == name) return true;
  return false;
}

bool HookTable::remove(HookId id) noexcept {
  for (auto& slot : table_) {
    if (!slot) continue;
    auto it = std::find_if(slot->begin(), slot->end(), [&](const Entry& e) { return e.id == id; });
    if (it != slot->end()) {
      try {
        List list = *slot;
        list.erase(list.begin() + (it - slot->begin()));
        slot = std::make_shared<const List>(std::move(list));
      } catch (...) {
        return false;
      }
      return true;
    }
  }
  return false;
}

namespace {

/// Adds the time from construction to destruction to `sum`, when `on` (one run in a sample).
class SampledTimer {
 public:
  SampledTimer(bool on, std::chrono::nanoseconds& sum) noexcept : sum_(on ? &sum : nullptr) {
    if (sum_ != nullptr) start_ = std::chrono::steady_clock::now();
  }
  ~SampledTimer() {
    if (sum_ != nullptr) *sum_ += std::chrono::steady_clock::now() - start_;
  }
  SampledTimer(const SampledTimer&) = delete;
  SampledTimer& operator=(const SampledTimer&) = delete;

 private:
  std::chrono::nanoseconds* sum_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

std::vector<HookTime> HookTable::times() const {
  std::vector<HookTime> out;
  for (std::size_t i = 0; i < kPoints; ++i) {
    const Timing& t = timing_[i];
    if (t.runs == 0) continue;
    // Each timed run stands for the kHookTimeSample runs from it: an estimate that only grows
    // (a mean times runs would fall after a slow first run, and Prometheus reads a counter
    // that falls as a restart).
    const double sampled = std::chrono::duration<double>(t.sampled).count();
    out.push_back(HookTime{static_cast<HookPoint>(i), t.runs, sampled * static_cast<double>(kHookTimeSample)});
  }
  return out;
}

Verdict HookTable::run(HookPoint point, HookContext& ctx, std::string_view scope) const {
  const auto& current = table_[index(point)];
  if (!current || current->empty()) return Verdict::pass;  // the common case: no reference count
  const std::shared_ptr<const List> list = current;  // a hook may (un)register while we iterate
  Timing& timing = timing_[index(point)];
  const SampledTimer timer(timing.runs++ % kHookTimeSample == 0, timing.sampled);
  ctx.point = point;
  Verdict result = Verdict::pass;
  for (const auto& e : *list) {
    if (!e.scope.empty() && e.scope != scope) continue;
    Verdict v;
    try {
      v = e.fn(ctx);
    } catch (const std::exception& ex) {
      ctx.reason = "hook '" + e.name + "' threw: " + ex.what();
      return Verdict::drop;
    } catch (...) {
      ctx.reason = "hook '" + e.name + "' threw";
      return Verdict::drop;
    }
    if (v == Verdict::drop) {
      if (ctx.reason.empty()) ctx.reason = "dropped by hook '" + e.name + "'";
      return v;
    }
    if (v == Verdict::modified) result = Verdict::modified;
    else if (v != Verdict::pass) {
      ctx.reason = "hook '" + e.name + "' returned an invalid verdict";
      return Verdict::drop;
    }
  }
  return result;
}

}  // namespace cluster
