// Shared by the hook-set plugins (header-only, compiled into each .so; never the core's code):
// a HookSet base that remembers the hooks it added and removes them again. Tcl quoting and
// printable text come from the SDK (cluster/sdk/text.hpp), hook orders from cluster::hook_order.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/sdk.hpp"

namespace cluster::hooks {

/// A hook set whose hooks never outlive it: they are removed when the set is destroyed (the
/// core destroys its hook sets before its hook table), and when attach() fails half-way.
class HookSetBase : public sdk::HookSet {
 public:
  ~HookSetBase() override { detach(); }

 protected:
  /// Adds one hook; false when the registry refused it (a hook of that name exists already,
  /// e.g. the set was attached twice to the same cluster).
  bool add(HookRegistry& registry, HookPoint point, std::string name, HookFn fn, int order) noexcept {
    const HookId id = registry.add(point, std::move(name), std::move(fn), order);
    if (id == 0) return false;
    registry_ = &registry;
    const bool kept = sdk::guard_or(false, [&] {
      ids_.push_back(id);
      return true;
    });
    if (!kept) registry.remove(id);
    return kept;
  }

  /// Removes every hook added so far and returns a failure naming `set` and `hook`.
  sdk::Result refuse_duplicate(std::string_view set, std::string_view hook) noexcept {
    detach();
    return sdk::guard("hook set", [&] {
      return sdk::Result::failure("hook set '" + std::string(set) + "': hook '" + std::string(hook) +
                                  "' exists already (attached twice to one cluster?)");
    });
  }

  void detach() noexcept {
    if (registry_ != nullptr)
      for (const HookId id : ids_) registry_->remove(id);
    ids_.clear();
    registry_ = nullptr;
  }

 private:
  HookRegistry* registry_ = nullptr;
  std::vector<HookId> ids_;
};

}  // namespace cluster::hooks
