// [cluster] address may be an IPv4 or an IPv6 multicast group (docs/transports.md).
#include <gtest/gtest.h>

#include "cluster/options.hpp"

using namespace cluster;

namespace {

std::string error_of(const std::string& text) {
  try {
    NodeConfig::from_ini(IniFile::parse(text, "node.ini"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(OptionsIpv6, AcceptsAnIpv6MulticastGroup) {
  for (const char* group : {"ff15::c1:5", "ff02::1:2", "ff0e::1"}) {
    const NodeConfig c = NodeConfig::from_ini(IniFile::parse(std::string("[cluster]\naddress = ") + group + "\n", "n"));
    EXPECT_EQ(c.options.address, group);
  }
}

TEST(OptionsIpv6, RefusesWhatIsNoMulticastGroup) {
  EXPECT_EQ(error_of("[cluster]\naddress = fd00::1\n"),
            "node.ini:2: [cluster] address = 'fd00::1': not a multicast address (ff00::/8)");
  EXPECT_EQ(error_of("[cluster]\naddress = ff15::1%eth0\n"),
            "node.ini:2: [cluster] address = 'ff15::1%eth0': not an IPv4 or IPv6 address");
  EXPECT_EQ(error_of("[cluster]\naddress = group.example\n"),
            "node.ini:2: [cluster] address = 'group.example': not an IPv4 or IPv6 address");
  EXPECT_EQ(error_of("[cluster]\naddress = 10.0.0.1\n"),
            "node.ini:2: [cluster] address = '10.0.0.1': not a multicast address (224.0.0.0/4)");
}
