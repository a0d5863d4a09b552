#include "control_server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace clusterapp {

namespace sdk = cluster::sdk;

ControlServer::ControlServer(cluster::Cluster& c, ControlSocket socket, ControlLimits limits)
    : cluster_(c), socket_(std::move(socket)), limits_(limits), path_(socket_.path()) {}

ControlServer::~ControlServer() { stop(); }

void ControlServer::start() {
  if (watch_id_ != 0 || socket_.fd() < 0) return;
  watch_id_ = cluster_.loop().watch(socket_.fd(), sdk::readable, [this](std::uint32_t) { accept_some(); });
}

void ControlServer::stop() noexcept {
  if (watch_id_ != 0) cluster_.loop().unwatch(watch_id_);
  watch_id_ = 0;
  if (retry_timer_ != 0) cluster_.loop().cancel(retry_timer_);
  retry_timer_ = 0;
  auto clients = std::move(connections_);
  connections_.clear();
  for (auto& [ptr, conn] : clients) conn->close();
  socket_.close();
}

void ControlServer::note(const std::string& message) {
  if (on_log) on_log(message);
}

void ControlServer::accept_some() {
  for (int i = 0; i < 16; ++i) {
    const int fd = ::accept4(socket_.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      // Out of descriptors: pause accepting for a moment instead of spinning on the socket.
      note(std::string("control socket: accept failed: ") + std::strerror(errno));
      cluster_.loop().modify(watch_id_, 0);
      retry_timer_ = cluster_.loop().after(std::chrono::milliseconds(200), [this] {
        retry_timer_ = 0;
        if (watch_id_ != 0) cluster_.loop().modify(watch_id_, sdk::readable);
      });
      return;
    }
    if (connections_.size() >= limits_.max_connections) {
      const std::string line = to_line(error_object("too many control connections")) + "\n";
      (void)!::send(fd, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      note("control socket: refused a client (too many connections)");
      continue;
    }
    auto conn = std::make_shared<ControlConnection>(cluster_, fd, limits_, [this](ControlConnection* c) {
      connections_.erase(c);
    });
    connections_.emplace(conn.get(), conn);
    conn->start();
  }
}

}  // namespace clusterapp
