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

#include <stdexcept>

#include "metrics_text.hpp"

namespace clusterd {
namespace {

using Poco::Net::HTTPResponse;

class MetricsHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  MetricsHandler(cluster::Cluster& c, const std::string& version, const MembershipTally* tally)
      : c_(c), version_(version), tally_(tally) {}
  void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) override {
    if (req.getURI() != "/metrics" || (req.getMethod() != "GET" && req.getMethod() != "HEAD")) {
      res.setStatusAndReason(HTTPResponse::HTTP_NOT_FOUND);
      res.setContentType("text/plain");
      res.send() << "not found: metrics are at GET /metrics\n";
      return;
    }
    clusterapp::MetricsSnapshot s;
    s.counters = c_.counters();
    for (const auto& m : c_.services()) {
      ++s.members;
      if (m->local()) ++s.local_members;
    }
    s.version = version_;
    s.uuid = c_.uuid();
    if (tally_ != nullptr) {
      s.discovered = tally_->discovered();
      s.lost = tally_->lost();
    }
    const std::string text = clusterapp::prometheus_text(s);
    res.setContentType("text/plain; version=0.0.4; charset=utf-8");
    res.setContentLength(static_cast<std::streamsize>(text.size()));
    if (req.getMethod() == "HEAD") {
      res.send();
      return;
    }
    res.send() << text;
  }

 private:
  cluster::Cluster& c_;
  const std::string& version_;
  const MembershipTally* tally_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(cluster::Cluster& c, std::string version, const MembershipTally* tally)
      : c_(c), version_(std::move(version)), tally_(tally) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new MetricsHandler(c_, version_, tally_);
  }

 private:
  cluster::Cluster& c_;
  std::string version_;
  const MembershipTally* tally_;
};

}  // namespace

MetricsConfig MetricsConfig::from_ini(const cluster::IniFile& ini) {
  MetricsConfig m;
  const cluster::IniSection* s = ini.section("metrics");
  if (s == nullptr) return m;
  for (const auto& [key, v] : s->values) {
    if (key != "listen")
      throw cluster::ConfigError(v.where + ": unknown key '" + key + "' in [metrics] (known: listen)");
    if (v.value.empty()) continue;  // off
    try {
      const Poco::Net::SocketAddress a(v.value);
      (void)a;
    } catch (const Poco::Exception& e) {
      throw cluster::ConfigError(v.where + ": [metrics] listen = '" + v.value +
                                 "' is not HOST:PORT (e.g. 127.0.0.1:9469, [::1]:9469): " + e.displayText());
    }
    m.listen = v.value;
    m.where = v.where;
  }
  return m;
}

MetricsServer::MetricsServer(cluster::Cluster& c, const std::string& listen, std::string version,
                             const MembershipTally* tally) {
  try {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress(listen), 64);
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(2);  // a scrape a few times a minute: no pool of 16 threads
    params->setMaxQueued(16);
    params->setKeepAlive(false);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(c, std::move(version), tally), socket, params);
    server_->start();
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("[metrics] listen = " + listen + ": " + e.displayText());
  }
}

MetricsServer::~MetricsServer() {
  if (server_) server_->stopAll(true);
}

std::string MetricsServer::address() const { return server_ ? server_->socket().address().toString() : ""; }

}  // namespace clusterd
