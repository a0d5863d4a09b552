#include "daemon_config.hpp"

namespace clusterd {

DaemonConfig DaemonConfig::load(const std::string& path) {
  DaemonConfig c;
  c.node = cluster::NodeConfig::load_file(path);
  c.control = clusterapp::ControlConfig::from_ini(c.node.ini);
  c.logging = LoggingConfig::from_ini(c.node.ini);
  return c;
}

}  // namespace clusterd
