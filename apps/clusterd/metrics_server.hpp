// [metrics] and [http]: clusterd's HTTP endpoints, from Poco's HTTP server (its own threads; the
// cluster's state is read through the thread-safe public API). [metrics] listen serves the
// Prometheus text of apps/common/metrics_text.hpp at GET /metrics; [http] listen the status page
// (status_page.hpp) at GET / and its event stream at GET /events. Both off when unset; one
// server serves both when they name the same address.
#pragma once

#include <memory>
#include <string>

#include "cluster/cluster.hpp"
#include "cluster/ini.hpp"
#include "membership_tally.hpp"

namespace Poco {
class ThreadPool;
namespace Net {
class HTTPServer;
}
}  // namespace Poco

namespace clusterd {

struct MetricsConfig {
  std::string listen;  ///< "" = off
  std::string where;   ///< file:line of the key

  /// Reads [section] ("metrics" or "http"). Throws cluster::ConfigError "file:line: reason" for
  /// an unknown key or a listen value that is not HOST:PORT (numeric host, or a name that
  /// resolves; IPv6 in [ ]).
  static MetricsConfig from_ini(const cluster::IniFile& ini, const std::string& section = "metrics");
};

/// What one server answers.
struct HttpRoutes {
  bool metrics = false;  ///< GET /metrics
  bool page = false;     ///< GET / and GET /events
};

class MetricsServer {
 public:
  /// Binds `listen` and starts serving. Throws std::runtime_error when it cannot bind.
  /// `tally` (may be null) must outlive the server.
  MetricsServer(cluster::Cluster& c, const std::string& listen, std::string version,
                const MembershipTally* tally = nullptr, HttpRoutes routes = {true, false});
  ~MetricsServer();  ///< stops serving and waits for every request in progress to end
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  /// The bound address ("127.0.0.1:9469"; the real port when 0 was asked).
  std::string address() const;
  struct Shared;  ///< what the request handlers share (metrics_server.cpp)

 private:
  std::shared_ptr<Shared> shared_;
  // Its own pool, so the destructor can wait for the handlers (HTTPServer::stopAll does not):
  // none may read the cluster after the daemon destroyed it.
  std::unique_ptr<Poco::ThreadPool> pool_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace clusterd
