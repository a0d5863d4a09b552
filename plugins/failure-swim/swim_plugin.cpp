// cluster-swim.so: the SWIM + Lifeguard failure detector ([cluster] failure_detector = swim;
// docs/failure-detection.md).
#include <cluster/sdk/boundary.hpp>

#include "swim_config.hpp"
#include "swim_detector.hpp"

namespace {

namespace sdk = cluster::sdk;
namespace swim = cluster::swim;

bool init(sdk::Registrar& registrar, std::string& error) noexcept {
  return sdk::guard_init("swim", error, [&] {
    const swim::Params params = swim::params_from(registrar.config());
    if (const std::string bad = swim::check_params(params); !bad.empty()) return sdk::Result::failure(bad);
    registrar.add_failure_detector("swim", [params](sdk::FailureDetectorHost& host) {
      return swim::make_swim_detector(host, params);
    });
    return sdk::Result::success();
  });
}

}  // namespace

CLUSTER_PLUGIN_RANGED("swim", "1.0.0", "SWIM failure detector with Lifeguard (probes, suspicion, refutation)",
                      swim::kKeys, std::size(swim::kKeys), swim::kRanges, std::size(swim::kRanges), init, nullptr)
