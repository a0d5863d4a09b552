// Where clusterd reads its node file when --config is not given.
#pragma once

#include <string>

namespace clusterd {

/// An installed clusterd (<prefix>/<bindir>/clusterd) reads <prefix>/<sysconfdir>/cluster/cluster.ini,
/// and /usr/bin/clusterd reads /etc/cluster/cluster.ini (GNUInstallDirs' rule for /usr), whatever
/// prefix the tree was configured with: the .deb installs any tree under /usr. Outside an
/// installed tree (a build tree) it is the configured CLUSTER_DEFAULT_CONFIG.
std::string default_config();

/// default_config() for an executable at exe (testable without moving the binary).
std::string default_config_for(const std::string& exe);

}  // namespace clusterd
