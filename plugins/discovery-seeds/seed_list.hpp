// Parsing the [seeds] list: "host:port" entries (an IPv4 address, a name, or [IPv6]).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cluster::plugins {

struct Seed {
  std::string host;        ///< an address or a name, without brackets
  std::uint16_t port = 0;
  bool numeric = false;    ///< an IPv4 or IPv6 address: no lookup needed
};

/// Parses a comma- or space-separated list. Returns "" and fills `out`, or what is wrong with
/// the first bad entry ("'x' has no port: write host:port, [IPv6]:port").
std::string parse_seed_list(const std::string& text, std::vector<Seed>& out);

}  // namespace cluster::plugins
