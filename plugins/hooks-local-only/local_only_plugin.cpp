// Hook set "local-only": members on this host only. Drops every received packet whose sender is
// not on this host, before any other hook sees it, and refuses new members from other hosts.
// Independent of [cluster] remote (which also keeps our own beacons on the host); see
// docs/hooks.md.
#include <iterator>
#include <memory>
#include <string>

#include "cluster/sdk.hpp"
#include "hook_set_base.hpp"

namespace {

using cluster::HookContext;
using cluster::HookPoint;
using cluster::HookRegistry;
using cluster::Verdict;
using cluster::sdk::HookSetHost;
using cluster::sdk::Result;

/// Before every other hook, the auth hook set's verification included: a packet from another
/// host is refused without any further work.
constexpr int kOrder = cluster::hook_order::admit;

class LocalOnly final : public cluster::hooks::HookSetBase {
 public:
  Result attach(HookRegistry& hooks) noexcept override {
    return cluster::sdk::guard("local-only: attach", [&] {
      if (!add(hooks, HookPoint::evaluate_receive, "local-only.receive", receive, kOrder))
        return refuse_duplicate("local-only", "local-only.receive");
      if (!add(hooks, HookPoint::service_evaluate, "local-only.service", evaluate, kOrder))
        return refuse_duplicate("local-only", "local-only.service");
      return Result::success();
    });
  }

 private:
  // ctx.local: the packet came from a local address AND carries our host id.
  static Verdict receive(HookContext& ctx) {
    if (ctx.local) return Verdict::pass;
    ctx.reason = "local-only: packet from another host";
    return Verdict::drop;
  }
  // A new member: the packet must be local and the member must be on this host (its hid is
  // ours). Also catches packets another hook rewrote after the check above.
  static Verdict evaluate(HookContext& ctx) {
    if (ctx.local && ctx.service != nullptr && ctx.service->local) return Verdict::pass;
    ctx.reason = "local-only: refusing member " + (ctx.service != nullptr ? ctx.service->uuid : std::string("?")) +
                 " from another host";
    return Verdict::drop;
  }
};

bool init(cluster::sdk::Registrar& registrar, std::string& error) noexcept {
  return cluster::sdk::guard_init("local-only", error, [&] {
    registrar.add_hook_set("local-only", [](HookSetHost&) -> std::unique_ptr<cluster::sdk::HookSet> {
      return std::make_unique<LocalOnly>();
    });
    return Result::success();
  });
}

}  // namespace

CLUSTER_PLUGIN("local-only", "1.0.0", "hook set local-only: only members on this host", nullptr, 0, init, nullptr)
