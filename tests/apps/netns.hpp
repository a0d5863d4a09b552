// Whether the tests run inside tests/plugins/netns-run (a private network namespace with lo
// only), where daemons may multicast without anything leaving the machine.
#pragma once

#include <ifaddrs.h>

#include <cstdlib>
#include <string_view>

namespace clusterapp::test {

inline bool in_private_netns() {
  const char* flag = std::getenv("CLUSTER_NETNS");
  if (flag == nullptr || std::string_view(flag) != "1") return false;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return false;
  bool only_lo = true;
  for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next)
    if (a->ifa_name != nullptr && std::string_view(a->ifa_name) != "lo") only_lo = false;
  ::freeifaddrs(list);
  return only_lo;
}

}  // namespace clusterapp::test
