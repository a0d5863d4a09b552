// Network namespaces of the tests (netns.hpp).
#include "netns.hpp"

#include <ifaddrs.h>
#include <sys/wait.h>

#include <cstdlib>
#include <string_view>

namespace test_support {

bool in_private_netns() {
  const char* flag = std::getenv("CLUSTER_NETNS");
  return flag != nullptr && std::string_view(flag) == "1";
}

bool in_loopback_only_netns() {
  if (!in_private_netns()) return false;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return false;
  bool only_lo = true;
  for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next)
    if (a->ifa_name != nullptr && std::string_view(a->ifa_name) != "lo") only_lo = false;
  ::freeifaddrs(list);
  return only_lo;
}

int run_shell(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

}  // namespace test_support
