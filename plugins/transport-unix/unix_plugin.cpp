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
#include "stream_protocol.hpp"

namespace {

using cluster::Dict;
using cluster::ServiceInfo;
using cluster::sdk::ConfigKey;
using cluster::sdk::ConfigType;
using cluster::sdk::LogLevel;
using cluster::sdk::PluginConfig;
using cluster::sdk::ProtocolHost;
using cluster::sdk::ProtocolTraits;
using cluster::sdk::Result;
namespace net = cluster::transport;

constexpr ConfigKey kKeys[] = {
    {"path_prefix", ConfigType::string, "/tmp/cluster-",
     "the socket is created at <path_prefix><sid>.sock (a directory prefix must end with '/')"},
    cluster::transport::kMaxPendingBytesKey,
    cluster::transport::kIdleTimeoutKey,
    cluster::transport::kMaxConnectionsKey,
    cluster::transport::kReservedFdsKey,
};

constexpr cluster::sdk::ConfigRange kRanges[] = {
    cluster::transport::kMaxPendingBytesRange,
    cluster::transport::kIdleTimeoutRange,
    cluster::transport::kMaxConnectionsRange,
    cluster::transport::kReservedFdsRange,
};

/// The [unix] section, parsed once at init (the host kept every integer in its range).
struct UnixConfig {
  std::string path_prefix;
  net::StreamConfig stream;
};

Result parse_config(const PluginConfig& cfg, UnixConfig& out) {
  out.path_prefix = cfg.get("path_prefix");
  if (out.path_prefix.empty()) return Result::failure("[unix] path_prefix must not be empty");
  out.stream = net::parse_stream_config(cfg, false);
  return Result::success();
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

class UnixProtocol final : public net::StreamProtocol {
 public:
  UnixProtocol(ProtocolHost& host, const UnixConfig& cfg)
      : StreamProtocol(host, {"u", "unix", ProtocolTraits{true, false, false}, false, false}, cfg.stream),
        cfg_(cfg) {}
  ~UnixProtocol() override { stop(); }

 private:
  Result prepare() override {
    const std::string& sid = host().settings().sid;
    if (sid.empty()) return Result::failure("unix: no sid to name the socket file after");
    if (sid.find('/') != std::string::npos) return Result::failure("unix: sid '" + sid + "' contains '/'");
    path_ = cfg_.path_prefix + sid + ".sock";
    return Result::success();
  }

  bool listener_ok(std::string& problem) override {
    struct stat st{};
    if (::stat(path_.c_str(), &st) == 0 && same_file(st)) return true;
    problem = "unix: socket file " + path_ + " vanished or was replaced; recreating it";
    return false;
  }

  Result replace_listener() override {
    transport().close_listener();
    Result r = open_listener();
    if (!r) host().log(LogLevel::error, r.message());
    return r;
  }

  Dict listener_props() const override { return Dict{{"path", path_}}; }
  std::string listener_address() const override { return path_; }

  /// A connect on a non-blocking Unix socket never waits (pending_ms stays 0).
  Result connect(const ServiceInfo& peer, int& fd, std::string& ip, bool& local, int& /*pending_ms*/) override {
    ip.clear();
    local = true;
    const std::string path = peer.prop("u", "path");
    if (path.empty()) return Result::failure("unix: " + peer.uuid + " advertises no u path");
    const int err = try_connect(path, fd);
    if (err != 0) return Result::failure("unix: connect to " + path + ": " + net::errno_text(err));
    return Result::success();
  }

  /// Removes a lost peer's socket file, but only a stale one: nobody accepts on it any more. A
  /// live socket stays, whoever advertised it (a member wrongly declared lost, or a path that is
  /// not a member's at all).
  void forget(const ServiceInfo& peer) override {
    const std::string path = peer.prop("u", "path");
    if (path.empty() || path == path_ || !is_socket_file(path)) return;
    int fd = -1;
    const int err = try_connect(path, fd);
    net::close_fd(fd);
    if (err != ECONNREFUSED) {
      host().log(LogLevel::debug, "unix: " + peer.uuid + " lost, but " + path + " is still served; kept");
      return;
    }
    if (::unlink(path.c_str()) == 0)
      host().log(LogLevel::info, "unix: removed the socket file of lost peer " + peer.uuid + ": " + path);
    else if (errno != ENOENT)
      host().log(LogLevel::warning, "unix: cannot remove " + path + ": " + net::errno_text(errno));
  }

  /// Removes our file, but not one someone else has put there since.
  void stopped() noexcept override {
    struct stat st{};
    if (::lstat(path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && same_file(st)) ::unlink(path_.c_str());
  }

  /// Binds a fresh listener at path_, replacing a stale socket file there.
  Result open_listener() override {
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
    Result r = listen(fd);
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

  UnixConfig cfg_;
  std::string path_;
  struct stat file_{};  ///< our socket file as created
};

bool init(cluster::sdk::Registrar& registrar, std::string& error) noexcept {
  return cluster::sdk::guard_init("unix", error, [&] {
    UnixConfig cfg;
    Result r = parse_config(registrar.config(), cfg);
    if (!r) return r;
    registrar.add_protocol("u", cluster::sdk::protocol_factory<UnixProtocol>(cfg));
    return Result::success();
  });
}

}  // namespace

CLUSTER_PLUGIN_RANGED("unix", "1.0.0", "Unix stream socket transport for members on this host (protocol u)", kKeys,
                      std::size(kKeys), kRanges, std::size(kRanges), init, nullptr)
