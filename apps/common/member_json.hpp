// The JSON shape of a member, as `members --json` prints it:
// {"uuid", "sid", "hid", "ip", "tags", "protocols", "props", "local", "last_seen"}
// with props an object per protocol ({"t": {"port": "40123"}}) and last_seen in milliseconds ago.
#pragma once

#include <chrono>

#include "cluster/sdk/service_info.hpp"
#include "json_text.hpp"

namespace clusterapp {

JsonPtr member_json(const cluster::ServiceInfo& info, std::chrono::steady_clock::time_point now);

/// {"t": {"port": "40123"}, ...} in the member's order.
JsonPtr props_json(const cluster::ServiceInfo& info);

}  // namespace clusterapp
