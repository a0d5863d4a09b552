// Test main of cluster_app_tests. The Processes suite runs real clusterd daemons, which
// multicast: ctest runs it as one test inside a private network namespace (netns-run), so test
// discovery (outside any namespace) leaves it out. Run directly, its tests skip.
#include <gtest/gtest.h>

#include <string>

#include "netns.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (GTEST_FLAG_GET(list_tests) && !test_support::in_loopback_only_netns()) {
    std::string filter = GTEST_FLAG_GET(filter);
    filter += filter.find('-') == std::string::npos ? "-Processes.*" : ":Processes.*";
    GTEST_FLAG_SET(filter, filter);
  }
  return RUN_ALL_TESTS();
}
