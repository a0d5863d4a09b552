// Everything clusterd reads from its node file: the node ([cluster], [plugins], plugin
// sections), [control], [logging] and [metrics].
#pragma once

#include <string>

#include "cluster/options.hpp"
#include "control_config.hpp"
#include "logging_config.hpp"
#include "http_config.hpp"

namespace clusterd {

struct DaemonConfig {
  cluster::NodeConfig node;
  clusterapp::ControlConfig control;
  LoggingConfig logging;
  MetricsConfig metrics;
  MetricsConfig http;  ///< [http] listen: the status page

  /// Loads and validates `path`. Throws cluster::ConfigError "file:line: reason" (or
  /// "file: reason"). Plugins are not loaded here (joining does that).
  static DaemonConfig load(const std::string& path);
};

}  // namespace clusterd
