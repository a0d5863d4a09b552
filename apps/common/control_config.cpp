#include "control_config.hpp"

#include <sys/un.h>

#include <filesystem>

namespace clusterapp {

ControlConfig ControlConfig::from_ini(const cluster::IniFile& ini) {
  ControlConfig c;
  const cluster::IniSection* s = ini.section("control");
  if (s == nullptr) return c;
  for (const auto& [key, v] : s->values) {
    if (key != "socket")
      throw cluster::ConfigError(v.where + ": unknown key '" + key + "' in [control] (known: socket)");
    if (v.value.empty()) throw cluster::ConfigError(v.where + ": [control] socket must not be empty");
    std::string path = v.value;
    if (path[0] != '/')
      path = (std::filesystem::path(ini.origin()).parent_path() / path).lexically_normal().string();
    if (path.size() >= sizeof(sockaddr_un::sun_path))
      throw cluster::ConfigError(v.where + ": [control] socket = '" + path + "': too long for a Unix socket (at most " +
                                 std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes)");
    c.socket = path;
    c.where = v.where;
  }
  return c;
}

}  // namespace clusterapp
