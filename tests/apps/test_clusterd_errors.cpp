// clusterd as a process, failing before it joins: every kind of configuration error, usage
// errors, unwritable files. Nothing here multicasts, so it runs outside a network namespace.
#include "daemon_fixture.hpp"

using namespace clusterapp;
using namespace clusterapp::test;

namespace {

class ClusterdErrors : public DaemonFixture {
 protected:
  // A valid node file with `section_text` appended.
  std::string conf(const std::string& name, const std::string& section_text) {
    return write(name, "[cluster]\nheartbeat = 200ms\nttl = 2s\n[plugins]\nload = udp-multicast tcp\n[control]\nsocket = " +
                           sock(name) + "\n" + section_text);
  }
  void expect(const std::vector<std::string>& args, int rc, const std::string& message) {
    Ran r = clusterd(args);
    EXPECT_EQ(r.rc, rc) << r.err;
    EXPECT_EQ(r.err, "clusterd: " + message + "\n");
    EXPECT_EQ(r.out, "");
  }
};

}  // namespace

TEST_F(ClusterdErrors, BadIniLine) {
  const auto f = write("bad.ini", "[cluster]\nttl = 2s\nthis is bad\n");
  expect({"--config", f}, 78, f + ":3: expected 'key = value', got 'this is bad'");
}

TEST_F(ClusterdErrors, UnknownClusterKey) {
  const auto f = write("key.ini", "[cluster]\nbogus = 1\n");
  Ran r = clusterd({"--config", f});
  EXPECT_EQ(r.rc, 78);
  EXPECT_EQ(r.err.rfind("clusterd: " + f + ":2: unknown key 'bogus' in [cluster] (known: ", 0), 0u) << r.err;
}

TEST_F(ClusterdErrors, BadValue) {
  const auto f = write("value.ini", "[cluster]\n\nttl = soon\n");
  expect({"--config", f}, 78, f + ":3: [cluster] ttl = 'soon': not a duration (e.g. 600, 3s, 1500ms, 2m)");
}

TEST_F(ClusterdErrors, MissingPlugin) {
  const auto f = write("plugin.ini", "[plugins]\nload = udp-multicast nosuch\n");
  expect({"--config", f}, 78,
         f + ":2: [plugins] load names 'nosuch', but " + plugin_dir() + "/cluster-nosuch.so does not exist");
}

TEST_F(ClusterdErrors, BadPluginValue) {
  const auto f = conf("tcp.ini", "[tcp]\nport = abc\n");
  Ran r = clusterd({"--config", f});
  EXPECT_EQ(r.rc, 78);
  EXPECT_NE(r.err.find(f + ":9: [tcp] port = 'abc'"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line";
}

TEST_F(ClusterdErrors, SectionOfNoPlugin) {
  const auto f = conf("section.ini", "[bogus]\nx = 1\n");
  expect({"--config", f}, 78, f + ":8: section [bogus] belongs to no loaded plugin (loaded: udp-multicast tcp)");
}

TEST_F(ClusterdErrors, UnknownProtocol) {
  const auto f = write("proto.ini", "[cluster]\nprotocols = t x c\n[plugins]\nload = udp-multicast tcp\n[control]\nsocket = " +
                                        sock("proto") + "\n");
  expect({"--config", f}, 78, f + ":2: [cluster] protocols names 'x', but no loaded plugin provides it");
  EXPECT_FALSE(exists(sock("proto"))) << "the socket file is removed";
}

TEST_F(ClusterdErrors, UnknownControlAndLoggingKeys) {
  auto f = write("control2.ini", "[plugins]\nload = udp-multicast tcp\n[control]\nsocket = /tmp/x.sock\nmode = 0666\n");
  expect({"--config", f}, 78, f + ":5: unknown key 'mode' in [control] (known: socket)");
  f = write("logging.ini", "[plugins]\nload = udp-multicast tcp\n[logging]\ncolour = yes\n");
  expect({"--config", f}, 78, f + ":4: unknown key 'colour' in [logging] (known: level, format, file, times)");
  f = write("level.ini", "[plugins]\nload = udp-multicast tcp\n[logging]\nlevel = loud\n");
  expect({"--config", f}, 78,
         f + ":4: [logging] level = 'loud': unknown level (none, fatal, critical, error, warning, notice, information, debug, trace)");
}

TEST_F(ClusterdErrors, MissingConfigFile) {
  expect({"--config", dir / "none.ini"}, 78, (dir / "none.ini") + ": cannot read file");
}

TEST_F(ClusterdErrors, DaemonModeReportsConfigErrorsBeforeDetaching) {
  const auto f = write("value.ini", "[cluster]\nttl = soon\n");
  expect({"--daemon", "--config", f}, 78, f + ":2: [cluster] ttl = 'soon': not a duration (e.g. 600, 3s, 1500ms, 2m)");
}

TEST_F(ClusterdErrors, UnwritableFilesExit73) {
  auto f = conf("log.ini", "[logging]\nfile = /nonexistent-dir/d.log\n");
  expect({"--config", f}, 73, f + ":9: [logging] file = '/nonexistent-dir/d.log': cannot open for appending: No such file or directory");
  f = conf("pid.ini", "");
  expect({"--config", f, "--pidfile", "/nonexistent-dir/d.pid"}, 73, "/nonexistent-dir/d.pid: cannot write the pid file");
  f = write("sockdir.ini", "[plugins]\nload = udp-multicast tcp\n[control]\nsocket = " + (dir / "file/x.sock") + "\n");
  write("file", "not a folder");
  expect({"--config", f}, 73, (dir / "file") + ": exists and is not a directory");
}

// [metrics] and [http] need clusterd-http.so (apps/clusterd/http_module.hpp). A clusterd copied
// away from its module, or beside a library that is not it, stops with 78 before joining and
// names every place it looked.
TEST_F(ClusterdErrors, AMissingOrForeignHttpModuleExits78) {
  namespace fs = std::filesystem;
  fs::create_directory(dir / "bin");
  const std::string copy = dir / "bin/clusterd";
  fs::copy_file(CLUSTERD_BIN, copy);
  fs::permissions(copy, fs::perms::owner_all);
  const auto f = conf("m.ini", "[metrics]\nlisten = 127.0.0.1:0\n");
  Ran r = run_process({copy, "--config", f}, env(), dir.path());
  EXPECT_EQ(r.rc, 78) << r.err;
  EXPECT_EQ(r.err.rfind("clusterd: cannot load clusterd-http.so for [metrics]/[http]: " + (dir / "bin/clusterd-http.so") +
                            ": no such file; ",
                        0),
            0u)
      << r.err;
  EXPECT_NE(r.err.find("/cluster/clusterd-http.so: no such file\n"), std::string::npos) << r.err;  // beside libcluster
  EXPECT_FALSE(exists(sock("m.ini"))) << "a control socket was made before the failure";

  fs::copy_file(plugin_dir() + "/cluster-tcp.so", dir / "bin/clusterd-http.so");
  r = run_process({copy, "--config", f}, env(), dir.path());
  EXPECT_EQ(r.rc, 78) << r.err;
  EXPECT_NE(r.err.find((dir / "bin/clusterd-http.so") + ": not clusterd's HTTP module"), std::string::npos) << r.err;
}

TEST_F(ClusterdErrors, UsageErrorsExit64) {
  Ran r = clusterd({"--bogus"});
  EXPECT_EQ(r.rc, 64);
  EXPECT_EQ(r.err.rfind("clusterd: ", 0), 0u);
  EXPECT_NE(r.err.find("bogus"), std::string::npos);
  EXPECT_EQ(clusterd({"--config"}).err, "clusterd: option --config needs an argument (see --help)\n");
  EXPECT_EQ(clusterd({"extra"}).rc, 64);
  r = clusterd({"--help"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("--pidfile"), std::string::npos);
  EXPECT_NE(r.out.find("--daemon"), std::string::npos);
  EXPECT_NE(r.out.find("--config"), std::string::npos);
}

TEST_F(ClusterdErrors, ClusterctlJoinWithABadConfigExits3) {
  const auto f = write("bad.ini", "[cluster]\nttl = soon\n");
  Ran r = ctl({"--join", f, "members"});
  EXPECT_EQ(r.rc, 3);
  EXPECT_EQ(r.err, "clusterctl: " + f + ":2: [cluster] ttl = 'soon': not a duration (e.g. 600, 3s, 1500ms, 2m)\n");
}
