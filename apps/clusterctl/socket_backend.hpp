// Talks to a running clusterd over its control socket.
#pragma once

#include <string>

#include "backend.hpp"

namespace clusterctl {

class SocketBackend final : public Backend {
 public:
  /// Connects. Throws Unreachable "cannot connect to PATH: reason".
  explicit SocketBackend(const std::string& path);
  ~SocketBackend() override;
  SocketBackend(const SocketBackend&) = delete;
  SocketBackend& operator=(const SocketBackend&) = delete;

  clusterapp::JsonPtr request(const clusterapp::JsonPtr& req, std::chrono::milliseconds timeout) override;
  void watch(const std::function<void(const clusterapp::JsonPtr&)>& on_event) override;

 private:
  void write_line(const std::string& line);
  /// The next line; waits at most `timeout` (negative: forever) and returns false on timeout.
  bool read_line(std::string& line, std::chrono::milliseconds timeout);

  int fd_ = -1;
  std::string path_;
  std::string buffer_;
};

}  // namespace clusterctl
