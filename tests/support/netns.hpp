// Network namespaces of the tests. tests/plugins/netns-run starts a test binary in a private
// network namespace (only lo, up, multicast on, route 224.0.0.0/4 dev lo) and sets
// CLUSTER_NETNS=1; tests that multicast skip without it, so nothing they send leaves the machine.
#pragma once

#include <string>

namespace test_support {

/// CLUSTER_NETNS=1: started through tests/plugins/netns-run.
bool in_private_netns();
/// in_private_netns(), and lo is the only interface (the test added none: no veth, no bridge).
bool in_loopback_only_netns();

/// Runs `cmd` with sh -c; its exit code (128 when a signal ended it, -1 when it could not run).
int run_shell(const std::string& cmd);

}  // namespace test_support
