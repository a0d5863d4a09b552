// The daemon's control server: accepts clients on the control socket and serves them on the
// cluster's own loop (every callback is short and never blocks).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "cluster/cluster.hpp"
#include "control_connection.hpp"
#include "control_socket.hpp"

namespace clusterapp {

class ControlServer {
 public:
  ControlServer(cluster::Cluster& c, ControlSocket socket, ControlLimits limits = {});
  ~ControlServer();  ///< stop()
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  /// Starts accepting. Call on the loop thread (or before the loop runs).
  void start();
  /// Closes every client and the socket, removing its file. Loop thread (or loop stopped).
  void stop() noexcept;

  const std::string& path() const noexcept { return path_; }
  std::size_t connections() const noexcept { return connections_.size(); }
  /// Receives one-line notes worth logging (accept failures, refused clients).
  std::function<void(const std::string&)> on_log;

 private:
  void accept_some();
  void note(const std::string& message);

  cluster::Cluster& cluster_;
  ControlSocket socket_;
  ControlLimits limits_;
  std::string path_;
  std::uint64_t watch_id_ = 0;
  std::uint64_t retry_timer_ = 0;
  std::map<ControlConnection*, std::shared_ptr<ControlConnection>> connections_;
};

}  // namespace clusterapp
