// The default membership policies, registered by every PluginManager under these names. They
// are written against the SDK only (no core internals), like any third-party plugin; they are
// built into the core because a member that loads no plugin must still behave as the
// reference does (docs/architecture.md, "Policies").
#pragma once

#include <memory>

#include "cluster/sdk/discovery.hpp"
#include "cluster/sdk/failure_detector.hpp"

namespace cluster::policies {

inline constexpr const char* kMulticastDiscovery = "multicast";
inline constexpr const char* kTtlDetector = "ttl";

/// The reference's beacon: heartbeats, discoveries, asks and disconnects on the group.
std::unique_ptr<sdk::Discovery> make_multicast_beacon(sdk::DiscoveryHost& host);
/// ttl + ping: silent for ttl + expiry_grace = dead; unreachable = pinged; pinged = heard
/// within ping_grace or dead.
std::unique_ptr<sdk::FailureDetector> make_ttl_detector(sdk::FailureDetectorHost& host);

}  // namespace cluster::policies
