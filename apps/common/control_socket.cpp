#include "control_socket.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace clusterapp {

namespace {

std::string errno_text(int e) { return std::strerror(e); }

sockaddr_un address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.empty()) throw ControlSocketError("control socket path is empty");
  if (path.size() >= sizeof a.sun_path)
    throw ControlSocketError(path + ": path too long for a Unix socket (at most " +
                             std::to_string(sizeof a.sun_path - 1) + " bytes)");
  std::memcpy(a.sun_path, path.data(), path.size());
  return a;
}

// Creates the missing folders of `dir`, each with mode 0700.
void make_dirs(const std::string& dir) {
  if (dir.empty()) return;
  struct stat st{};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) throw ControlSocketError(dir + ": exists and is not a directory");
    return;
  }
  if (errno != ENOENT) throw ControlSocketError(dir + ": " + errno_text(errno));
  const auto slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0) make_dirs(dir.substr(0, slash));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw ControlSocketError(dir + ": cannot create the directory: " + errno_text(errno));
  ::chmod(dir.c_str(), 0700);
}

// Whether a process accepts connections on the socket file at `path`.
bool answers(const sockaddr_un& a, const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw ControlSocketError(path + ": socket: " + errno_text(errno));
  const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  const int e = errno;
  ::close(fd);
  if (rc == 0 || e == EAGAIN || e == EINPROGRESS) return true;  // EAGAIN: backlog full, alive
  if (e == ECONNREFUSED || e == ENOENT) return false;
  throw ControlSocketError(path + ": cannot check the existing socket: " + errno_text(e));
}

}  // namespace

ControlSocket ControlSocket::bind(const std::string& path) {
  const sockaddr_un a = address(path);
  const auto slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) make_dirs(path.substr(0, slash));

  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) throw ControlSocketError(path + ": exists and is not a socket");
    if (answers(a, path)) throw ControlSocketError(path + ": another daemon is serving this socket");
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      throw ControlSocketError(path + ": cannot remove the stale socket: " + errno_text(errno));
  }

  ControlSocket s;
  s.fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s.fd_ < 0) throw ControlSocketError(path + ": socket: " + errno_text(errno));
  // Owner-only from the start: no moment where others could connect.
  const mode_t old = ::umask(0177);
  const int rc = ::bind(s.fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  const int e = errno;
  ::umask(old);
  if (rc != 0) {
    if (e == EADDRINUSE) throw ControlSocketError(path + ": another daemon is serving this socket");
    throw ControlSocketError(path + ": cannot bind: " + errno_text(e));
  }
  s.path_ = path;
  ::chmod(path.c_str(), 0600);
  if (::stat(path.c_str(), &st) == 0) {
    s.dev_ = st.st_dev;
    s.ino_ = st.st_ino;
  }
  if (::listen(s.fd_, 64) != 0) throw ControlSocketError(path + ": cannot listen: " + errno_text(errno));
  return s;
}

ControlSocket::ControlSocket(ControlSocket&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)), dev_(o.dev_), ino_(o.ino_) {
  o.path_.clear();
}

ControlSocket& ControlSocket::operator=(ControlSocket&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = std::exchange(o.fd_, -1);
    path_ = std::move(o.path_);
    o.path_.clear();
    dev_ = o.dev_;
    ino_ = o.ino_;
  }
  return *this;
}

ControlSocket::~ControlSocket() { close(); }

void ControlSocket::close() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!path_.empty()) {
    struct stat st{};
    // Only our own file: a newer daemon may have replaced it.
    if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) ::unlink(path_.c_str());
    path_.clear();
  }
}

int connect_control_socket(const std::string& path, std::string& error) {
  sockaddr_un a{};
  try {
    a = address(path);
  } catch (const ControlSocketError& e) {
    error = e.what();
    return -1;
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = "socket: " + errno_text(errno);
    return -1;
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    const int e = errno;
    ::close(fd);
    error = "cannot connect to " + path + ": " + errno_text(e) +
            (e == ENOENT || e == ECONNREFUSED ? " (is clusterd running?)" : "");
    return -1;
  }
  return fd;
}

}  // namespace clusterapp
