// `clusterctl packet encode|decode`: operator tools for looking at bpacket traffic.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace clusterctl {

/// Runs `packet <args>`; returns the process exit code. Errors go to `err` as one line.
int run_packet(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
               std::ostream& err);

}  // namespace clusterctl
