// Test main of cluster_app_tests. The Processes and StatusPageLive suites run real clusterd
// daemons, which multicast: ctest runs each as one test inside a private network namespace
// (netns-run), so test discovery (outside any namespace) leaves them out. Run directly, their
// tests skip.
#include <gtest/gtest.h>

#include <string>

#include "netns.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (GTEST_FLAG_GET(list_tests) && !test_support::in_loopback_only_netns()) {
    std::string filter = GTEST_FLAG_GET(filter);
    filter += filter.find('-') == std::string::npos ? "-Processes.*:StatusPageLive.*" : ":Processes.*:StatusPageLive.*";
    GTEST_FLAG_SET(filter, filter);
  }
  return RUN_ALL_TESTS();
}
