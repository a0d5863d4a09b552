// The [control] section of a node file: where the daemon's control socket lives.
#pragma once

#include <string>

#include "cluster/ini.hpp"

namespace clusterapp {

/// The default control socket of clusterd and clusterctl.
inline constexpr const char* kDefaultControlSocket = "/run/cluster/clusterd.sock";

struct ControlConfig {
  std::string socket = kDefaultControlSocket;  ///< [control] socket
  std::string where;                           ///< "file:line" of the socket key ("" = default)

  /// Reads [control]. A relative socket path is relative to the ini file's folder. Throws
  /// cluster::ConfigError "file:line: reason" for an unknown key or an empty/too long path.
  static ControlConfig from_ini(const cluster::IniFile& ini);
};

}  // namespace clusterapp
