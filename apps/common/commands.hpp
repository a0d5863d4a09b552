// The control commands, run against a Cluster. One implementation serves the daemon's control
// socket and `clusterctl --join`, so both behave identically. Requests and responses are the
// JSON objects of the control protocol (docs/cli.md).
#pragma once

#include <cstdint>
#include <functional>

#include "cluster/cluster.hpp"
#include "json_text.hpp"

namespace clusterapp {

/// Receives the response object ({"ok": true, ...} or {"ok": false, "error": ...}).
using Reply = std::function<void(JsonPtr)>;

inline constexpr std::uint64_t kDefaultQueryTimeoutMs = 5000;
inline constexpr std::uint64_t kMaxQueryTimeoutMs = 3600000;

/// Runs one request: members, send, query, tags, channel or status. Call on the cluster's loop
/// thread. `reply` is called exactly once: before execute returns, or later on the loop thread
/// (query). "watch" is a stream, not a request: see Watch (this answers it with an error).
void execute(cluster::Cluster& c, const JsonPtr& request, const Reply& reply);

/// The query command alone (execute dispatches to it).
void run_query(cluster::Cluster& c, const JsonPtr& request, const Reply& reply);

}  // namespace clusterapp
