// Test main of cluster_plugin_tests. The multicast tests (suite UdpMulticast) must run in a
// private network namespace; ctest runs them as one test through netns-run, so test discovery
// (--gtest_list_tests, run outside any namespace) does not list them. Run directly, the binary
// still runs them, and they skip with a message unless started through netns-run.
#include <gtest/gtest.h>

#include <string>

#include "protocol_harness.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (GTEST_FLAG_GET(list_tests) && !cluster::test::in_private_netns()) {
    std::string filter = GTEST_FLAG_GET(filter);
    filter += filter.find('-') == std::string::npos ? "-UdpMulticast.*" : ":UdpMulticast.*";
    GTEST_FLAG_SET(filter, filter);
  }
  return RUN_ALL_TESTS();
}
