// Node files and daemons for the process tests: a fast profile (heartbeat 200ms, ttl 2s), the
// build's real plugins, everything (sockets, logs) in a temporary folder.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>

#include "app_fixture.hpp"
#include "process.hpp"

#ifndef CLUSTERD_BIN
#error "CLUSTERD_BIN must name the clusterd binary"
#endif

namespace clusterapp::test {

class DaemonFixture : public ::testing::Test {
 protected:
  TempDir dir;
  int port = 0;  // a multicast port of our own, so earlier tests' leftovers cannot interfere

  void SetUp() override {
    static int n = 0;
    port = 23100 + (static_cast<int>(::getpid()) % 200) * 10 + (n++ % 10);
  }

  static std::string plugin_dir() { return CLUSTER_PLUGIN_DIR; }
  static bool have_kv() { return std::filesystem::exists(plugin_dir() + "/cluster-kv.so"); }
  std::map<std::string, std::string> env() const { return {{"CLUSTER_PLUGIN_PATH", plugin_dir()}}; }

  std::string sock(const std::string& name) const { return dir / (name + ".sock"); }

  /// Writes <name>.ini: a member tagged `tags` whose kv answers "get role" with `name`.
  std::string node(const std::string& name, const std::string& tags, const std::string& extra = {},
                   bool control = true, bool log_file = true) {
    const bool kv = have_kv();
    std::ostringstream s;
    s << "[cluster]\nheartbeat = 200ms\nttl = 2s\nport = " << port << "\nprotocols = t u c\ntags = " << tags << "\n"
      << "[plugins]\nload = udp-multicast tcp unix" << (kv ? " kv\nhooks = kv\n" : "\n")
      << "[unix]\npath_prefix = " << dir.path() << "/u-\n";
    if (kv) s << "[kv]\nrole = " << name << "\n";
    if (control) s << "[control]\nsocket = " << sock(name) << "\n";
    if (log_file) s << "[logging]\nfile = " << dir / (name + ".log") << "\n";
    s << extra;
    const std::string path = dir / (name + ".ini");
    std::ofstream(path) << s.str();
    return path;
  }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir / name;
    std::ofstream(path) << text;
    return path;
  }

  std::unique_ptr<Process> daemon(const std::string& config, std::vector<std::string> more = {}) {
    static int n = 0;
    std::vector<std::string> argv{CLUSTERD_BIN, "--config", config};
    argv.insert(argv.end(), more.begin(), more.end());
    const std::string base = dir / ("d" + std::to_string(++n));
    return std::make_unique<Process>(argv, env(), base + ".out", base + ".err");
  }
  Ran clusterd(std::vector<std::string> args) {
    args.insert(args.begin(), CLUSTERD_BIN);
    return run_process(args, env(), dir.path());
  }
  Ran ctl(std::vector<std::string> args) {
    args.insert(args.begin(), CLUSTERCTL_BIN);
    return run_process(args, env(), dir.path());
  }
  static bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = std::chrono::milliseconds(8000)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= end) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
  }
  /// Waits until the daemon on `socket` answers; returns its uuid ("" when it never did).
  std::string ready(const std::string& socket) {
    std::string uuid;
    eventually([&] {
      std::string error;
      const int fd = connect_control_socket(socket, error);
      if (fd < 0) return false;
      ::close(fd);
      Ran r = ctl({"--socket", socket, "status", "--json"});
      if (r.rc != 0) return false;
      uuid = parse_object(r.out)->getValue<std::string>("uuid");
      return true;
    });
    return uuid;
  }
  /// The uuids `clusterctl members --json` lists on `socket`.
  std::vector<std::string> members(const std::string& socket) {
    Ran r = ctl({"--socket", socket, "members", "--json"});
    std::vector<std::string> out;
    if (r.rc != 0) return out;
    JsonArrayPtr list = parse_object("{\"m\":" + r.out + "}")->getArray("m");
    for (unsigned i = 0; i < list->size(); ++i) out.push_back(list->getObject(i)->getValue<std::string>("uuid"));
    return out;
  }
  static mode_t mode_of(const std::string& p) {
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
  }
  static bool exists(const std::string& p) {
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0;
  }
};

}  // namespace clusterapp::test
