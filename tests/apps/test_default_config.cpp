// clusterd's node file without --config: beside an installed tree, or the configured default.
#include <gtest/gtest.h>

#include "default_config.hpp"

using clusterd::default_config_for;

TEST(DefaultConfig, PrefixUsrReadsEtc) {
  EXPECT_EQ(default_config_for("/usr/bin/clusterd"), "/etc/cluster/cluster.ini");
}

TEST(DefaultConfig, OtherPrefixReadsItsOwnEtc) {
  EXPECT_EQ(default_config_for("/usr/local/bin/clusterd"), "/usr/local/etc/cluster/cluster.ini");
  EXPECT_EQ(default_config_for("/opt/c/bin/clusterd"), "/opt/c/etc/cluster/cluster.ini");
}

TEST(DefaultConfig, BuildTreeKeepsTheConfiguredDefault) {
  const std::string configured = default_config_for("");
  EXPECT_EQ(default_config_for("/src/build/apps/clusterd/clusterd"), configured);
  EXPECT_NE(configured.find("/cluster/cluster.ini"), std::string::npos);
}
