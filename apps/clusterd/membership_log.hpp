// Logs members as they come and go:
//   discovered UUID ip IP tags {TAGS} [local]
//   lost UUID (REASON) ip IP tags {TAGS}
#pragma once

#include <Poco/Logger.h>

#include "cluster/cluster.hpp"

namespace clusterd {

/// Adds the logging hooks. Call before the cluster runs (Cluster::join's prepare) or on its loop.
void log_membership(cluster::Cluster& c, Poco::Logger& log);

}  // namespace clusterd
