#include "default_config.hpp"

#include <filesystem>
#include <system_error>
#include <vector>

#ifndef CLUSTER_DEFAULT_CONFIG
#define CLUSTER_DEFAULT_CONFIG "/etc/cluster/cluster.ini"
#endif
#ifndef CLUSTER_INSTALL_BINDIR
#define CLUSTER_INSTALL_BINDIR "bin"
#endif
#ifndef CLUSTER_INSTALL_SYSCONFDIR
#define CLUSTER_INSTALL_SYSCONFDIR "etc"
#endif

namespace clusterd {

namespace fs = std::filesystem;

std::string default_config_for(const std::string& exe) {
  const fs::path bindir = CLUSTER_INSTALL_BINDIR;
  const fs::path sysconfdir = CLUSTER_INSTALL_SYSCONFDIR;
  if (exe.empty() || bindir.is_absolute() || sysconfdir.is_absolute()) return CLUSTER_DEFAULT_CONFIG;
  // The prefix is what remains of the executable's folder once bindir is taken off its end.
  fs::path prefix = fs::path(exe).lexically_normal().parent_path();
  std::vector<fs::path> tail(bindir.begin(), bindir.end());
  for (auto it = tail.rbegin(); it != tail.rend(); ++it) {
    if (prefix.filename() != *it) return CLUSTER_DEFAULT_CONFIG;
    prefix = prefix.parent_path();
  }
  const fs::path etc = prefix == "/usr" ? fs::path("/etc") : prefix / sysconfdir;
  return (etc / "cluster" / "cluster.ini").string();
}

std::string default_config() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return default_config_for(ec ? std::string() : exe.string());
}

}  // namespace clusterd
