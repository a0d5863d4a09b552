// Logs members as they come and go:
//   discovered UUID ip IP tags {TAGS} [local]
//   lost UUID (REASON) ip IP tags {TAGS}
#pragma once

#include <Poco/Logger.h>

#include <string>
#include <string_view>

#include "cluster/cluster.hpp"

namespace clusterd {

/// Adds the logging hooks. Call before the cluster runs (Cluster::join's prepare) or on its loop.
void log_membership(cluster::Cluster& c, Poco::Logger& log);

/// `text` with control characters written as \xNN: tags come from the network, and a newline
/// in one would forge a log line.
std::string escape_controls(std::string_view text);

}  // namespace clusterd
