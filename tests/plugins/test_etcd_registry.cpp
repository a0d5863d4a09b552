// The etcd discovery's client and registry (plugins/discovery-etcd) against a real etcd
// (Debian's etcd-server, /usr/bin/etcd; skipped without it) and against a fake server that
// answers garbage.
//
// Each test runs itself again inside a private network namespace (tests/plugins/netns-run: lo is
// the only interface), where etcd listens on 127.0.0.1:2379; it skips, saying why, where no
// namespace can be made. Every wait is bounded.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "etcd_client.hpp"
#include "etcd_registry.hpp"
#include "netns.hpp"

namespace {

using namespace cluster::etcd;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kEtcd = "/usr/bin/etcd";
constexpr const char* kUrl = "http://127.0.0.1:2379";
const std::string kPrefix = "/cluster/members/";

double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

/// etcd on 127.0.0.1:2379 (peers 2380), one member, its log appended to `log`.
class EtcdServer {
 public:
  explicit EtcdServer(std::string log) : log_(std::move(log)) {}
  ~EtcdServer() { kill(); }

  /// Starts it on `data_dir` and waits until it answers.
  bool start(const std::string& data_dir) {
    test_support::SpawnOptions o;
    o.stdout_path = "/dev/null";
    o.stderr_path = log_;
    pid_ = test_support::spawn({kEtcd, "--data-dir", data_dir, "--listen-client-urls", kUrl, "--advertise-client-urls",
                                kUrl, "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls",
                                "http://127.0.0.1:2380", "--initial-cluster", "default=http://127.0.0.1:2380"},
                               o);
    EtcdClient c(ClientOptions{{kUrl}, 500ms, 500ms});
    std::vector<KeyValue> kvs;
    std::int64_t rev = 0;
    for (const auto until = Clock::now() + 15s; Clock::now() < until; std::this_thread::sleep_for(50ms))
      if (c.range_prefix("/", kvs, rev)) return true;
    return false;
  }
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void signal(int sig) { ::kill(pid_, sig); }

 private:
  std::string log_;
  pid_t pid_ = -1;
};

/// A registry and what its callbacks saw.
class Member {
 public:
  Member(const std::string& name, std::string record, std::int64_t ttl_s) : key(kPrefix + name), value(std::move(record)) {
    RegistryOptions o;
    o.endpoints = {kUrl};
    o.key = key;
    o.value = value;
    o.ttl_s = ttl_s;
    reg = std::make_unique<EtcdRegistry>(
        o,
        [this](std::map<std::string, std::string> m) {
          std::lock_guard<std::mutex> g(mu_);
          members_ = std::move(m);
          cv_.notify_all();
        },
        [this](int, std::string text) {
          std::lock_guard<std::mutex> g(mu_);
          logs_.push_back(std::move(text));
          cv_.notify_all();
        });
    const auto r = reg->start();
    EXPECT_TRUE(r) << r.message();
  }
  ~Member() { reg.reset(); }  // before the state its callbacks use

  /// Waits until the reported map satisfies `pred`.
  bool wait(const std::function<bool(const std::map<std::string, std::string>&)>& pred, Clock::duration limit) {
    std::unique_lock<std::mutex> g(mu_);
    return cv_.wait_for(g, limit, [&] { return pred(members_); });
  }
  bool sees(const Member& o, Clock::duration limit = 10s) {
    return wait([&](const auto& m) { return m.count(o.key) && m.at(o.key) == o.value; }, limit);
  }
  bool lost(const Member& o, Clock::duration limit) {
    return wait([&](const auto& m) { return !m.count(o.key); }, limit);
  }
  std::size_t logs_with(const std::string& text) {
    std::lock_guard<std::mutex> g(mu_);
    std::size_t n = 0;
    for (const auto& l : logs_) n += l.find(text) != std::string::npos;
    return n;
  }
  bool wait_log(const std::string& text, std::size_t count, Clock::duration limit) {
    const auto until = Clock::now() + limit;
    while (logs_with(text) < count)
      if (Clock::now() > until) return false;
      else std::this_thread::sleep_for(20ms);
    return true;
  }
  std::map<std::string, std::string> members() {
    std::lock_guard<std::mutex> g(mu_);
    return members_;
  }
  std::string logs() {
    std::lock_guard<std::mutex> g(mu_);
    std::string out;
    for (const auto& l : logs_) out += "  " + l + "\n";
    return out;
  }

  const std::string key;
  std::string value;
  std::unique_ptr<EtcdRegistry> reg;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::string> members_;
  std::vector<std::string> logs_;
};

/// An HTTP server on 127.0.0.1:`port` that reads each request whole and answers the n-th
/// connection with replies[n] (the last one repeats); "" keeps the connection open unanswered.
class FakeServer {
 public:
  FakeServer(std::uint16_t port, std::vector<std::string> replies) : replies_(std::move(replies)) {
    lfd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(lfd_, 16) == 0;
    if (ok_) thread_ = std::thread([this] { run(); });
  }
  ~FakeServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (const int fd : held_) ::close(fd);
    ::close(lfd_);
  }
  bool ok() const { return ok_; }

 private:
  static bool readable(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, ms) > 0;
  }
  void run() {
    for (std::size_t n = 0; !stop_;) {
      if (!readable(lfd_, 50)) continue;
      const int fd = ::accept(lfd_, nullptr, nullptr);
      if (fd < 0) continue;
      std::string req;  // the head, then Content-Length bytes
      char buf[4096];
      std::size_t need = std::string::npos;
      while (readable(fd, 1000)) {
        const ssize_t k = ::recv(fd, buf, sizeof buf, 0);
        if (k <= 0) break;
        req.append(buf, static_cast<std::size_t>(k));
        const auto head = req.find("\r\n\r\n");
        if (head != std::string::npos && need == std::string::npos) {
          const auto cl = req.find("Content-Length: ");
          need = head + 4 + (cl < head ? std::stoul(req.substr(cl + 16)) : 0);
        }
        if (req.size() >= need) break;
      }
      const std::string& reply = replies_[std::min(n++, replies_.size() - 1)];
      if (reply.empty()) {
        held_.push_back(fd);
        continue;
      }
      (void)!::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
      ::shutdown(fd, SHUT_WR);
      while (readable(fd, 200) && ::recv(fd, buf, sizeof buf, 0) > 0) {
      }
      ::close(fd);
    }
  }

  std::vector<std::string> replies_;
  int lfd_ = -1;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::vector<int> held_;
  std::thread thread_;
};

class Etcd : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kEtcd, X_OK) != 0) GTEST_SKIP() << kEtcd << " is missing (Debian package etcd-server)";
    inside_ = test_support::in_loopback_only_netns();
    if (!inside_) return;
    char tmpl[] = "/tmp/etcd-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    etcd_ = std::make_unique<EtcdServer>(dir_ + "/etcd.log");
  }
  void TearDown() override {
    etcd_.reset();
    if (dir_.empty()) return;
    if (HasFailure()) {
      std::ifstream in(dir_ + "/etcd.log");
      std::string line;
      std::vector<std::string> tail;
      while (std::getline(in, line)) tail.push_back(line);
      std::fprintf(stderr, "etcd log (last lines):\n");
      for (std::size_t i = tail.size() > 15 ? tail.size() - 15 : 0; i < tail.size(); ++i)
        std::fprintf(stderr, "  %s\n", tail[i].c_str());
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  /// Outside the namespace: runs this test again inside one and reports its result.
  void rerun_in_netns() {
    if (std::system("unshare --net true >/dev/null 2>&1") != 0)
      GTEST_SKIP() << "cannot create a private network namespace (unshare --net needs root or CAP_SYS_ADMIN); "
                      "etcd must listen on a loopback nobody else shares";
    char exe[4096];
    const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    ASSERT_GT(n, 0);
    exe[n] = '\0';
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string cmd = "timeout --kill-after=5 50 sh '" CLUSTER_NETNS_RUN "' '" + std::string(exe) +
                            "' --gtest_color=no --gtest_filter=" + info->test_suite_name() + "." + info->name() +
                            " 2>&1";
    std::string out;
    FILE* f = ::popen(cmd.c_str(), "r");
    ASSERT_NE(f, nullptr) << cmd;
    char buf[4096];
    for (std::size_t got; (got = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, got);
    const int status = ::pclose(f);
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 77) GTEST_SKIP() << "netns-run could not make a private network namespace:\n" << out;
    EXPECT_EQ(code, 0) << "inside the namespace:\n" << out;
    EXPECT_NE(out.find("[  PASSED  ] 1 test"), std::string::npos) << out;
    std::printf("%s", out.c_str());  // its timings
  }

  bool start_etcd(const std::string& data = "data") { return etcd_->start(dir_ + "/" + data); }

  /// The keys under the prefix, read by a client of our own.
  std::map<std::string, std::string> in_etcd() {
    EtcdClient c(ClientOptions{{kUrl}, 1000ms, 500ms});
    std::vector<KeyValue> kvs;
    std::int64_t rev = 0;
    std::map<std::string, std::string> out;
    if (c.range_prefix(kPrefix, kvs, rev))
      for (auto& kv : kvs) out[kv.key] = kv.value;
    return out;
  }

  bool inside_ = false;
  std::string dir_;
  std::unique_ptr<EtcdServer> etcd_;
};

#define IN_NETNS()                  \
  do {                              \
    if (!inside_) {                 \
      rerun_in_netns();             \
      return;                       \
    }                               \
  } while (false)

TEST_F(Etcd, ClientCallsAndErrors) {
  IN_NETNS();
  EtcdClient bad(ClientOptions{{"ftp://127.0.0.1:2379"}, 1s, 1s});
  std::int64_t lease = 0, ttl = 0;
  EXPECT_NE(bad.grant(5, lease).message().find("bad endpoint 'ftp://127.0.0.1:2379'"), std::string::npos);

  // The second endpoint (refusing) is tried after the first; both named.
  EtcdClient down(ClientOptions{{kUrl, "http://127.0.0.1:2"}, 1s, 1s});
  const auto refused = down.grant(5, lease);
  EXPECT_FALSE(refused);
  EXPECT_NE(refused.message().find("http://127.0.0.1:2379/v3/lease/grant: Connection refused"), std::string::npos)
      << refused.message();
  EXPECT_NE(refused.message().find("http://127.0.0.1:2/v3/lease/grant"), std::string::npos) << refused.message();

  ASSERT_TRUE(start_etcd());
  EtcdClient c(ClientOptions{{"http://127.0.0.1:2", kUrl}, 2s, 1s});  // fails over to the live one
  ASSERT_TRUE(c.grant(5, lease));
  EXPECT_NE(lease, 0);
  ASSERT_TRUE(c.keepalive(lease, ttl));
  EXPECT_GT(ttl, 0);
  ASSERT_TRUE(c.keepalive(12345, ttl));
  EXPECT_EQ(ttl, 0);  // unknown lease
  const auto no_lease = c.put("/t/x", "v", 12345);
  EXPECT_NE(no_lease.message().find("HTTP 404 Not Found: etcdserver: requested lease not found"), std::string::npos)
      << no_lease.message();

  const std::string odd_key = std::string("/t/\xff\x00z", 5), odd_value = std::string("\0\xff\n\"", 4);
  ASSERT_TRUE(c.put("/t/a", "1", lease));
  ASSERT_TRUE(c.put("/t/b", "", 0));
  ASSERT_TRUE(c.put(odd_key, odd_value, 0));
  ASSERT_TRUE(c.put("/t0", "outside", 0));
  std::vector<KeyValue> kvs;
  std::int64_t rev = 0;
  ASSERT_TRUE(c.range_prefix("/t/", kvs, rev));
  ASSERT_EQ(kvs.size(), 3u);
  EXPECT_EQ(kvs[0].key, "/t/a");
  EXPECT_EQ(kvs[0].value, "1");
  EXPECT_EQ(kvs[1].value, "");
  EXPECT_EQ(kvs[2].key, odd_key);
  EXPECT_EQ(kvs[2].value, odd_value);
  EXPECT_EQ(kvs[2].mod_revision, rev - 1);

  std::unique_ptr<Watch> w;
  ASSERT_TRUE(c.watch("/t/", rev + 1, w));
  ASSERT_TRUE(c.put("/t/c", "3", 0));
  ASSERT_TRUE(c.revoke(lease, 1s));  // deletes /t/a
  EXPECT_TRUE(c.revoke(lease, 1s));  // already gone: fine
  std::vector<WatchEvent> ev;
  for (const auto until = Clock::now() + 5s; ev.size() < 2 && Clock::now() < until;) ASSERT_TRUE(w->next(ev, 200ms));
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].type, WatchEvent::Type::put);
  EXPECT_EQ(ev[0].kv.key, "/t/c");
  EXPECT_EQ(ev[0].kv.value, "3");
  EXPECT_EQ(ev[1].type, WatchEvent::Type::del);
  EXPECT_EQ(ev[1].kv.key, "/t/a");

  // A watch blocked for 10 s is cancelled from another thread.
  const auto t0 = Clock::now();
  std::thread canceller([&] {
    std::this_thread::sleep_for(200ms);
    w->cancel();
  });
  const auto r = w->next(ev, 10s);
  const auto took = Clock::now() - t0;
  canceller.join();
  EXPECT_FALSE(r);
  EXPECT_NE(r.message().find("cancelled"), std::string::npos) << r.message();
  EXPECT_LT(took, 1s);
  std::printf("watch cancelled after %.3f s (cancel at 0.2 s)\n", secs(took));

  // client.cancel() fails what follows until resume().
  c.cancel();
  EXPECT_NE(c.grant(5, lease).message().find("cancelled"), std::string::npos);
  c.resume();
  EXPECT_TRUE(c.grant(5, lease));
}

TEST_F(Etcd, ClientSurvivesMalformedReplies) {
  IN_NETNS();
  const std::string h200 = "HTTP/1.1 200 OK\r\n";
  const auto answer = [](const std::string& status, const std::string& b) {
    return "HTTP/1.1 " + status + "\r\nContent-Length: " + std::to_string(b.size()) + "\r\n\r\n" + b;
  };
  const auto body = [&](const std::string& b) { return answer("200 OK", b); };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {body("{bad"), "malformed reply: JSON"},
      {body("[1,2]"), "not a JSON object"},
      {body(R"({"kvs":[{"key":"!!!"}]})"), "not base64"},
      {body(R"({"kvs":[7]})"), "non-object"},
      {body(R"({"header":{"revision":"x1"}})"), "not an integer"},
      {body(std::string(5000, '[') + std::string(5000, ']')), ""},
      {h200 + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", "chunked"},
      {h200 + "Content-Length: 100\r\n\r\n{}", "connection closed mid-reply"},
      {"HELLO\r\n\r\n", ""},
      {answer("500 Oops", "\x01\x02xy"), "HTTP 500 Oops: xy"},
      {answer("404 Not Found", R"({"error":{"message":"gone"}})"), "HTTP 404 Not Found: gone"},
  };
  std::vector<std::string> replies;
  for (const auto& c : cases) replies.push_back(c.first);
  replies.push_back(h200 + "Transfer-Encoding: chunked\r\n\r\n6\r\n{bad}\n\r\n");  // a watch
  replies.push_back("");                                                        // then silence
  FakeServer server(2399, replies);
  ASSERT_TRUE(server.ok());
  EtcdClient c(ClientOptions{{"http://127.0.0.1:2399"}, 500ms, 500ms});
  for (const auto& [reply, expect] : cases) {
    std::vector<KeyValue> kvs;
    std::int64_t rev = 0;
    const auto r = c.range_prefix("/x/", kvs, rev);
    EXPECT_FALSE(r) << reply;
    EXPECT_NE(r.message().find(expect), std::string::npos) << r.message();
    EXPECT_EQ(r.message().rfind("http://127.0.0.1:2399/v3/kv/range: ", 0), 0u) << r.message();
  }
  std::unique_ptr<Watch> w;
  ASSERT_TRUE(c.watch("/x/", 0, w));
  std::vector<WatchEvent> ev;
  const auto wr = w->next(ev, 1s);
  EXPECT_FALSE(wr);
  EXPECT_NE(wr.message().find("http://127.0.0.1:2399/v3/watch: malformed reply"), std::string::npos) << wr.message();

  // A server that never answers: the call times out, or is cancelled at once.
  std::int64_t lease = 0;
  auto t0 = Clock::now();
  EXPECT_FALSE(c.grant(5, lease));
  EXPECT_LT(Clock::now() - t0, 1500ms);
  EtcdClient slow(ClientOptions{{"http://127.0.0.1:2399"}, 20s, 1s});
  std::thread canceller([&] {
    std::this_thread::sleep_for(200ms);
    slow.cancel();
  });
  t0 = Clock::now();
  const auto r = slow.grant(5, lease);
  const auto took = Clock::now() - t0;
  canceller.join();
  EXPECT_NE(r.message().find("cancelled"), std::string::npos) << r.message();
  EXPECT_LT(took, 1s);
}

TEST_F(Etcd, MembersSeeEachOther) {
  IN_NETNS();
  ASSERT_TRUE(start_etcd());
  Member a("a", "t 127.0.0.1 port=40001", 2), b("b", "t 127.0.0.1 port=40002", 2);
  ASSERT_TRUE(a.sees(b)) << a.logs();
  ASSERT_TRUE(b.sees(a)) << b.logs();
  EXPECT_EQ(a.members().size(), 1u);  // not itself
  EXPECT_EQ(b.members().size(), 1u);
  a.value = "t 127.0.0.1 port=40011";
  a.reg->set_value(a.value);
  EXPECT_TRUE(b.sees(a, 3s));
  Member c("c", "u path=/tmp/c.sock", 2);
  EXPECT_TRUE(a.sees(c) && b.sees(c) && c.sees(a) && c.sees(b));
  EXPECT_EQ(a.logs_with("retrying"), 0u) << a.logs();
}

TEST_F(Etcd, AbandonedMemberExpiresAfterTtl) {
  IN_NETNS();
  ASSERT_TRUE(start_etcd());
  Member a("a", "A", 2), b("b", "B", 2);
  ASSERT_TRUE(b.sees(a));
  const auto t0 = Clock::now();
  a.reg->abandon();  // like a crash: no revoke
  ASSERT_TRUE(b.lost(a, 8s));
  const auto took = Clock::now() - t0;
  EXPECT_GT(took, 800ms);  // the lease ran out (a revoke takes milliseconds)
  std::printf("abandoned member gone after %.3f s (ttl 2 s)\n", secs(took));
}

TEST_F(Etcd, StopRevokesAtOnce) {
  IN_NETNS();
  ASSERT_TRUE(start_etcd());
  Member a("a", "A", 10), b("b", "B", 10);
  ASSERT_TRUE(b.sees(a));
  const auto t0 = Clock::now();
  a.reg->stop();
  const auto stop_took = Clock::now() - t0;
  EXPECT_LT(stop_took, 1s);
  ASSERT_TRUE(b.lost(a, 1s));  // far below the 10 s ttl
  std::printf("stop() took %.3f s; the other saw the key gone after %.3f s\n", secs(stop_took),
              secs(Clock::now() - t0));
  EXPECT_EQ(in_etcd().count(a.key), 0u);
}

TEST_F(Etcd, ComesBackWhenItsLeaseIsRevoked) {
  IN_NETNS();
  ASSERT_TRUE(start_etcd());
  Member a("a", "A", 2), b("b", "B", 2);
  ASSERT_TRUE(b.sees(a));
  EtcdClient c(ClientOptions{{kUrl}, 1s, 1s});
  std::vector<KeyValue> kvs;
  std::int64_t rev = 0;
  ASSERT_TRUE(c.range_prefix(a.key, kvs, rev));
  ASSERT_EQ(kvs.size(), 1u);
  ASSERT_NE(kvs[0].lease, 0);
  const std::int64_t old_lease = kvs[0].lease;
  const auto t0 = Clock::now();
  ASSERT_TRUE(c.revoke(old_lease, 1s));  // as if it had expired: the key goes with it
  bool back = false;  // put again under a new lease
  for (const auto until = Clock::now() + 3s; !back && Clock::now() < until; std::this_thread::sleep_for(20ms))
    back = c.range_prefix(a.key, kvs, rev) && kvs.size() == 1 && kvs[0].lease != old_lease && kvs[0].value == "A";
  ASSERT_TRUE(back) << a.logs();
  std::printf("back %.3f s after its lease was revoked\n", secs(Clock::now() - t0));
  EXPECT_TRUE(b.sees(a, 1s));
  EXPECT_GE(a.logs_with("lease"), 2u) << a.logs();  // registered, then lost and replaced
}

TEST_F(Etcd, StopIsBoundedWhenEtcdHangs) {
  IN_NETNS();
  ASSERT_TRUE(start_etcd());
  Member a("a", "A", 2), b("b", "B", 2);
  ASSERT_TRUE(a.sees(b));
  etcd_->signal(SIGSTOP);
  std::this_thread::sleep_for(800ms);  // a keepalive is now blocked
  const auto t0 = Clock::now();
  a.reg->stop();  // joins at once, then gives the revoke 1 s
  const auto took = Clock::now() - t0;
  EXPECT_LT(took, 1500ms);
  std::printf("stop() with etcd stopped took %.3f s\n", secs(took));
  etcd_->signal(SIGCONT);
}

TEST_F(Etcd, ReRegistersAfterEtcdRestart) {
  IN_NETNS();
  ASSERT_TRUE(start_etcd());
  Member a("a", "A", 2), b("b", "B", 2);
  ASSERT_TRUE(a.sees(b) && b.sees(a));

  // Killed and restarted on its data: the leases survive, the workers come back.
  auto t0 = Clock::now();
  etcd_->kill();
  ASSERT_TRUE(a.wait_log("retrying", 1, 3s) && b.wait_log("retrying", 1, 3s)) << a.logs() << b.logs();
  ASSERT_TRUE(start_etcd());
  ASSERT_TRUE(a.wait_log("reachable again", 1, 10s) && b.wait_log("reachable again", 1, 10s)) << a.logs() << b.logs();
  EXPECT_TRUE(a.sees(b) && b.sees(a));
  EXPECT_EQ(in_etcd(), (std::map<std::string, std::string>{{a.key, "A"}, {b.key, "B"}}));
  std::printf("same data dir: both back %.3f s after the kill\n", secs(Clock::now() - t0));

  // Restarted empty (its data lost): both register again under new leases.
  t0 = Clock::now();
  etcd_->kill();
  ASSERT_TRUE(a.wait_log("retrying", 2, 3s) && b.wait_log("retrying", 2, 3s)) << a.logs() << b.logs();
  ASSERT_TRUE(start_etcd("fresh"));
  ASSERT_TRUE(a.wait_log("reachable again", 2, 10s) && b.wait_log("reachable again", 2, 10s)) << a.logs() << b.logs();
  EXPECT_TRUE(a.sees(b) && b.sees(a)) << a.logs() << b.logs();
  for (const auto until = Clock::now() + 3s; in_etcd().size() < 2 && Clock::now() < until;)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(in_etcd(), (std::map<std::string, std::string>{{a.key, "A"}, {b.key, "B"}}));
  EXPECT_EQ(a.logs_with("retrying"), 2u) << a.logs();  // once per outage, not per retry
  EXPECT_GE(a.logs_with("lease is gone"), 1u) << a.logs();
  std::printf("fresh data dir: both back %.3f s after the kill\n", secs(Clock::now() - t0));
}

TEST_F(Etcd, WaitsForEtcdAtStart) {
  IN_NETNS();
  Member a("a", "A", 2), b("b", "B", 2);
  ASSERT_TRUE(a.wait_log("retrying", 1, 2s)) << a.logs();
  std::this_thread::sleep_for(1s);  // several retries, one warning
  EXPECT_EQ(a.logs_with("retrying"), 1u) << a.logs();
  const auto t0 = Clock::now();
  ASSERT_TRUE(start_etcd());
  ASSERT_TRUE(a.sees(b, 10s) && b.sees(a, 10s)) << a.logs() << b.logs();
  EXPECT_EQ(a.logs_with("reachable again"), 1u) << a.logs();
  std::printf("members met %.3f s after etcd was started\n", secs(Clock::now() - t0));
}

}  // namespace
