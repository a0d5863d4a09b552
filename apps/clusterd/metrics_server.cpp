#include "metrics_server.hpp"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>
#include <Poco/Timespan.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "metrics_text.hpp"
#include "status_page.hpp"

namespace clusterd {

/// What the handlers share with the server: the routes, and a flag that ends event streams.
struct MetricsServer::Shared {
  cluster::Cluster& c;
  std::string version;
  const MembershipTally* tally;
  HttpRoutes routes;
  std::atomic<bool> stopping{false};
  std::atomic<int> streams{0};
  Shared(cluster::Cluster& cl, std::string v, const MembershipTally* t, HttpRoutes r)
      : c(cl), version(std::move(v)), tally(t), routes(r) {}
};

namespace {

using Poco::Net::HTTPResponse;
/// Event streams at once; each holds a server thread.
constexpr int kMaxStreams = 4;

class Handler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(std::shared_ptr<MetricsServer::Shared> s) : s_(std::move(s)) {}
  void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) override {
    const std::string& uri = req.getURI();
    const bool get = req.getMethod() == "GET" || req.getMethod() == "HEAD";
    if (get && s_->routes.metrics && uri == "/metrics") return metrics(req, res);
    if (get && s_->routes.page && uri == "/") return text(req, res, "text/html; charset=utf-8", status_page_html(s_->c, s_->tally));
    if (get && s_->routes.page && uri == "/events") return events(res);
    res.setStatusAndReason(HTTPResponse::HTTP_NOT_FOUND);
    res.setContentType("text/plain");
    res.send() << "not found\n";
  }

 private:
  static void text(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res, const char* type,
                   const std::string& body) {
    res.setContentType(type);
    res.setContentLength(static_cast<std::streamsize>(body.size()));
    if (req.getMethod() == "HEAD") {
      res.send();
      return;
    }
    res.send() << body;
  }
  void metrics(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) {
    clusterapp::MetricsSnapshot s;
    s.counters = s_->c.counters();
    s.stats = s_->c.stats();
    for (const auto& m : s_->c.services()) {
      ++s.members;
      if (m->local()) ++s.local_members;
    }
    s.version = s_->version;
    s.uuid = s_->c.uuid();
    if (s_->tally != nullptr) {
      s.discovered = s_->tally->discovered();
      s.lost = s_->tally->lost();
    }
    text(req, res, "text/plain; version=0.0.4; charset=utf-8", clusterapp::prometheus_text(s));
  }
  // Server-sent events: a snapshot now and every second, until the client goes or we stop.
  void events(Poco::Net::HTTPServerResponse& res) {
    const StreamSlot slot(s_->streams);  // given back on every exit, exceptions included
    if (slot.over(kMaxStreams)) {
      res.setStatusAndReason(HTTPResponse::HTTP_SERVICE_UNAVAILABLE);
      res.send() << "too many event streams\n";
      return;
    }
    res.setContentType("text/event-stream");
    res.set("Cache-Control", "no-cache");
    std::ostream& out = res.send();
    while (!s_->stopping && out) {
      out << "data: " << status_snapshot_json(s_->c, s_->tally) << "\n\n";
      out.flush();
      for (int i = 0; i < 20 && !s_->stopping; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  /// One event stream counted in `n` for as long as it lives.
  class StreamSlot {
   public:
    explicit StreamSlot(std::atomic<int>& n) noexcept : n_(n), mine_(++n) {}
    ~StreamSlot() { --n_; }
    StreamSlot(const StreamSlot&) = delete;
    StreamSlot& operator=(const StreamSlot&) = delete;
    bool over(int limit) const noexcept { return mine_ > limit; }

   private:
    std::atomic<int>& n_;
    int mine_;
  };
  std::shared_ptr<MetricsServer::Shared> s_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(std::shared_ptr<MetricsServer::Shared> s) : s_(std::move(s)) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler(s_);
  }

 private:
  std::shared_ptr<MetricsServer::Shared> s_;
};

}  // namespace

MetricsServer::MetricsServer(const HttpStart& s)
    : shared_(std::make_shared<Shared>(*s.cluster, s.version, s.tally, s.routes)) {
  try {
    // Not ServerSocket(address, backlog): it sets SO_REUSEPORT, and a second daemon (or our
    // other server) on the same port would share it instead of failing.
    Poco::Net::ServerSocket socket;
    socket.bind(Poco::Net::SocketAddress(s.bind), /*reuseAddress=*/true, /*reusePort=*/false);
    socket.listen(64);
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(2 + kMaxStreams);  // scrapes and the page beside the event streams
    params->setMaxQueued(16);
    params->setKeepAlive(false);
    params->setTimeout(Poco::Timespan(5, 0));  // a silent client holds a thread 5 s at most
    pool_ = std::make_unique<Poco::ThreadPool>(1, 2 + kMaxStreams + 1);  // + the dispatcher
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(shared_), *pool_, socket, params);
    server_->start();
  } catch (const Poco::Exception& e) {
    throw std::runtime_error(e.displayText());
  }
}

MetricsServer::~MetricsServer() {
  shared_->stopping = true;  // event streams end within 50 ms
  if (server_) server_->stopAll(true);  // closes the connections; does not wait for handlers
  if (pool_) pool_->joinAll();
}

std::string MetricsServer::address() const { return server_ ? server_->socket().address().toString() : ""; }

}  // namespace clusterd

// The module's entry points (http_module.hpp): C names, and no exception crosses them.
extern "C" __attribute__((visibility("default"))) const char* clusterd_http_build() { return clusterd::kHttpBuild; }

extern "C" __attribute__((visibility("default"))) clusterd::HttpEndpoint* clusterd_http_start(
    const clusterd::HttpStart& start, std::string& error) {
  try {
    return new clusterd::MetricsServer(start);
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "unknown error";
  }
  return nullptr;
}
