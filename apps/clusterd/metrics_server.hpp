// [metrics] and [http]: clusterd's HTTP endpoints, from Poco's HTTP server (its own threads; the
// cluster's state is read through the thread-safe public API). [metrics] listen serves the
// Prometheus text of apps/common/metrics_text.hpp at GET /metrics; [http] listen the status page
// (status_page.hpp) at GET / and its event stream at GET /events. Both off when unset; one
// server serves both when they name the same address. Built into clusterd-http.so, never into
// clusterd itself (http_module.hpp says why).
#pragma once

#include <memory>
#include <string>

#include "http_module.hpp"

namespace Poco {
class ThreadPool;
namespace Net {
class HTTPServer;
}
}  // namespace Poco

namespace clusterd {

class MetricsServer final : public HttpEndpoint {
 public:
  /// Binds `s.bind` and starts serving. Throws std::runtime_error when it cannot bind.
  explicit MetricsServer(const HttpStart& s);
  ~MetricsServer() override;  ///< stops serving and waits for every request in progress to end
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  std::string address() const override;
  struct Shared;  ///< what the request handlers share (metrics_server.cpp)

 private:
  std::shared_ptr<Shared> shared_;
  // Its own pool, so the destructor can wait for the handlers (HTTPServer::stopAll does not):
  // none may read the cluster after the daemon destroyed it.
  std::unique_ptr<Poco::ThreadPool> pool_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace clusterd
