// clusterd's HTTP endpoints ([metrics], [http]) are a module of their own, clusterd-http.so,
// loaded with Boost.DLL only when one of them is on. They are served by Poco's HTTP server, and
// Poco::Net costs an idle daemon 1.1 MiB resident that it should not pay when both are off
// (docs/benchmarks.md, "The footprint now"). The interface is private to clusterd: the daemon
// and the module come from one build, checked by comparing their build strings at load.
#pragma once

#ifndef BOOST_DLL_USE_STD_FS
#define BOOST_DLL_USE_STD_FS  // std::filesystem: no boost_filesystem to link (STACK-NOTES.md)
#endif
#include <boost/dll/shared_library.hpp>

#include <memory>
#include <string>

#include "cluster/cluster.hpp"
#include "cluster/sdk/plugin.hpp"
#include "membership_tally.hpp"

namespace clusterd {

/// What one server answers.
struct HttpRoutes {
  bool metrics = false;  ///< GET /metrics
  bool page = false;     ///< GET / and GET /events
};

/// One running server. Destroying it stops serving and waits for every request in progress.
class HttpEndpoint {
 public:
  virtual ~HttpEndpoint() = default;
  /// The bound address ("127.0.0.1:9469"; the real port when 0 was asked).
  virtual std::string address() const = 0;
};

/// What the daemon hands the module to start one server. `tally` may be null; it and the
/// cluster must outlive the server.
struct HttpStart {
  cluster::Cluster* cluster = nullptr;
  std::string bind;  ///< numeric HOST:PORT (http_config.hpp)
  std::string version;
  const MembershipTally* tally = nullptr;
  HttpRoutes routes;
};

/// The module's two exported symbols. The start function returns null and sets `error` when it
/// cannot bind; it never throws across the module boundary.
using HttpStartFunction = HttpEndpoint*(const HttpStart& start, std::string& error);
using HttpBuildFunction = const char*();
inline constexpr const char* kHttpStartSymbol = "clusterd_http_start";
inline constexpr const char* kHttpBuildSymbol = "clusterd_http_build";
inline constexpr const char* kHttpModuleFile = "clusterd-http.so";
/// What both sides must agree on: the version and the standard library / sanitizer setting.
inline constexpr const char* kHttpBuild = CLUSTER_VERSION " " CLUSTER_SDK_BUILD_KEY;

/// The loaded module (daemon side). Must outlive every endpoint it started.
class HttpModule {
 public:
  /// Loads clusterd-http.so from beside the clusterd binary (a build tree), else from
  /// <dir of libcluster>/cluster/ (an installed tree). Throws std::runtime_error naming the
  /// places tried and why each failed.
  HttpModule();
  /// Starts one server. Throws std::runtime_error("listen = ...: reason") when it cannot bind.
  std::unique_ptr<HttpEndpoint> start(const HttpStart& s, const std::string& listen_as_written);
  const std::string& path() const noexcept { return path_; }

 private:
  boost::dll::shared_library library_;
  std::string path_;
};

}  // namespace clusterd
