// [metrics] and [http]: where clusterd's HTTP endpoints listen. Read and resolved here, in the
// daemon, with getaddrinfo: the endpoints themselves live in clusterd-http.so (http_module.hpp),
// which is loaded only when one of them is on, so a bad address is still a config error at load.
#pragma once

#include <string>

#include "cluster/ini.hpp"

namespace clusterd {

struct MetricsConfig {
  std::string listen;  ///< as written; "" = off
  std::string bind;    ///< the address it resolved to, numeric: "127.0.0.1:9469", "[::1]:0"
  std::string where;   ///< file:line of the key

  /// Reads [section] ("metrics" or "http"). Throws cluster::ConfigError "file:line: reason" for
  /// an unknown key or a listen value that is not HOST:PORT (numeric host, or a name that
  /// resolves; IPv6 in [ ]; a numeric port 0-65535).
  static MetricsConfig from_ini(const cluster::IniFile& ini, const std::string& section = "metrics");
};

/// Resolves "HOST:PORT" to its numeric form ("localhost:80" -> "127.0.0.1:80"): the first IPv4
/// address of the name, else its first IPv6 one, as Poco's SocketAddress picks. Two spellings of
/// one address resolve alike, so clusterd can tell that [metrics] and [http] share a server.
/// Returns false and the reason in `error` when it cannot.
bool resolve_listen(const std::string& text, std::string& numeric, std::string& error);

}  // namespace clusterd
