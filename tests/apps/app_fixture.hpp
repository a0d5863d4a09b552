// Shared pieces of the app tests: members on the in-memory network (tests/unit), a temporary
// folder, and a loop pump.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "memory_cluster.hpp"

namespace clusterapp::test {

using namespace std::chrono_literals;

/// A fresh folder under /tmp, removed at the end. Short, so socket paths fit in sun_path.
class TempDir {
 public:
  TempDir() {
    std::string templ = "/tmp/capp-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// Members on one in-memory network and one loop that the test thread runs.
class MemoryCluster : public cluster::test::MemoryClusterTest {
 protected:
  std::unique_ptr<cluster::Cluster> member(std::vector<std::string> tags, const std::string& ip = "127.0.0.1") {
    return MemoryClusterTest::member(fast(std::move(tags)), ip);
  }
};

}  // namespace clusterapp::test

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <future>
#include <optional>

#include "control_server.hpp"

namespace clusterapp::test {

/// A blocking client of a control socket, for a thread other than the loop's.
class RawClient {
 public:
  explicit RawClient(const std::string& path) {
    std::string error;
    fd_ = connect_control_socket(path, error);
    if (fd_ < 0) throw std::runtime_error(error);
  }
  ~RawClient() { close(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  /// Half-closes: the server sees EOF but may still answer.
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }
  void send(const std::string& bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      off += static_cast<std::size_t>(n);
    }
  }
  /// The next line, or nullopt at EOF or after `timeout`.
  std::optional<std::string> line(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto nl = buf_.find('\n'); nl != std::string::npos) {
        std::string l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return l;
      }
      if (eof_) return std::nullopt;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char b[65536];
      const ssize_t n = ::recv(fd_, b, sizeof b, 0);
      if (n <= 0) eof_ = true;
      else buf_.append(b, static_cast<std::size_t>(n));
    }
  }
  /// Whether the server closed the connection within `timeout` (lines before EOF are skipped).
  bool closed_by_server(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (!line(std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now())) && eof_)
        return true;
    }
    return eof_;
  }

 private:
  int fd_ = -1;
  std::string buf_;
  bool eof_ = false;
};

/// Members on the in-memory network, with a control server on a temporary socket.
class ControlFixture : public MemoryCluster {
 protected:
  TempDir dir;
  std::string path = dir / "ctl.sock";
  std::unique_ptr<ControlServer> server;

  void serve(cluster::Cluster& c, ControlLimits limits = {}) {
    server = std::make_unique<ControlServer>(c, ControlSocket::bind(path), limits);
    server->start();
  }
  /// Runs `fn` on a client thread while this thread runs the loop; returns its result.
  template <class F>
  auto in_client(F fn, std::chrono::milliseconds limit = std::chrono::milliseconds(15000)) -> decltype(fn()) {
    auto f = std::async(std::launch::async, std::move(fn));
    run_until([&] { return f.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready; }, limit);
    if (f.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) {
      ADD_FAILURE() << "client did not finish";
      server.reset();  // closes the connections, so the client returns
    }
    return f.get();
  }
  void TearDown() override { server.reset(); }
};

}  // namespace clusterapp::test
