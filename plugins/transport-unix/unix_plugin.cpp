// The unix transport ("u"): a Unix stream socket at <path_prefix><sid>.sock advertised as
// {path ...}, for members on this host only. Same connection handling as tcp (shared code in
// plugins/common). check() recreates a vanished socket file; peer_lost() removes a lost peer's
// stale file (docs/transports.md).
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>

#include "cluster/sdk.hpp"
#include "net.hpp"
#include "stream_transport.hpp"

namespace {

using cluster::Dict;
using cluster::ServiceInfo;
using cluster::sdk::ConfigKey;
using cluster::sdk::ConfigType;
using cluster::sdk::ConnectionId;
using cluster::sdk::LogLevel;
using cluster::sdk::PluginConfig;
using cluster::sdk::ProtocolHost;
using cluster::sdk::ProtocolTraits;
using cluster::sdk::Result;
using cluster::sdk::SendOptions;
namespace net = cluster::transport;

constexpr ConfigKey kKeys[] = {
    {"path_prefix", ConfigType::string, "/tmp/cluster-",
     "the socket is created at <path_prefix><sid>.sock (a directory prefix must end with '/')"},
    cluster::transport::kMaxPendingBytesKey,
    cluster::transport::kIdleTimeoutKey,
    cluster::transport::kMaxConnectionsKey,
    cluster::transport::kReservedFdsKey,
};

struct UnixConfig {
  std::string path_prefix;
  std::size_t max_pending_bytes = 16u << 20;
  net::StreamLimits limits;
};

Result parse_config(const PluginConfig& cfg, UnixConfig& out) {
  out.path_prefix = cfg.get("path_prefix");
  if (out.path_prefix.empty()) return Result::failure("[unix] path_prefix must not be empty");
  const std::int64_t pending = cfg.get_int("max_pending_bytes");
  if (pending < 1)
    return Result::failure("[unix] max_pending_bytes must be positive, not " + cfg.get("max_pending_bytes"));
  out.max_pending_bytes = static_cast<std::size_t>(pending);
  return net::parse_limits(cfg, "unix", false, out.limits);
}

bool make_unix_address(const std::string& path, sockaddr_un& sun, socklen_t& len) {
  sun = sockaddr_un{};
  sun.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof sun.sun_path) return false;
  std::memcpy(sun.sun_path, path.data(), path.size());
  len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return true;
}

/// A connect on a non-blocking Unix socket never waits: it either connects, is refused (no
/// listener: a stale file), or finds the backlog full (EAGAIN).
int try_connect(const std::string& path, int& fd_out) {
  sockaddr_un sun{};
  socklen_t len = 0;
  if (!make_unix_address(path, sun, len)) return ENAMETOOLONG;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&sun), len) != 0 && errno != EINPROGRESS) {
    const int err = errno;
    net::close_fd(fd);
    return err;
  }
  fd_out = fd;
  return 0;
}

bool is_socket_file(const std::string& path, struct stat* out = nullptr) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
  if (out != nullptr) *out = st;
  return true;
}

class UnixProtocol final : public cluster::sdk::Protocol {
 public:
  explicit UnixProtocol(ProtocolHost& host) : host_(host) {}
  ~UnixProtocol() override { stop(); }

  std::string_view id() const noexcept override { return "u"; }
  ProtocolTraits traits() const noexcept override { return ProtocolTraits{true, false, false}; }

  Result start() noexcept override {
    try {
      if (started_) return Result::failure("unix: already started");
      UnixConfig cfg;
      Result r = parse_config(host_.config(), cfg);
      if (!r) return r;
      const std::string& sid = host_.settings().sid;
      if (sid.empty()) return Result::failure("unix: no sid to name the socket file after");
      if (sid.find('/') != std::string::npos) return Result::failure("unix: sid '" + sid + "' contains '/'");
      path_ = cfg.path_prefix + sid + ".sock";
      conns_ = std::make_unique<net::StreamTransport>(host_, net::StreamOptions{"u", cfg.max_pending_bytes, false, false, cfg.limits});
      r = open_listener();
      if (!r) return r;
      started_ = true;
      host_.log(LogLevel::info, "unix: listening on " + path_);
      return Result::success();
    } catch (const std::exception& e) {
      return Result::failure(std::string("unix: start: ") + e.what());
    } catch (...) {
      return Result::failure("unix: start failed");
    }
  }

  Dict props() const noexcept override {
    try {
      if (!started_) return {};
      return Dict{{"path", path_}};
    } catch (...) {
      return {};
    }
  }

  Result send(const ServiceInfo& peer, std::string_view packet, const SendOptions& options) noexcept override {
    try {
      if (!started_) return Result::failure("unix: not started");
      return conns_->send(peer, packet, options, [&](int& fd, std::string& ip, bool& local, int& /*pending_ms*/) {
        ip.clear();
        local = true;
        const std::string path = peer.prop("u", "path");
        if (path.empty()) return Result::failure("unix: " + peer.uuid + " advertises no u path");
        const int err = try_connect(path, fd);
        if (err != 0) return Result::failure("unix: connect to " + path + ": " + net::errno_text(err));
        return Result::success();
      });
    } catch (const std::exception& e) {
      return Result::failure(std::string("unix: send: ") + e.what());
    } catch (...) {
      return Result::failure("unix: send failed");
    }
  }

  void bind(ConnectionId conn, std::string_view peer_uuid) noexcept override {
    try {
      if (started_) conns_->bind(conn, peer_uuid);
    } catch (...) {
      host_.log(LogLevel::error, "unix: bind failed");
    }
  }

  void close(ConnectionId conn) noexcept override {
    try {
      if (started_) conns_->close(conn);
    } catch (...) {
      host_.log(LogLevel::error, "unix: close failed");
    }
  }

  void peer_lost(const ServiceInfo& peer) noexcept override {
    try {
      if (!started_) return;
      conns_->close_peer(peer.uuid);
      const std::string path = peer.prop("u", "path");
      if (path.empty() || path == path_ || !is_socket_file(path)) return;
      // Only a stale file goes: nobody accepts on it any more. A live socket stays, whoever
      // advertised it (a member wrongly declared lost, or a path that is not a member's at all).
      int fd = -1;
      const int err = try_connect(path, fd);
      net::close_fd(fd);
      if (err != ECONNREFUSED) {
        host_.log(LogLevel::debug, "unix: " + peer.uuid + " lost, but " + path + " is still served; kept");
        return;
      }
      if (::unlink(path.c_str()) == 0)
        host_.log(LogLevel::info, "unix: removed the socket file of lost peer " + peer.uuid + ": " + path);
      else if (errno != ENOENT)
        host_.log(LogLevel::warning, "unix: cannot remove " + path + ": " + net::errno_text(errno));
    } catch (...) {
      host_.log(LogLevel::error, "unix: peer_lost failed");
    }
  }

  void check() noexcept override {
    try {
      if (!started_) return;
      struct stat st{};
      if (::stat(path_.c_str(), &st) == 0 && same_file(st)) return;
      host_.log(LogLevel::warning, "unix: socket file " + path_ + " vanished or was replaced; recreating it");
      recreate();
    } catch (...) {
      host_.log(LogLevel::error, "unix: check failed");
    }
  }

  Result refresh() noexcept override {
    try {
      if (!started_) return Result::failure("unix: not started");
      return recreate();
    } catch (const std::exception& e) {
      return Result::failure(std::string("unix: refresh: ") + e.what());
    } catch (...) {
      return Result::failure("unix: refresh failed");
    }
  }

  void stop() noexcept override {
    if (conns_) conns_->shutdown();
    if (started_) {
      // Remove our file, but not one someone else has put there since.
      struct stat st{};
      if (::lstat(path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && same_file(st))
        ::unlink(path_.c_str());
    }
    started_ = false;
  }

 private:
  Result recreate() {
    conns_->close_listener();
    Result r = open_listener();
    if (!r) {
      host_.log(LogLevel::error, r.message());
      return r;
    }
    host_.props_changed();
    return Result::success();
  }

  /// Binds a fresh listener at path_, replacing a stale socket file there.
  Result open_listener() {
    sockaddr_un sun{};
    socklen_t len = 0;
    if (!make_unix_address(path_, sun, len))
      return Result::failure("unix: socket path too long (max " + std::to_string(sizeof sun.sun_path - 1) +
                             " bytes): " + path_);
    struct stat st{};
    if (::lstat(path_.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) return Result::failure("unix: " + path_ + " exists and is not a socket");
      if (::unlink(path_.c_str()) != 0 && errno != ENOENT)
        return Result::failure("unix: cannot remove stale " + path_ + ": " + net::errno_text(errno));
    }
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return Result::failure("unix: " + net::sys_error("socket"));
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&sun), len) != 0 || ::listen(fd, SOMAXCONN) != 0) {
      Result r = Result::failure("unix: cannot listen on " + path_ + ": " + net::errno_text(errno));
      net::close_fd(fd);
      return r;
    }
    if (::stat(path_.c_str(), &st) != 0) {
      Result r = Result::failure("unix: " + path_ + ": " + net::errno_text(errno));
      net::close_fd(fd);
      return r;
    }
    Result r = conns_->listen(fd);
    if (!r) {
      ::unlink(path_.c_str());
      return r;
    }
    file_ = st;
    return Result::success();
  }

  /// Still the file our listener created? Inode numbers are reused at once on tmpfs, so the
  /// change time must match too.
  bool same_file(const struct stat& st) const noexcept {
    return st.st_dev == file_.st_dev && st.st_ino == file_.st_ino && st.st_ctim.tv_sec == file_.st_ctim.tv_sec &&
           st.st_ctim.tv_nsec == file_.st_ctim.tv_nsec;
  }

  ProtocolHost& host_;
  std::unique_ptr<net::StreamTransport> conns_;
  std::string path_;
  struct stat file_{};  ///< our socket file as created
  bool started_ = false;
};

bool init(cluster::sdk::Registrar& registrar, std::string& error) noexcept {
  try {
    UnixConfig cfg;
    Result r = parse_config(registrar.config(), cfg);
    if (!r) {
      error = r.message();
      return false;
    }
    registrar.add_protocol("u", [](ProtocolHost& host) -> std::unique_ptr<cluster::sdk::Protocol> {
      return std::make_unique<UnixProtocol>(host);
    });
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

CLUSTER_PLUGIN("unix", "1.0.0", "Unix stream socket transport for members on this host (protocol u)", kKeys,
               std::size(kKeys), init, nullptr)
