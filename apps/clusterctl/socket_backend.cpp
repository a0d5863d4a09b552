#include "socket_backend.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "control_socket.hpp"
#include "interrupt.hpp"

namespace clusterctl {

using clusterapp::JsonPtr;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kMaxLine = 64 * 1024 * 1024;  // a members list of a huge cluster still fits

JsonPtr parse_answer(const std::string& line) {
  try {
    return clusterapp::parse_object(line);
  } catch (const clusterapp::RequestError& e) {
    throw Unreachable(std::string("bad answer from the daemon: ") + e.what());
  }
}

}  // namespace

SocketBackend::SocketBackend(const std::string& path) : path_(path) {
  std::string error;
  fd_ = clusterapp::connect_control_socket(path, error);
  if (fd_ < 0) throw Unreachable(error);
}

SocketBackend::~SocketBackend() {
  if (fd_ >= 0) ::close(fd_);
}

void SocketBackend::write_line(const std::string& line) {
  std::string data = line + "\n";
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      if (interrupted()) throw Interrupted();
    } else {
      throw Unreachable("cannot write to " + path_ + ": " + std::strerror(errno));
    }
  }
}

bool SocketBackend::read_line(std::string& line, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (const auto nl = buffer_.find('\n'); nl != std::string::npos) {
      line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return true;
    }
    if (buffer_.size() > kMaxLine) throw Unreachable("bad answer from the daemon: line too long");
    int wait_ms = 200;  // wake up now and then to notice an interrupt
    if (timeout.count() >= 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      wait_ms = static_cast<int>(std::min<long long>(left, 200));
    }
    pollfd p{fd_, POLLIN, 0};
    const int rc = ::poll(&p, 1, wait_ms);
    if (interrupted()) throw Interrupted();
    if (rc < 0 && errno != EINTR) throw Unreachable(std::string("poll: ") + std::strerror(errno));
    if (rc <= 0) continue;
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) buffer_.append(buf, static_cast<std::size_t>(n));
    else if (n == 0) throw Unreachable("the daemon closed the connection");
    else if (errno != EINTR && errno != EAGAIN) throw Unreachable("cannot read from " + path_ + ": " + std::strerror(errno));
  }
}

JsonPtr SocketBackend::request(const JsonPtr& req, std::chrono::milliseconds timeout) {
  write_line(clusterapp::to_line(req));
  std::string line;
  if (!read_line(line, timeout))
    throw Unreachable("no answer from the daemon within " + std::to_string(timeout.count()) + " ms");
  return parse_answer(line);
}

void SocketBackend::watch(const std::function<void(const JsonPtr&)>& on_event) {
  JsonPtr req = clusterapp::object();
  req->set("cmd", std::string("watch"));
  JsonPtr first;
  try {
    first = request(req, std::chrono::seconds(10));
  } catch (const Interrupted&) {
    return;
  }
  if (!first->optValue<bool>("ok", false))
    throw CommandFailed("cannot watch: " + first->optValue<std::string>("error", "?"));
  std::string line;
  try {  // Interrupted: a signal, or on_event could not write
    while (read_line(line, std::chrono::milliseconds(-1)))
      if (!line.empty()) on_event(parse_answer(line));
  } catch (const Interrupted&) {
  }
}

}  // namespace clusterctl
