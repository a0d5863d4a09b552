// clusterctl: the operator's tool. Talks to clusterd's control socket (or joins the cluster
// itself with --join); `packet` looks at bpacket bytes. See docs/cli.md.
#include <iostream>
#include <string>
#include <vector>

#include "cli.hpp"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  return clusterctl::run(std::vector<std::string>(argv + 1, argv + argc), std::cin, std::cout, std::cerr);
}
