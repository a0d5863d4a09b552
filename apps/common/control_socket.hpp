// The daemon's control socket file: a Unix stream socket only its owner may use.
#pragma once

#include <sys/types.h>

#include <stdexcept>
#include <string>

namespace clusterapp {

/// Why the control socket could not be made; what() is "PATH: reason".
class ControlSocketError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A listening, non-blocking Unix stream socket bound at a path. Closing it removes the socket
/// file, unless the file is no longer the one we bound.
class ControlSocket {
 public:
  /// Creates the socket's directory when missing (mode 0700; existing folders are left alone).
  /// An existing socket file where a process answers is busy (ControlSocketError "...: another
  /// daemon is serving this socket"); one where nobody answers is stale and replaced. The socket
  /// file gets mode 0600.
  static ControlSocket bind(const std::string& path);

  ControlSocket() = default;
  ControlSocket(ControlSocket&& o) noexcept;
  ControlSocket& operator=(ControlSocket&& o) noexcept;
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;
  ~ControlSocket();

  int fd() const noexcept { return fd_; }
  const std::string& path() const noexcept { return path_; }
  /// Closes the socket and removes its file. Idempotent.
  void close() noexcept;

 private:
  int fd_ = -1;
  std::string path_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

/// Connects to the control socket at `path` (a blocking fd, close-on-exec). Returns -1 and sets
/// `error` to a one-line reason when nobody answers there.
int connect_control_socket(const std::string& path, std::string& error);

}  // namespace clusterapp
