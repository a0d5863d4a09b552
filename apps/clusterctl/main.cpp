// clusterctl: the operator's tool.
#include <iostream>
#include <string>
#include <vector>

#include "packet_command.hpp"

namespace {

constexpr const char* kUsage =
    "usage: clusterctl COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  packet decode|encode   look at bpacket bytes (see clusterctl packet --help)\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return 0;
  }
  std::ios::sync_with_stdio(false);
  if (args[0] == "packet") return clusterctl::run_packet(args, std::cin, std::cout, std::cerr);
  std::cerr << "clusterctl: unknown command '" << args[0] << "'\n" << kUsage;
  return 2;
}
