// End-to-end harness for transport plugins: loads a plugin .so with cluster::PluginManager,
// creates protocol instances over one cluster::EventLoop, each with a recording ProtocolHost
// that reassembles what it receives into whole bpackets (datagrams and streams alike), and
// runs the loop until a condition holds or a deadline passes. Nothing here runs unbounded.
#pragma once

#include <gtest/gtest.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/bpacket/frame.hpp"
#include "cluster/bpacket/writer.hpp"
#include "cluster/event_loop.hpp"
#include "cluster/ini.hpp"
#include "cluster/plugin_manager.hpp"
#include "cluster/sdk.hpp"
#include "netns.hpp"

#ifndef CLUSTER_PLUGIN_DIR
#error "CLUSTER_PLUGIN_DIR must name the build's plugin directory"
#endif

namespace cluster::test {

using namespace std::chrono_literals;

inline std::string plugin_path(std::string_view name) {
  return std::string(CLUSTER_PLUGIN_DIR) + "/cluster-" + std::string(name) + ".so";
}

/// True inside tests/plugins/netns-run: a private network namespace whose only interface is lo.
/// Multicast tests run only there, so nothing they send can leave the machine.
inline bool in_private_netns() { return test_support::in_loopback_only_netns(); }

/// A framed bpacket carrying sid (field 4) and data (field 10).
inline std::string make_packet(std::string_view sid, std::string_view data) {
  std::string out;
  bpacket::Writer w(out);
  w.string(static_cast<std::uint32_t>(FieldId::sid), sid).string(static_cast<std::uint32_t>(FieldId::data), data);
  w.finish();
  return out;
}

/// A payload of `size` bytes that differs at every position modulo a prime (catches reordering).
inline std::string pattern(std::size_t size, unsigned seed = 0) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 131u + seed * 7u) % 251u);
  return s;
}

struct Received {
  std::string packet;  ///< one whole framed packet
  sdk::Origin origin;
};

/// A ProtocolHost that records everything the protocol tells it.
class TestHost final : public sdk::ProtocolHost {
 public:
  TestHost(EventLoop& loop, sdk::ClusterSettings settings, const sdk::PluginConfig& config)
      : loop_(loop), settings_(std::move(settings)), config_(config) {}

  sdk::EventLoop& loop() noexcept override { return loop_; }
  void log(sdk::LogLevel level, std::string_view message) noexcept override {
    logs.emplace_back(level, std::string(message));
    if (std::getenv("CLUSTER_TEST_VERBOSE") != nullptr)
      std::fprintf(stderr, "[%s] %.*s\n", settings_.sid.c_str(), static_cast<int>(message.size()), message.data());
  }
  const sdk::ClusterSettings& settings() const noexcept override { return settings_; }
  const sdk::PluginConfig& config() const noexcept override { return config_; }

  void received(std::string_view bytes, const sdk::Origin& origin) noexcept override {
    ++chunk_count;
    chunk_bytes += bytes.size();
    in_received = true;
    auto on_frame = [&](const bpacket::Frame& f) {
      packets.push_back({std::string(f.packet), origin});
      if (on_packet) on_packet(packets.back());
    };
    if (origin.conn == 0) {
      ++datagrams;
      bpacket::for_each_frame(bytes, bpacket::kDatagramLimit, on_frame);
    } else {
      decoders[origin.conn].feed(bytes, on_frame);
    }
    in_received = false;
  }
  void connection_closed(sdk::ConnectionId conn) noexcept override {
    if (in_received) ++reentrant_closed;
    closed.push_back(conn);
    decoders.erase(conn);
  }
  void props_changed() noexcept override { ++props_changed_count; }
  void count(sdk::StreamGuard what) noexcept override { ++guards[what]; }

  bool was_closed(sdk::ConnectionId conn) const {
    return std::find(closed.begin(), closed.end(), conn) != closed.end();
  }

  std::vector<Received> packets;
  std::vector<sdk::ConnectionId> closed;
  std::vector<std::pair<sdk::LogLevel, std::string>> logs;
  int props_changed_count = 0;
  std::map<sdk::StreamGuard, int> guards;  ///< what the transport's limits refused or closed
  std::size_t chunk_count = 0, chunk_bytes = 0, datagrams = 0;
  int reentrant_closed = 0;  ///< connection_closed() called from inside received(): must stay 0
  /// Called for each whole packet, inside received() (like the core, which may reply or close).
  std::function<void(const Received&)> on_packet;

 private:
  EventLoop& loop_;
  sdk::ClusterSettings settings_;
  const sdk::PluginConfig& config_;
  std::map<sdk::ConnectionId, bpacket::StreamDecoder> decoders;
  bool in_received = false;
};

/// One protocol instance and its host.
struct Node {
  std::unique_ptr<TestHost> host;  // declared first: outlives the protocol
  std::shared_ptr<sdk::Protocol> proto;
  std::string id;

  const sdk::ClusterSettings& settings() const { return host->settings(); }
  std::string uuid() const { return settings().sid + "@" + settings().hid; }

  /// How another member sees this one: a local service with our current props.
  ServiceInfo info() const {
    ServiceInfo s;
    s.sid = settings().sid;
    s.hid = settings().hid;
    s.uuid = uuid();
    s.ip = "127.0.0.1";
    s.local = true;
    s.protocols = {id};
    s.props = {{id, proto->props()}};
    return s;
  }
  std::string prop(std::string_view key) const {
    for (const auto& [k, v] : proto->props())
      if (k == key) return v;
    return {};
  }
};

/// Loads one plugin and runs its protocol instances on one loop.
class Harness {
 public:
  using Config = std::map<std::string, std::string>;

  explicit Harness(std::string plugin, const Config& config = {}) : plugin_(std::move(plugin)) {
    IniSection section;
    section.name = plugin_;
    section.where = "test";
    for (const auto& [k, v] : config) section.values[k] = IniValue{v, "test:1"};
    const PluginInfo& info = plugins.load(plugin_path(plugin_), &section);
    if (info.protocols.size() != 1) throw std::runtime_error("plugin " + plugin_ + " registers one protocol");
    protocol_id = info.protocols.front();
  }
  ~Harness() {
    for (auto& n : nodes)
      if (n->proto) n->proto->stop();
    nodes.clear();
  }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  /// Creates an instance (not started). The settings' hid defaults to "testhost".
  Node& add(sdk::ClusterSettings settings) {
    if (settings.hid.empty()) settings.hid = "testhost";
    auto n = std::make_unique<Node>();
    n->id = protocol_id;
    n->host = std::make_unique<TestHost>(loop, std::move(settings), plugins.protocol_config(protocol_id));
    n->proto = plugins.create_protocol(protocol_id, *n->host);
    if (!n->proto) throw std::runtime_error("create_protocol(" + protocol_id + ") failed");
    nodes.push_back(std::move(n));
    return *nodes.back();
  }
  Node& add(std::string sid) {
    sdk::ClusterSettings s;
    s.sid = std::move(sid);
    return add(std::move(s));
  }
  /// Creates and starts an instance; a failed start fails the test (and throws to stop it).
  template <class S>
  Node& start(S&& settings_or_sid) {
    Node& n = add(std::forward<S>(settings_or_sid));
    const sdk::Result r = n.proto->start();
    if (!r) throw std::runtime_error("start failed: " + r.message());
    return n;
  }

  /// Runs the loop until pred() or the deadline; returns pred().
  template <class Pred>
  bool run_until(Pred pred, std::chrono::milliseconds limit = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= deadline) return pred();
      loop.run_once(10ms);
    }
    return true;
  }
  /// Runs the loop for a while (to show that something does NOT happen).
  void settle(std::chrono::milliseconds d = 100ms) { loop.run_for(d); }

  EventLoop loop;          // first: outlives everything that watches it
  PluginManager plugins;   // unloads after the instances below are gone
  std::vector<std::unique_ptr<Node>> nodes;
  std::string protocol_id;

 private:
  std::string plugin_;
};

/// The largest value of socket option `name` (SOL_SOCKET) among this process' sockets of
/// `type` (and `domain`, unless -1) that are not listening, found through /proc/self/fd; -1
/// when there is none. Tells what a plugin set on sockets it does not expose.
inline int largest_socket_option(int type, int domain, int name) {
  int best = -1;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return best;
  auto get = [](int fd, int opt) {
    int v = -1;
    socklen_t len = sizeof v;
    return ::getsockopt(fd, SOL_SOCKET, opt, &v, &len) == 0 ? v : -1;
  };
  while (const dirent* e = ::readdir(d)) {
    const int fd = std::atoi(e->d_name);
    if (fd <= 2 || fd == ::dirfd(d) || get(fd, SO_TYPE) != type) continue;
    if ((domain != -1 && get(fd, SO_DOMAIN) != domain) || get(fd, SO_ACCEPTCONN) == 1) continue;
    best = std::max(best, get(fd, name));
  }
  ::closedir(d);
  return best;
}

/// A temporary directory, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string templ = "/tmp/cluster-plugin-test-XXXXXX";
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
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

/// Leaves a Unix socket file nobody listens on (what a crashed member leaves behind).
inline void make_stale_socket(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::strncpy(sun.sun_path, path.c_str(), sizeof sun.sun_path - 1);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&sun), sizeof sun) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind " + path);
  }
  ::close(fd);
}

/// Milliseconds taken by fn().
template <class Fn>
std::chrono::milliseconds timed(Fn&& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
}

}  // namespace cluster::test
