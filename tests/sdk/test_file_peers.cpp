// The SDK's example discovery plugin (plugin-sdk/examples/file-peers-discovery, "file-peers"),
// built out of tree against the installed SDK package, used by two real members in this process
// that load it from their ini files, over the real tcp and udp-multicast plugins.
// scripts/check-sdk builds it and runs this binary with CLUSTER_FILE_PEERS_PLUGIN=<.so>; without
// it the tests skip.
//
// Multicast stays inside a private network namespace: each test runs itself again through
// tests/plugins/netns-run (unshare --net; lo up, multicast on, 224.0.0.0/4 routed through it),
// and skips, saying why, where no namespace can be made. The two members use different multicast
// groups and ports, so only the plugin's contacts can make them meet.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/cluster.hpp"
#include "cluster/ini.hpp"

using namespace cluster;
using namespace std::chrono_literals;

namespace {

/// One member and what its hooks and log saw (hooks run on its loop thread).
struct Member {
  std::unique_ptr<Cluster> cluster;
  mutable std::mutex m;
  std::vector<std::string> discovered;            // uuids
  std::vector<std::pair<std::string, std::string>> lost;  // (uuid, reason)
  std::vector<std::string> logs;

  bool knows(const Member& other) const { return !cluster->resolve({other.cluster->sid()}).empty(); }
  std::size_t lost_count() const {
    std::lock_guard<std::mutex> g(m);
    return lost.size();
  }
  std::size_t logs_with(const std::string& text) const {
    std::lock_guard<std::mutex> g(m);
    return static_cast<std::size_t>(
        std::count_if(logs.begin(), logs.end(), [&](const std::string& l) { return l.find(text) != std::string::npos; }));
  }
};

class FilePeers : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* path = std::getenv("CLUSTER_FILE_PEERS_PLUGIN");
    if (path == nullptr || *path == '\0')
      GTEST_SKIP() << "CLUSTER_FILE_PEERS_PLUGIN is not set: run scripts/check-sdk, which builds "
                      "plugin-sdk/examples/file-peers-discovery against the installed SDK and sets it";
    plugin_ = path;
    const char* netns = std::getenv("CLUSTER_NETNS");
    inside_ = netns != nullptr && std::string(netns) == "1";
    if (!inside_) return;
    char tmpl[] = "/tmp/file-peers-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }

  void TearDown() override {
    members_.clear();  // leave before the files go
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  /// Outside the namespace: runs this test again inside one and reports its result.
  void rerun_in_netns() {
    if (std::system("unshare --net true >/dev/null 2>&1") != 0) {
      GTEST_SKIP() << "cannot create a private network namespace (unshare --net needs root or "
                      "CAP_SYS_ADMIN): the members multicast, which must not leave this machine";
    }
    char exe[4096];
    const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    ASSERT_GT(n, 0) << "cannot find this test binary";
    exe[n] = '\0';
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string filter = std::string(info->test_suite_name()) + "." + info->name();
    const std::string cmd = "timeout --kill-after=5 90 sh '" CLUSTER_NETNS_RUN "' '" + std::string(exe) +
                            "' --gtest_color=no --gtest_filter=" + filter + " 2>&1";
    std::string out;
    if (FILE* f = ::popen(cmd.c_str(), "r")) {
      char buf[4096];
      std::size_t got;
      while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, got);
      const int status = ::pclose(f);
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      if (code == 77) {
        GTEST_SKIP() << "netns-run could not make a private network namespace:\n" << out;
      }
      EXPECT_EQ(code, 0) << "inside the namespace:\n" << out;
      EXPECT_NE(out.find("[  PASSED  ] 1 test"), std::string::npos) << out;
      EXPECT_EQ(out.find("[  SKIPPED ]"), std::string::npos) << out;
    } else {
      ADD_FAILURE() << "cannot run " << cmd;
    }
  }

  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    // A new file each time (rename), as editors and config tools write: new inode and mtime.
    const std::string tmp = path + ".new";
    std::ofstream(tmp) << text;
    EXPECT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
    return path;
  }

  /// A member whose [tcp] port is fixed, whose multicast group/port is its own, and whose
  /// discovery is the plugin with `peers` as its file.
  Member& join(const std::string& name, int tcp_port, int mcast_port, const std::string& peers) {
    const std::string ini = "[cluster]\n"
                            "protocols = t c\n"
                            "discovery = file-peers\n"
                            "heartbeat = 200ms\n"
                            "ttl = 1s\n"
                            "hid = 02:00:00:00:00:0f\n"
                            "address = 239.255.0." + std::to_string(mcast_port % 200 + 1) + "\n"
                            "port = " + std::to_string(mcast_port) + "\n"
                            "[plugins]\n"
                            "path = " CLUSTER_PLUGIN_DIR "\n"
                            "load = " + plugin_ + " tcp udp-multicast\n"
                            "[tcp]\n"
                            "port = " + std::to_string(tcp_port) + "\n"
                            "[file-peers]\n"
                            "file = " + peers + "\n";
    NodeConfig cfg = NodeConfig::from_ini(IniFile::parse(ini, name + ".ini"));
    members_.push_back(std::make_unique<Member>());
    Member& mb = *members_.back();
    cfg.options.log_sink = [&mb](sdk::LogLevel, std::string_view text) {
      std::lock_guard<std::mutex> g(mb.m);
      mb.logs.emplace_back(text);
    };
    mb.cluster = Cluster::join(cfg, [&mb](Cluster& c) {
      c.hook(HookPoint::service_discovered, "discovered", [&mb](HookContext& ctx) {
        std::lock_guard<std::mutex> g(mb.m);
        mb.discovered.push_back(ctx.service->uuid);
        return Verdict::pass;
      });
      c.hook(HookPoint::service_lost, "lost", [&mb](HookContext& ctx) {
        std::lock_guard<std::mutex> g(mb.m);
        mb.lost.emplace_back(ctx.service->uuid, ctx.reason);
        return Verdict::pass;
      });
      c.hook(HookPoint::query, "pong", [&c](HookContext& ctx) {
        ctx.answer = "pong from " + c.sid();
        return Verdict::modified;
      });
    });
    return mb;
  }

  template <class Pred>
  static bool wait_for(Pred pred, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(10ms);
    return pred();
  }

  /// Both stay members of each other for `span` (several ttls): no loss, still resolvable.
  static void stay_members(const Member& a, const Member& b, std::chrono::milliseconds span) {
    const auto end = std::chrono::steady_clock::now() + span;
    while (std::chrono::steady_clock::now() < end) {
      ASSERT_TRUE(a.knows(b) && b.knows(a)) << "a member was lost: the plugin's re-sends did not keep it";
      std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(a.lost_count(), 0u);
    EXPECT_EQ(b.lost_count(), 0u);
  }

  std::string plugin_, dir_;
  bool inside_ = false;
  std::vector<std::unique_ptr<Member>> members_;
};

// Each member's file names the other (a's names a too, like a file shared by all): they meet, stay members for several ttls (no multicast
// beacon runs: only the plugin's re-sends keep the ttl detector happy), a query is answered, and
// leave() is seen at once ("left"), not after the ttl.
TEST_F(FilePeers, MembersMeetThroughTheirPeersFiles) {
  if (!inside_) return rerun_in_netns();
  Member& a = join("a", 40123, 23101, write("a.txt", "# a's peers, and a itself (a shared file)\nt 127.0.0.1 port=40124\nt 127.0.0.1 port=40123\n"));
  Member& b = join("b", 40124, 23102, write("b.txt", "t 127.0.0.1 port=40123   # a\n"));
  ASSERT_TRUE(wait_for([&] { return a.knows(b) && b.knows(a); }, 5s)) << "they never met";
  {
    std::lock_guard<std::mutex> ga(a.m), gb(b.m);
    EXPECT_EQ(a.discovered, std::vector<std::string>{b.cluster->uuid()});
    EXPECT_EQ(b.discovered, std::vector<std::string>{a.cluster->uuid()});
  }
  // They know each other's tcp port (the records went both ways).
  const auto peers = a.cluster->resolve({b.cluster->sid()});
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0]->info().prop("t", "port"), "40124");

  stay_members(a, b, 3500ms);  // ttl 1 s (+ grace): three and a half ttls

  QueryOptions q;
  q.resolve = {b.cluster->sid()};
  q.query = "ping";
  q.timeout = 3s;
  auto query = a.cluster->query(q);
  ASSERT_TRUE(query->wait(5s));
  EXPECT_FALSE(query->timed_out());
  EXPECT_EQ(query->payloads(), std::vector<std::string>{"pong from " + b.cluster->sid()});

  const auto left_at = std::chrono::steady_clock::now();
  b.cluster->leave();
  ASSERT_TRUE(wait_for([&] { return a.lost_count() > 0; }, 3s));
  const auto took = std::chrono::steady_clock::now() - left_at;
  {
    std::lock_guard<std::mutex> g(a.m);
    ASSERT_EQ(a.lost.size(), 1u);
    EXPECT_EQ(a.lost[0], (std::pair<std::string, std::string>{b.cluster->uuid(), "left"}));
  }
  EXPECT_LT(took, 500ms) << "a lost b only after its ttl: no disconnect arrived";
}

// Only a's file names b, and only once a's file is rewritten while both run: b learns of a from
// a's discovery and must answer it (newcomer) for a to learn of b. Bad lines are logged with
// file:line once per version of the file, and skipped.
TEST_F(FilePeers, OneSidedFileReReadWhenItChanges) {
  if (!inside_) return rerun_in_netns();
  const std::string a_file = write("a.txt", "# nobody yet\nt 127.0.0.1\n");
  Member& a = join("a", 40133, 23111, a_file);
  Member& b = join("b", 40134, 23112, write("b.txt", "# b knows nobody\n"));
  // Different multicast groups, and no beacon: they cannot meet by themselves.
  std::this_thread::sleep_for(800ms);
  EXPECT_FALSE(a.knows(b));
  EXPECT_FALSE(b.knows(a));

  write("a.txt", "# now b\n\nt 127.0.0.1 port\nt 127.0.0.1 port=40134\n");
  ASSERT_TRUE(wait_for([&] { return a.knows(b) && b.knows(a); }, 5s)) << "the re-read file did not make them meet";
  stay_members(a, b, 3500ms);

  EXPECT_EQ(a.logs_with("a.txt:2: no props"), 1u);
  EXPECT_EQ(a.logs_with("a.txt:3: 'port' is not key=value"), 1u);
  EXPECT_EQ(a.logs_with("file-peers: "), 2u) << "only the two bad lines are worth a warning";
}

}  // namespace
