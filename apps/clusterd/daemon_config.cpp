#include "daemon_config.hpp"

namespace clusterd {

DaemonConfig DaemonConfig::load(const std::string& path) {
  DaemonConfig c;
  c.node = cluster::NodeConfig::load_file(path);
  c.control = clusterapp::ControlConfig::from_ini(c.node.ini);
  c.logging = LoggingConfig::from_ini(c.node.ini);
  c.metrics = MetricsConfig::from_ini(c.node.ini, "metrics");
  c.http = MetricsConfig::from_ini(c.node.ini, "http");
  follow_logging_level(c.node, c.logging);
  return c;
}

}  // namespace clusterd
