#include "seed_list.hpp"

#include <arpa/inet.h>

#include <cluster/sdk/text.hpp>

namespace cluster::plugins {
namespace {

bool is_numeric(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

std::string parse_seed_list(const std::string& text, std::vector<Seed>& out) {
  std::string entry;
  std::vector<std::string> entries;
  for (char c : text) {
    if (c == ',' || c == ' ' || c == '\t') {
      if (!entry.empty()) entries.push_back(entry);
      entry.clear();
    } else {
      entry += c;
    }
  }
  if (!entry.empty()) entries.push_back(entry);
  for (const auto& e : entries) {
    Seed s;
    std::string port;
    if (e.front() == '[') {  // [IPv6]:port
      const auto close = e.find(']');
      if (close == std::string::npos || close + 1 >= e.size() || e[close + 1] != ':')
        return "'" + e + "': write [IPv6]:port";
      s.host = e.substr(1, close - 1);
      port = e.substr(close + 2);
      if (!is_numeric(s.host)) return "'" + e + "': '" + s.host + "' is not an IPv6 address";
    } else {
      const auto colon = e.rfind(':');
      if (colon == std::string::npos || colon == 0) return "'" + e + "' has no port: write host:port, [IPv6]:port";
      if (e.find(':') != colon) return "'" + e + "': an IPv6 address goes in brackets: [" + e.substr(0, colon) + "]:port";
      s.host = e.substr(0, colon);
      port = e.substr(colon + 1);
    }
    const auto n = sdk::text::parse_uint(port, 65535);
    if (!n || *n == 0) return "'" + e + "': the port must be 1-65535";
    if (sdk::text::has_control(s.host)) return "'" + e + "' holds a control character";
    s.port = static_cast<std::uint16_t>(*n);
    s.numeric = is_numeric(s.host);
    out.push_back(std::move(s));
  }
  if (out.empty()) return "no seed: list host:port entries (names, IPv4, [IPv6])";
  return {};
}

}  // namespace cluster::plugins
