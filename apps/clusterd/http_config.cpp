#include "http_config.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <memory>

#include "cluster/sdk/text.hpp"

namespace clusterd {

bool resolve_listen(const std::string& text, std::string& numeric, std::string& error) {
  std::string host, port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      error = "an IPv6 address needs [ ] and a port: [::1]:9469";
      return false;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.find(':');
    if (colon == std::string::npos) {
      error = "no port";
      return false;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) {
    error = "no host";
    return false;
  }
  if (!cluster::sdk::text::parse_uint(port, 65535)) {
    error = "port '" + port + "' is not a number from 0 to 65535";
    return false;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    error = "cannot resolve '" + host + "': " + ::gai_strerror(rc);
    return false;
  }
  const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(found, &::freeaddrinfo);
  const addrinfo* pick = nullptr;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      pick = a;
      break;
    }
    if (a->ai_family == AF_INET6 && pick == nullptr) pick = a;
  }
  char ip[INET6_ADDRSTRLEN] = {};
  if (pick == nullptr || ::getnameinfo(pick->ai_addr, pick->ai_addrlen, ip, sizeof ip, nullptr, 0, NI_NUMERICHOST) != 0) {
    error = "'" + host + "' has no IPv4 or IPv6 address";
    return false;
  }
  numeric = pick->ai_family == AF_INET6 ? "[" + std::string(ip) + "]:" + port : std::string(ip) + ":" + port;
  return true;
}

MetricsConfig MetricsConfig::from_ini(const cluster::IniFile& ini, const std::string& section) {
  MetricsConfig m;
  const cluster::IniSection* s = ini.section(section);
  if (s == nullptr) return m;
  for (const auto& [key, v] : s->values) {
    if (key != "listen")
      throw cluster::ConfigError(v.where + ": unknown key '" + key + "' in [" + section + "] (known: listen)");
    if (v.value.empty()) continue;  // off
    std::string error;
    if (!resolve_listen(v.value, m.bind, error))
      throw cluster::ConfigError(v.where + ": [" + section + "] listen = '" + v.value +
                                 "' is not HOST:PORT (e.g. 127.0.0.1:9469, [::1]:9469): " + error);
    m.listen = v.value;
    m.where = v.where;
  }
  return m;
}

}  // namespace clusterd
