// The dns discovery's resolver (plugins/discovery-dns/dns_lookup.hpp) against Debian's dnsmasq
// (package dnsmasq-base) and against a fake server that answers garbage.
//
// Every test that sends a packet runs in a private network namespace where lo is the only
// interface: run outside one, it runs itself again through tests/plugins/netns-run and reports
// that run; it skips, saying why, where no namespace can be made or dnsmasq is missing. Each
// test starts and stops its own dnsmasq on 127.0.0.1:53 and ::1:53; every wait is bounded.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "dns_lookup.hpp"
#include "netns.hpp"

using namespace std::chrono_literals;
using cluster::dns::check_server;
using cluster::dns::DnsKind;
using cluster::dns::DnsQuery;
using cluster::dns::DnsTarget;
using cluster::dns::lookup;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kDnsmasq = "/usr/sbin/dnsmasq";
constexpr const char* kServer = "127.0.0.1:53";

DnsQuery query(std::string name, DnsKind kind, std::string server = kServer,
               std::chrono::milliseconds timeout = 2000ms) {
  DnsQuery q;
  q.name = std::move(name);
  q.kind = kind;
  q.port = 17400;
  q.server = std::move(server);
  q.timeout = timeout;
  return q;
}

std::string describe(const std::vector<DnsTarget>& ts) {
  std::string s;
  for (const DnsTarget& t : ts) s += t.host + " " + t.ip + " " + std::to_string(t.port) + "\n";
  return s;
}

/// Runs `cmd` with sh; its output and exit code (-1 when it did not exit).
int capture(const std::string& cmd, std::string& out) {
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return -1;
  char buf[4096];
  std::size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, got);
  const int status = ::pclose(f);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string self_exe() {
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  return n > 0 ? std::string(exe, static_cast<std::size_t>(n)) : std::string();
}

std::string current_test() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return std::string(info->test_suite_name()) + "." + info->name();
}

class DnsLookup : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kDnsmasq, X_OK) != 0) GTEST_SKIP() << kDnsmasq << " is missing (package dnsmasq-base)";
    inside_ = test_support::in_private_netns();
    if (!inside_) return;
    ASSERT_TRUE(test_support::in_loopback_only_netns()) << "the namespace must have lo only";
    char tmpl[] = "/tmp/dns-lookup-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ::chmod(tmpl, 0755);  // dnsmasq reads --addn-hosts as nobody
  }

  void TearDown() override {
    stop_dnsmasq();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  /// Outside the namespace: runs this test again inside one and reports its result.
  void rerun_in_netns() {
    if (test_support::run_shell("unshare --net true >/dev/null 2>&1") != 0)
      GTEST_SKIP() << "cannot create a private network namespace (unshare --net needs root or CAP_SYS_ADMIN)";
    std::string out;
    const int code = capture("timeout --kill-after=5 90 sh '" CLUSTER_NETNS_RUN "' '" + self_exe() +
                                 "' --gtest_color=no --gtest_filter=" + current_test() + " 2>&1",
                             out);
    if (code == 77) GTEST_SKIP() << "netns-run could not make a private network namespace:\n" << out;
    EXPECT_EQ(code, 0) << "inside the namespace:\n" << out;
    EXPECT_NE(out.find("[  PASSED  ] 1 test"), std::string::npos) << out;
    EXPECT_EQ(out.find("[  SKIPPED ]"), std::string::npos) << out;
  }

  /// Starts dnsmasq with `records` (and ready.test.lan) and waits until it answers.
  void start_dnsmasq(const std::vector<std::string>& records) {
    std::vector<std::string> argv = {kDnsmasq,
                                     "--conf-file=/dev/null",
                                     "--no-resolv",
                                     "--no-hosts",
                                     "--keep-in-foreground",
                                     "--port=53",
                                     "--listen-address=127.0.0.1,::1",
                                     "--bind-interfaces",
                                     "--local=/test.lan/",
                                     "--pid-file=" + dir_ + "/pid",
                                     "--log-queries",
                                     "--log-facility=" + log_path(),
                                     "--host-record=ready.test.lan,127.0.0.1"};
    argv.insert(argv.end(), records.begin(), records.end());
    test_support::SpawnOptions o;
    o.stderr_path = dir_ + "/dnsmasq.err";
    pid_ = test_support::spawn(argv, o);
    std::vector<DnsTarget> out;
    const auto deadline = Clock::now() + 10s;
    while (!lookup(query("ready.test.lan", DnsKind::a, kServer, 1000ms), out)) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        std::ifstream err(dir_ + "/dnsmasq.err");
        FAIL() << "dnsmasq exited: " << std::string(std::istreambuf_iterator<char>(err), {});
      }
      ASSERT_LT(Clock::now(), deadline) << "dnsmasq did not answer within 10 s";
      std::this_thread::sleep_for(20ms);
    }
  }

  void stop_dnsmasq() {
    if (pid_ < 0) return;
    ::kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + 5s;
    while (::waitpid(pid_, nullptr, WNOHANG) == 0) {
      if (Clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    pid_ = -1;
  }

  std::string log_path() const { return dir_ + "/dnsmasq.log"; }

  /// Whether dnsmasq's log has a line containing `text`, waiting up to `limit` for it.
  bool logged(const std::string& text, std::chrono::milliseconds limit = 2000ms) const {
    const auto deadline = Clock::now() + limit;
    do {
      std::ifstream f(log_path());
      for (std::string line; std::getline(f, line);)
        if (line.find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(20ms);
    } while (Clock::now() < deadline);
    return false;
  }

  void write(const std::string& name, const std::string& text) const {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path + ".new") << text;
    ASSERT_EQ(std::rename((path + ".new").c_str(), path.c_str()), 0);
  }

  bool inside_ = false;
  std::string dir_;
  pid_t pid_ = -1;
};

// Four SRV records, two of priority 10 (the heavier first), n1..n3 in the additional section,
// n4 (an --address entry, which dnsmasq does not add there) asked for separately.
TEST_F(DnsLookup, SrvTargetsInPriorityOrderWithTheirAddresses) {
  if (!inside_) return rerun_in_netns();
  start_dnsmasq({"--srv-host=_cluster._tcp.test.lan,n2.test.lan,17402,20,0",
                 "--srv-host=_cluster._tcp.test.lan,n1.test.lan,17401,10,0",
                 "--srv-host=_cluster._tcp.test.lan,n4.test.lan,17404,30,0",
                 "--srv-host=_cluster._tcp.test.lan,n3.test.lan,17403,10,50", "--host-record=n1.test.lan,127.0.0.11",
                 "--host-record=n2.test.lan,127.0.0.12,::1", "--host-record=n3.test.lan,127.0.0.13",
                 "--address=/n4.test.lan/127.0.0.14"});
  std::vector<DnsTarget> out;
  const auto r = lookup(query("_cluster._tcp.test.lan", DnsKind::srv), out);
  ASSERT_TRUE(r) << r.message();
  const std::vector<DnsTarget> want = {{"n3.test.lan", "127.0.0.13", 17403},
                                       {"n1.test.lan", "127.0.0.11", 17401},
                                       {"n2.test.lan", "127.0.0.12", 17402},
                                       {"n2.test.lan", "::1", 17402},
                                       {"n4.test.lan", "127.0.0.14", 17404}};
  EXPECT_EQ(out, want) << describe(out);
  EXPECT_TRUE(logged("query[A] n4.test.lan")) << "n4 is not in the additional section: asked for";
  EXPECT_FALSE(logged("query[A] n1.test.lan", 0ms)) << "n1 came in the additional section";
}

TEST_F(DnsLookup, AAndAaaaGiveEveryAddress) {
  if (!inside_) return rerun_in_netns();
  start_dnsmasq({"--host-record=n2.test.lan,127.0.0.12,::1", "--host-record=multi.test.lan,127.0.0.21",
                 "--host-record=multi.test.lan,127.0.0.22", "--host-record=six.test.lan,::6"});
  std::vector<DnsTarget> out;
  ASSERT_TRUE(lookup(query("n2.test.lan", DnsKind::a), out));
  EXPECT_EQ(out, (std::vector<DnsTarget>{{"n2.test.lan", "127.0.0.12", 17400}, {"n2.test.lan", "::1", 17400}}));
  ASSERT_TRUE(lookup(query("six.test.lan", DnsKind::a), out));
  EXPECT_EQ(out, (std::vector<DnsTarget>{{"six.test.lan", "::6", 17400}}));
  ASSERT_TRUE(lookup(query("multi.test.lan", DnsKind::a), out));
  std::vector<std::string> ips;
  for (const DnsTarget& t : out) ips.push_back(t.ip);
  std::sort(ips.begin(), ips.end());
  EXPECT_EQ(ips, (std::vector<std::string>{"127.0.0.21", "127.0.0.22"}));
  // The same over IPv6 to the server.
  ASSERT_TRUE(lookup(query("n2.test.lan", DnsKind::a, "[::1]:53"), out));
  EXPECT_EQ(out.size(), 2u) << describe(out);
  ASSERT_TRUE(lookup(query("n2.test.lan", DnsKind::a, "::1"), out));
  EXPECT_EQ(out.size(), 2u) << describe(out);
}

TEST_F(DnsLookup, NoSuchNameAndNoRecordsAreTold) {
  if (!inside_) return rerun_in_netns();
  start_dnsmasq({"--host-record=n1.test.lan,127.0.0.11", "--srv-host=_gone._tcp.test.lan,.,1,0,0",
                 "--srv-host=_dead._tcp.test.lan,nope.test.lan,17401,0,0"});
  std::vector<DnsTarget> out = {{"stale", "1.2.3.4", 1}};
  auto r = lookup(query("nope.test.lan", DnsKind::a), out);
  EXPECT_EQ(r.message(), "A/AAAA nope.test.lan: no such name (NXDOMAIN)");
  EXPECT_TRUE(out.empty());
  r = lookup(query("_nope._tcp.test.lan", DnsKind::srv), out);
  EXPECT_EQ(r.message(), "SRV _nope._tcp.test.lan: no such name (NXDOMAIN)");
  r = lookup(query("n1.test.lan", DnsKind::srv), out);
  EXPECT_EQ(r.message(), "SRV n1.test.lan: no SRV records");
  r = lookup(query("_gone._tcp.test.lan", DnsKind::srv), out);
  EXPECT_EQ(r.message(), "SRV _gone._tcp.test.lan: no target (every SRV target is '.')");
  r = lookup(query("_dead._tcp.test.lan", DnsKind::srv), out);
  EXPECT_EQ(r.message(),
            "SRV _dead._tcp.test.lan: no SRV target has an address (nope.test.lan: no such name (NXDOMAIN))");
  r = lookup(query("elsewhere.example", DnsKind::a), out);  // no upstream: dnsmasq refuses
  EXPECT_EQ(r.message(), "A elsewhere.example: the server refused the query (REFUSED)");
}

// A silent server costs the timeout, one that nobody runs fails at once.
TEST_F(DnsLookup, UnreachableServersFailWithinTheTimeout) {
  if (!inside_) return rerun_in_netns();
  const int silent = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(silent, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(5400);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(silent, reinterpret_cast<const sockaddr*>(&sin), sizeof sin), 0);
  std::vector<DnsTarget> out;
  // 2 s: two datagrams, one second each.
  for (const auto& [kind, timeout] : {std::pair{DnsKind::a, 1000ms}, {DnsKind::srv, 1000ms}, {DnsKind::a, 2000ms}}) {
    auto start = Clock::now();
    auto r = lookup(query("n1.test.lan", kind, "127.0.0.1:5400", timeout), out);
    auto took = Clock::now() - start;
    EXPECT_NE(r.message().find(": no answer from 127.0.0.1:5400 within " + std::to_string(timeout.count()) +
                               " ms (server unreachable)"),
              std::string::npos)
        << r.message();
    EXPECT_GE(took, timeout - 100ms);
    EXPECT_LT(took, timeout + 500ms);
  }
  const auto start = Clock::now();
  auto r = lookup(query("n1.test.lan", DnsKind::a, "127.0.0.1:5401", 1000ms), out);
  EXPECT_EQ(r.message(),
            "A n1.test.lan: cannot reach 127.0.0.1:5401 (connection refused or no route; server unreachable)");
  EXPECT_LT(Clock::now() - start, 500ms);
  r = lookup(query("n1.test.lan", DnsKind::a, "[::1]:5401", 1000ms), out);
  EXPECT_EQ(r.message(), "A n1.test.lan: cannot reach [::1]:5401 (connection refused or no route; server unreachable)");
  ::close(silent);
}

TEST_F(DnsLookup, ChangedRecordsAreSeenOnTheNextLookup) {
  if (!inside_) return rerun_in_netns();
  write("hosts", "127.0.0.31 n5.test.lan\n");
  start_dnsmasq({"--addn-hosts=" + dir_ + "/hosts", "--host-record=n1.test.lan,127.0.0.11",
                 "--host-record=n2.test.lan,127.0.0.12,::1",
                 "--srv-host=_cluster._tcp.test.lan,n1.test.lan,17401,0,0"});
  std::vector<DnsTarget> out;
  ASSERT_TRUE(lookup(query("n5.test.lan", DnsKind::a), out));
  EXPECT_EQ(out, (std::vector<DnsTarget>{{"n5.test.lan", "127.0.0.31", 17400}}));
  // A new hosts file and SIGHUP: dnsmasq re-reads it and clears its cache.
  write("hosts", "127.0.0.32 n5.test.lan\n");
  ::kill(pid_, SIGHUP);
  const auto deadline = Clock::now() + 5s;
  for (;;) {
    ASSERT_TRUE(lookup(query("n5.test.lan", DnsKind::a), out));
    if (out.at(0).ip == "127.0.0.32" || Clock::now() > deadline) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(out, (std::vector<DnsTarget>{{"n5.test.lan", "127.0.0.32", 17400}}));
  // A restart with other SRV records.
  ASSERT_TRUE(lookup(query("_cluster._tcp.test.lan", DnsKind::srv), out));
  EXPECT_EQ(out, (std::vector<DnsTarget>{{"n1.test.lan", "127.0.0.11", 17401}}));
  stop_dnsmasq();
  start_dnsmasq(
      {"--host-record=n2.test.lan,127.0.0.12,::1", "--srv-host=_cluster._tcp.test.lan,n2.test.lan,17409,0,0"});
  ASSERT_TRUE(lookup(query("_cluster._tcp.test.lan", DnsKind::srv), out));
  EXPECT_EQ(out, (std::vector<DnsTarget>{{"n2.test.lan", "127.0.0.12", 17409}, {"n2.test.lan", "::1", 17409}}));
}

TEST_F(DnsLookup, ConcurrentLookupsFromManyThreads) {
  if (!inside_) return rerun_in_netns();
  start_dnsmasq(
      {"--srv-host=_cluster._tcp.test.lan,n2.test.lan,17402,0,0", "--host-record=n2.test.lan,127.0.0.12,::1"});
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      std::vector<DnsTarget> out;
      for (int i = 0; i < 25; ++i)
        if (!lookup(query("_cluster._tcp.test.lan", DnsKind::srv), out) || out.size() != 2) ++wrong;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

// The default servers: /etc/resolv.conf, bind-mounted in a private mount namespace with an IPv4
// server nobody runs (refused: glibc tries the next) and dnsmasq on ::1.
TEST_F(DnsLookup, ServersOfResolvConfIncludingIpv6) {
  if (!inside_) return rerun_in_netns();
  if (std::getenv("DNS_LOOKUP_TEST_RESOLV_CONF") != nullptr) {  // inside the mount namespace
    std::vector<DnsTarget> out;
    const auto r = lookup(query("n2.test.lan", DnsKind::a, ""), out);
    ASSERT_TRUE(r) << r.message();
    EXPECT_EQ(out, (std::vector<DnsTarget>{{"n2.test.lan", "127.0.0.12", 17400}, {"n2.test.lan", "::1", 17400}}));
    return;
  }
  if (::access("/etc/resolv.conf", F_OK) != 0) GTEST_SKIP() << "no /etc/resolv.conf to bind-mount over";
  start_dnsmasq({"--host-record=n2.test.lan,127.0.0.12,::1"});
  write("resolv.conf", "nameserver 127.0.0.99\nnameserver ::1\n");
  std::string out;
  const int code = capture(
      "DNS_LOOKUP_TEST_RESOLV_CONF=1 timeout --kill-after=5 60 unshare --mount sh -c "
      "'mount --bind \"$0\" /etc/resolv.conf && exec \"$@\"' '" +
          dir_ + "/resolv.conf' '" + self_exe() + "' --gtest_color=no --gtest_filter=" + current_test() + " 2>&1",
      out);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("[  PASSED  ] 1 test"), std::string::npos) << out;
}

// ---- a fake server: answers built by the test, malformed on purpose -----------------------------

/// Answers every query on 127.0.0.1:5402 with make(query) from its own thread.
class FakeServer {
 public:
  explicit FakeServer(std::function<std::string(const std::string&)> make) : make_(std::move(make)) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(5402);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<const sockaddr*>(&sin), sizeof sin) == 0;
    if (bound_) thread_ = std::thread([this] { run(); });
  }
  ~FakeServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  bool bound() const { return bound_; }

 private:
  void run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char buf[2048];
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      const ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 12) continue;
      const std::string reply = make_(std::string(buf, static_cast<std::size_t>(n)));
      ::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<const sockaddr*>(&from), len);
    }
  }
  std::function<std::string(const std::string&)> make_;
  int fd_ = -1;
  bool bound_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string u16(unsigned v) { return {static_cast<char>((v >> 8) & 0xff), static_cast<char>(v & 0xff)}; }

/// The question of `query`, so that glibc takes the reply as the answer to it.
std::string question(const std::string& q) {
  std::size_t i = 12;
  while (i < q.size() && q[i] != 0) i += 1u + static_cast<unsigned char>(q[i]);
  return q.substr(12, std::min(q.size(), i + 5) - 12);
}

/// A reply to `q`: flags byte 2 (QR | RD | tc), rcode, the counts, then `records`.
std::string reply(const std::string& q, unsigned rcode, unsigned an, unsigned ar, const std::string& records,
                  bool tc = false) {
  std::string r = q.substr(0, 2);
  r += static_cast<char>(0x81 | (tc ? 0x02 : 0));
  r += static_cast<char>(0x80 | (rcode & 0x0f));
  return r + u16(1) + u16(an) + u16(0) + u16(ar) + question(q) + records;
}

/// A record named by the question (a pointer to offset 12).
std::string rr(unsigned type, const std::string& rdata) {
  return std::string("\xc0\x0c", 2) + u16(type) + u16(1) + std::string("\0\0\0\x3c", 4) +
         u16(static_cast<unsigned>(rdata.size())) + rdata;
}

class DnsLookupBadAnswers : public DnsLookup {};

TEST_F(DnsLookupBadAnswers, AreErrorsNotCrashes) {
  if (!inside_) return rerun_in_netns();
  struct Case {
    DnsKind kind;
    std::function<std::string(const std::string&)> make;
    std::string error;
  };
  const std::vector<Case> cases = {
      {DnsKind::srv, [](const std::string& q) { return reply(q, 0, 3, 0, ""); },
       "SRV x.test.lan: malformed answer (its records do not fit the message)"},
      {DnsKind::srv, [](const std::string& q) { return reply(q, 0, 1, 0, rr(33, std::string("\0\1\0\2", 4))); },
       "SRV x.test.lan: malformed answer (SRV record)"},
      {DnsKind::srv,
       [](const std::string& q) {  // a target that points at itself
         const unsigned at = static_cast<unsigned>(12 + question(q).size() + 12 + 6);
         return reply(q, 0, 1, 0, rr(33, std::string("\0\1\0\2\0\3", 6) + u16(0xc000 | at)));
       },
       "SRV x.test.lan: malformed answer (SRV record)"},
      {DnsKind::a, [](const std::string& q) { return reply(q, 0, 1, 0, rr(1, "12345")); },
       "A x.test.lan: malformed answer (A record of 5 bytes)"},
      {DnsKind::a, [](const std::string& q) { return reply(q, 0, 1, 0, rr(1, "1234"), true); },
       "A x.test.lan: answer truncated (too large for UDP; TCP is not used)"},
      {DnsKind::a, [](const std::string& q) { return reply(q, 0, 0, 0, "", true); },
       "A x.test.lan: answer truncated (too large for UDP; TCP is not used)"},
      {DnsKind::a, [](const std::string& q) { return reply(q, 2, 0, 0, ""); },
       "A x.test.lan: server failure (SERVFAIL)"},
  };
  for (const Case& c : cases) {
    FakeServer server(c.make);
    ASSERT_TRUE(server.bound());
    std::vector<DnsTarget> out;
    const auto r = lookup(query("x.test.lan", c.kind, "127.0.0.1:5402", 1000ms), out);
    EXPECT_EQ(r.message(), c.error);
    EXPECT_TRUE(out.empty());
  }
  // Random records after a header and question glibc accepts: any answer, never a crash.
  std::mt19937 rng(1234);
  const auto rnd = [&rng](unsigned n) { return static_cast<unsigned>(rng() % n); };
  FakeServer server([&rnd](const std::string& q) {
    const std::string qu = question(q);
    const unsigned qtype = qu.size() < 4 ? 1 : static_cast<unsigned char>(qu[qu.size() - 3]);
    std::string records;
    const unsigned an = rnd(4), ar = rnd(3);
    for (unsigned i = 0; i < an + ar + rnd(2); ++i) {
      std::string rdata(qtype == 1 ? 4 : qtype == 28 ? 16 : 6 + rnd(3), '\0');
      for (char& c : rdata) c = static_cast<char>(rnd(4) == 0 ? 0xc0 : rnd(256));
      if (qtype == 33 && rnd(2) == 0) rdata += std::string("\xc0\x0c", 2);  // the target: the question
      const unsigned kind = rnd(4);  // mostly well-formed records of the type asked
      records += kind == 0 ? rdata : rr(kind == 1 ? rnd(300) : qtype, kind == 1 ? rdata.substr(rnd(4)) : rdata);
    }
    return reply(q, rnd(6) == 0 ? rnd(6) : 0, an, ar, records);
  });
  ASSERT_TRUE(server.bound());
  int answered = 0;
  for (int i = 0; i < 300; ++i) {
    std::vector<DnsTarget> out;
    const auto r = lookup(query("x.test.lan", i % 2 ? DnsKind::a : DnsKind::srv, "127.0.0.1:5402", 1000ms), out);
    answered += r ? 1 : 0;
    for (const DnsTarget& t : out) {
      unsigned char addr[16];
      EXPECT_TRUE(::inet_pton(AF_INET, t.ip.c_str(), addr) == 1 || ::inet_pton(AF_INET6, t.ip.c_str(), addr) == 1);
    }
  }
  EXPECT_GT(answered, 0);
}

// ---- arguments: no packet is sent --------------------------------------------------------------

TEST(DnsLookupArguments, BadQueriesFailBeforeSending) {
  std::vector<DnsTarget> out;
  EXPECT_EQ(lookup(query("", DnsKind::a), out).message(), "dns: empty name");
  EXPECT_EQ(lookup(query("a b", DnsKind::a), out).message(),
            "dns: the name has a character that is not printable ASCII");
  EXPECT_EQ(lookup(query("n.test.lan", DnsKind::a, kServer, 999ms), out).message(),
            "dns: the timeout must be at least 1 s (glibc's resolver waits whole seconds)");
  EXPECT_EQ(lookup(query("n.test.lan", DnsKind::a, "nameserver"), out).message(),
            "server 'nameserver': not a numeric IPv4 or IPv6 address");
}

TEST(DnsLookupArguments, ServerSyntax) {
  for (const char* ok : {"127.0.0.1", "127.0.0.1:5353", "::1", "[::1]", "[::1]:5353", "[fe80::1]:53"})
    EXPECT_TRUE(check_server(ok)) << ok << ": " << check_server(ok).message();
  EXPECT_EQ(check_server("127.0.0.1:0").message(), "server '127.0.0.1:0': bad port '0'");
  EXPECT_EQ(check_server("127.0.0.1:x").message(), "server '127.0.0.1:x': bad port 'x'");
  EXPECT_EQ(check_server("[::1").message(), "server '[::1': missing ']'");
  EXPECT_EQ(check_server("[::1]53").message(), "server '[::1]53': expected [ipv6]:port");
  EXPECT_EQ(check_server("[::1]:").message(), "server '[::1]:': expected [ipv6]:port");
  EXPECT_EQ(check_server("dns.example:53").message(), "server 'dns.example:53': not a numeric IPv4 or IPv6 address");
  EXPECT_FALSE(check_server(""));
}

}  // namespace
