// Multi-process integration tests: real members (cluster_probe, tests/integration/probe.cpp)
// in separate processes, talking over the real transport plugins, driven through pipes.
//
// Every test needs a private network namespace (tests/plugins/netns-run sets CLUSTER_NETNS=1)
// and skips without one: the members multicast, and nothing must leave the machine. Each test
// uses its own multicast port and a temporary directory for its ini files, Unix socket files
// and member logs (printed when the test fails). Every wait has a deadline; every process is
// killed and reaped when its test ends, whatever happened.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "netns.hpp"
#include "probe.hpp"
#include "strings.hpp"
#include "tls_certs.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

constexpr const char* kGroup = "239.255.78.1";

// From tests/support: child processes, text helpers, namespaces.
using test_support::in_private_netns;
using test_support::ms_between;
using test_support::Process;
using test_support::prop;
using test_support::run_shell;
using test_support::starts_with;
using test_support::wait_until;
using test_support::words;

// ---- members ----

/// The member's ini (protocols, timings, remote, interface, hid, ...; the fixture sets the
/// group, port and paths), and how to run it.
struct MemberOptions : test_support::ProbeIni {
  std::vector<std::string> wrapper;  ///< runs the probe through this (ip netns exec NS)
};

struct Member {
  std::string name;
  MemberOptions options;
  std::string config;
  std::unique_ptr<Process> proc;
  std::string uuid, sid;

  std::set<std::string> discovered() const { return test_support::discovered_uuids(*proc); }
  bool has_discovered(const std::string& who) const { return discovered().count(who) != 0; }
};

class Integration : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!in_private_netns())
      GTEST_SKIP() << "needs a private network namespace: run through tests/plugins/netns-run (CLUSTER_NETNS=1)";
    char tmpl[] = "/tmp/clt-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) FAIL() << "mkdtemp: " << std::strerror(errno);
    dir_ = tmpl;
    static int test_number = 0;
    port_ = 23400 + test_number++;  // a group port per test: no cross-talk from a previous one
  }

  void TearDown() override {
    // Members first (they may run inside a namespace that goes next).
    for (auto& m : members_) {
      if (!m->proc) continue;
      m->proc->signal(SIGCONT);
      m->proc->close_stdin();
      m->proc->wait_exit(milliseconds(3000));
    }
    // Every member left cleanly: exit status 0 (a sanitizer finding, a leak included, makes it
    // non-zero) and nothing from a sanitizer on stderr.
    for (auto& m : members_) {
      if (!m->proc || m->proc->killed()) continue;
      const int st = m->proc->status();
      EXPECT_TRUE(m->proc->exited() && WIFEXITED(st) && WEXITSTATUS(st) == 0)
          << m->name << " did not exit cleanly (wait status " << st << ")";
      for (const char* marker : {"Sanitizer", "runtime error:"})
        EXPECT_EQ(stderr_count(*m, marker), 0u) << m->name << "'s stderr mentions \"" << marker << "\"";
    }
    const bool failed = HasFailure();
    if (failed) dump_members();
    members_.clear();
    for (const auto& ns : namespaces_) run_shell("ip netns del " + ns + " 2>/dev/null");
    namespaces_.clear();
    if (!dir_.empty()) {
      const char* keep = std::getenv("CLUSTER_INTEGRATION_KEEP");
      std::error_code ec;
      if (keep != nullptr && std::string(keep) == "1") std::cout << "[ info     ] kept " << dir_ << "\n";
      else fs::remove_all(dir_, ec);
    }
  }

  void dump_members() {
    for (auto& m : members_) {
      std::cerr << "---- " << m->name << " (" << m->uuid << ") stdout:\n";
      if (m->proc)
        for (const auto& l : m->proc->lines()) std::cerr << "  " << l.text << "\n";
      std::ifstream err(dir_ + "/" + m->name + ".err");
      std::string line;
      int n = 0;
      std::cerr << "---- " << m->name << " stderr:\n";
      while (std::getline(err, line) && n++ < 200) std::cerr << "  " << line << "\n";
    }
  }

  std::string socket_prefix() const { return dir_ + "/"; }

  std::string write_config(const std::string& name, const MemberOptions& o) {
    const std::string path = dir_ + "/" + name + ".ini";
    test_support::ProbeIni ini = o;
    ini.group = kGroup;
    ini.port = port_;
    ini.plugin_dir = CLUSTER_PLUGIN_DIR;
    ini.unix_path_prefix = socket_prefix();
    test_support::write_probe_ini(path, ini);
    return path;
  }

  /// Starts a member without waiting for it.
  Member& spawn(const std::string& name, MemberOptions o = {}) {
    auto m = std::make_unique<Member>();
    m->name = name;
    m->options = o;
    m->config = write_config(name, o);
    std::vector<std::string> argv = o.wrapper;
    argv.push_back(CLUSTER_PROBE);
    argv.push_back(m->config);
    m->proc = std::make_unique<Process>(name, argv, dir_ + "/" + name + ".err", milliseconds(5000));
    members_.push_back(std::move(m));
    return *members_.back();
  }

  /// Waits for every member's "joined <uuid> <sid>" line and records uuid and sid.
  void await_joined(const std::vector<Member*>& ms, milliseconds timeout = milliseconds(15000)) {
    const bool ok = wait_until(
        procs(ms), [&] { return std::all_of(ms.begin(), ms.end(), [](Member* m) { return m->proc->find_prefix("joined ").has_value(); }); },
        Clock::now() + timeout);
    ASSERT_TRUE(ok) << "not every member joined within " << timeout.count() << " ms";
    for (Member* m : ms) {
      const auto w = words(m->proc->find_prefix("joined ")->text);
      ASSERT_EQ(w.size(), 3u);
      m->uuid = w[1];
      m->sid = w[2];
    }
  }

  Member& start(const std::string& name, MemberOptions o = {}) {
    Member& m = spawn(name, std::move(o));
    await_joined({&m});
    return m;
  }

  static std::vector<Process*> procs(const std::vector<Member*>& ms) {
    std::vector<Process*> out;
    for (Member* m : ms) out.push_back(m->proc.get());
    return out;
  }

  /// Waits until every member discovered every other one; returns when (the latest
  /// "discovered" line), or nullopt on timeout.
  std::optional<Clock::time_point> await_mesh(const std::vector<Member*>& ms, milliseconds timeout) {
    auto complete = [&] {
      for (Member* m : ms) {
        const auto seen = m->discovered();
        for (Member* other : ms)
          if (other != m && !seen.count(other->uuid)) return false;
      }
      return true;
    };
    if (!wait_until(procs(ms), complete, Clock::now() + timeout)) return std::nullopt;
    Clock::time_point last{};
    for (Member* m : ms)
      for (const auto& l : m->proc->lines())
        if (starts_with(l.text, "discovered ")) last = std::max(last, l.at);
    return last;
  }

  /// The first line of `m` at or after `from` starting with `prefix`, waiting up to `timeout`.
  std::optional<Process::Line> await_line(Member& m, const std::string& prefix, milliseconds timeout, std::size_t from = 0) {
    return test_support::await_line(*m.proc, prefix, timeout, from);
  }

  /// Waits until `m` knows the `protocol` props of `other` (its `key` is set); returns them.
  /// "service discovered" may fire on a heartbeat without props (the member then asks for them
  /// with a filtered discovery, answered directly): only the props show that this is done.
  std::string await_peer_prop(Member& m, Member& other, const std::string& protocol, const std::string& key,
                              milliseconds timeout = milliseconds(3000)) {
    return test_support::await_peer_prop(*m.proc, other.sid, other.uuid, protocol, key, timeout);
  }

  /// Lines of a member's stderr containing `text`.
  std::size_t stderr_count(const Member& m, const std::string& text) const {
    return test_support::count_lines_containing(dir_ + "/" + m.name + ".err", text);
  }

  /// Stops `b` (SIGSTOP) until `a` expired it, then lets it go on (SIGCONT). Returns the
  /// index of a's next line (to look for the rediscovery from), npos when a never expired b.
  std::size_t pause_until_expired(Member& a, Member& b, const MemberOptions& o) {
    const std::size_t from = a.proc->lines().size();
    b.proc->signal(SIGSTOP);
    const auto lost = await_line(a, "lost " + b.uuid + " ", o.ttl + o.heartbeat + milliseconds(1500), from);
    b.proc->signal(SIGCONT);
    if (!lost) return std::string::npos;
    EXPECT_EQ(lost->text, "lost " + b.uuid + " expired");
    return a.proc->lines().size();
  }

  std::map<std::string, unsigned long long> counters(Member& m) { return test_support::probe_counters(*m.proc); }

  std::string own_props(Member& m) { return test_support::probe_props(*m.proc); }

  std::string dir_;
  int port_ = 0;
  std::vector<std::unique_ptr<Member>> members_;
  std::vector<std::string> namespaces_;
};

// a. Ten members all discover each other, quickly.
TEST_F(Integration, TenMembersDiscoverEachOther) {
  // Discovery does not wait for heartbeats; a longer ttl keeps a member starved of CPU while
  // ten start at once (sanitizer builds, a busy CI machine) from expiring and coming back.
  MemberOptions o;
  o.ttl = milliseconds(3000);
  const auto t0 = Clock::now();
  std::vector<Member*> ms;
  for (int i = 0; i < 10; ++i) ms.push_back(&spawn("m" + std::to_string(i), o));
  await_joined(ms);
  Clock::time_point all_joined{};
  for (Member* m : ms) all_joined = std::max(all_joined, m->proc->find_prefix("joined ")->at);

  const auto done = await_mesh(ms, milliseconds(5000));
  ASSERT_TRUE(done.has_value()) << "10 members did not all discover each other within 5 s of the last join";
  std::cout << "[ timing   ] 10 members discovered each other " << ms_between(all_joined, *done)
            << " ms after the last joined (" << ms_between(t0, *done) << " ms after spawning the first)\n";

  for (Member* m : ms) {
    const auto seen = m->discovered();
    EXPECT_EQ(seen.size(), 9u) << m->name << " discovered " << seen.size() << " distinct members";
    EXPECT_EQ(seen.count(m->uuid), 0u) << m->name << " discovered itself";
    const auto lines = std::count_if(m->proc->lines().begin(), m->proc->lines().end(),
                                     [](const Process::Line& l) { return starts_with(l.text, "discovered "); });
    EXPECT_EQ(lines, 9) << m->name << ": \"service discovered\" fired more than once for a member";
    const auto w = words(m->proc->command("members", "members "));
    ASSERT_GE(w.size(), 2u);
    EXPECT_EQ(w[1], "9") << m->name;
  }
}

// b. A graceful leave is seen by the others at once, long before any expiry.
TEST_F(Integration, GracefulLeaveSeenAtOnce) {
  std::vector<Member*> ms{&spawn("a"), &spawn("b"), &spawn("c")};
  await_joined(ms);
  ASSERT_TRUE(await_mesh(ms, milliseconds(5000))) << "no mesh";
  Member& a = *ms[0];
  Member& b = *ms[1];
  Member& c = *ms[2];

  const auto t_quit = Clock::now();
  ASSERT_TRUE(c.proc->write_line("quit"));
  const std::string lost = "lost " + c.uuid + " ";
  const bool both = wait_until(
      {a.proc.get(), b.proc.get(), c.proc.get()},
      [&] { return a.proc->find_prefix(lost).has_value() && b.proc->find_prefix(lost).has_value(); },
      t_quit + milliseconds(2000));
  ASSERT_TRUE(both) << "the others did not see the leave within 2 s";
  for (Member* m : {&a, &b}) {
    const auto line = *m->proc->find_prefix(lost);
    const auto latency = ms_between(t_quit, line.at);
    std::cout << "[ timing   ] " << m->name << " saw the leave after " << latency << " ms\n";
    EXPECT_EQ(line.text, lost + "left");
    EXPECT_LE(latency, 300) << m->name << " saw the leave only after " << latency << " ms";
  }
  EXPECT_TRUE(c.proc->wait_exit(milliseconds(5000))) << "c did not exit after quit";
  EXPECT_TRUE(c.proc->find_prefix("bye").has_value());
  EXPECT_TRUE(WIFEXITED(c.proc->status()) && WEXITSTATUS(c.proc->status()) == 0)
      << "c exited with status " << c.proc->status();
  // Its socket file went with it.
  EXPECT_FALSE(fs::exists(socket_prefix() + c.sid + ".sock"));
}

// c. A member killed with SIGKILL expires within ttl (+ a heartbeat period + slack).
TEST_F(Integration, KilledMemberExpiresWithinTtl) {
  std::vector<Member*> ms{&spawn("a"), &spawn("b"), &spawn("c")};
  await_joined(ms);
  ASSERT_TRUE(await_mesh(ms, milliseconds(5000))) << "no mesh";
  Member& a = *ms[0];
  Member& b = *ms[1];
  Member& c = *ms[2];
  const MemberOptions o;
  const auto bound = o.ttl + o.heartbeat + milliseconds(500);

  const auto t_kill = Clock::now();
  c.proc->kill9();
  const std::string lost = "lost " + c.uuid + " ";
  const bool both = wait_until(
      {a.proc.get(), b.proc.get()},
      [&] { return a.proc->find_prefix(lost).has_value() && b.proc->find_prefix(lost).has_value(); },
      t_kill + bound + milliseconds(2000));
  ASSERT_TRUE(both) << "the others did not notice the kill";
  for (Member* m : {&a, &b}) {
    const auto line = *m->proc->find_prefix(lost);
    const auto latency = ms_between(t_kill, line.at);
    std::cout << "[ timing   ] " << m->name << " noticed the kill -9 after " << latency << " ms (ttl "
              << o.ttl.count() << " ms, heartbeat " << o.heartbeat.count() << " ms)\n";
    EXPECT_EQ(line.text, lost + "expired");
    EXPECT_LE(latency, bound.count()) << m->name;
    // Heard from at most one heartbeat period before the kill: it cannot expire much sooner.
    EXPECT_GE(latency, (o.ttl - 2 * o.heartbeat).count()) << m->name << " lost it before its ttl";
  }
  // The survivors removed its stale socket file (nobody accepts on it any more).
  const std::string path = socket_prefix() + c.sid + ".sock";
  wait_until({}, [&] { return !fs::exists(path); }, Clock::now() + milliseconds(1000));
  EXPECT_FALSE(fs::exists(path)) << "the dead member's socket file " << path << " was left behind";
}

// d. A dead TCP listener: the sender falls back to multicast and reports the failure; the
// peer recreates its listener on a new port, and the next send goes over t again.
TEST_F(Integration, DeadTcpListenerFallsBackAndIsRecreated) {
  MemberOptions o;
  o.protocols = "t c";
  // Slow heartbeats: b's own check() (every heartbeat) would otherwise repair the listener
  // before a's send notices it; that path has its own test below.
  o.heartbeat = milliseconds(5000);
  o.ttl = milliseconds(20000);
  std::vector<Member*> ms{&spawn("a", o), &spawn("b", o)};
  await_joined(ms);
  ASSERT_TRUE(await_mesh(ms, milliseconds(5000))) << "no mesh";
  Member& a = *ms[0];
  Member& b = *ms[1];

  const std::string old_port = prop(own_props(b), "t", "port");
  ASSERT_FALSE(old_port.empty());
  // Both know each other's props: the discovery exchange (and its connections) is over.
  ASSERT_EQ(await_peer_prop(a, b, "t", "port"), old_port);
  ASSERT_FALSE(await_peer_prop(b, a, "t", "port").empty());
  EXPECT_EQ(b.proc->command("kill-listener", "killed "), "killed " + old_port);
  // The members talked over t during discovery, and a connection is reused both ways: close
  // them, or the send would simply use the open one and never notice the dead listener.
  const std::string dropped = b.proc->command("drop-connections", "dropped ");
  ASSERT_TRUE(starts_with(dropped, "dropped ")) << dropped;
  std::cout << "[ info     ] b " << dropped << " connection(s)\n";
  // The dead listener stays readable (accept fails with EINVAL) until it is replaced: b must
  // not spin on it meanwhile (it did: ~100000 "accept: Invalid argument" lines a second).
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_LE(stderr_count(b, "accept:"), 2u) << "b spins on its dead listener";

  const auto t_send = Clock::now();
  const std::size_t from = b.proc->lines().size();
  EXPECT_EQ(a.proc->command("send " + b.sid + " hello", "sent "), "sent 1");
  const auto ev = await_line(b, "event " + a.uuid + " ", milliseconds(2000), from);
  ASSERT_TRUE(ev.has_value()) << "b never got the event";
  EXPECT_EQ(ev->text, "event " + a.uuid + " c hello") << "expected the fallback to multicast";

  // The failure report makes b recreate its listener on a new port and advertise it.
  std::string new_port;
  wait_until(
      {},
      [&] {
        new_port = prop(own_props(b), "t", "port");
        return !new_port.empty() && new_port != "0" && new_port != old_port;
      },
      t_send + milliseconds(2000));
  ASSERT_NE(new_port, old_port) << "b's listener was not recreated";
  ASSERT_NE(new_port, "0") << "b has no listener";
  std::string a_view;
  wait_until(
      {},
      [&] {
        a_view = a.proc->command("peer " + b.sid, "peer ");
        return a_view == "peer " + b.uuid + " t {port " + new_port + "}";
      },
      Clock::now() + milliseconds(2000));
  EXPECT_EQ(a_view, "peer " + b.uuid + " t {port " + new_port + "}") << "a did not learn the new port";
  std::cout << "[ timing   ] b listens on " << new_port << " (was " << old_port << "), "
            << ms_between(t_send, Clock::now()) << " ms after the send\n";
  auto ka = counters(a);
  EXPECT_GE(ka["send_failures"], 1u);

  const std::size_t from2 = b.proc->lines().size();
  EXPECT_EQ(a.proc->command("send " + b.sid + " again", "sent "), "sent 1");
  const auto ev2 = await_line(b, "event " + a.uuid + " ", milliseconds(2000), from2);
  ASSERT_TRUE(ev2.has_value()) << "b never got the second event";
  EXPECT_EQ(ev2->text, "event " + a.uuid + " t again") << "expected t over the recreated listener";
}

// d2. Without any send, a dead TCP listener is recreated by the member's own check() on its
// next heartbeat, and peers learn the new port.
TEST_F(Integration, DeadTcpListenerIsRecreatedByCheck) {
  MemberOptions o;
  o.protocols = "t c";
  std::vector<Member*> ms{&spawn("a", o), &spawn("b", o)};
  await_joined(ms);
  ASSERT_TRUE(await_mesh(ms, milliseconds(5000))) << "no mesh";
  Member& a = *ms[0];
  Member& b = *ms[1];
  const std::string old_port = prop(own_props(b), "t", "port");
  ASSERT_EQ(await_peer_prop(a, b, "t", "port"), old_port);
  const auto t_kill = Clock::now();
  EXPECT_EQ(b.proc->command("kill-listener", "killed "), "killed " + old_port);
  std::string a_view;
  wait_until(
      {},
      [&] {
        a_view = a.proc->command("peer " + b.sid, "peer ");
        return !a_view.empty() && a_view != "peer " + b.uuid + " t {port " + old_port + "}" &&
               a_view.find("t {port ") != std::string::npos;
      },
      t_kill + milliseconds(2000));
  EXPECT_NE(a_view, "peer " + b.uuid + " t {port " + old_port + "}") << "the listener was not recreated";
  std::cout << "[ timing   ] listener recreated and re-advertised " << ms_between(t_kill, Clock::now())
            << " ms after it died\n";
  EXPECT_EQ(counters(a)["send_failures"], 0u);
}

// e. A deleted Unix socket file is recreated within two heartbeats, and works.
TEST_F(Integration, DeletedUnixSocketIsRecreated) {
  std::vector<Member*> ms{&spawn("a"), &spawn("b")};
  await_joined(ms);
  ASSERT_TRUE(await_mesh(ms, milliseconds(5000))) << "no mesh";
  Member& a = *ms[0];
  Member& b = *ms[1];
  const MemberOptions o;

  const std::string path = prop(own_props(b), "u", "path");
  ASSERT_EQ(path, socket_prefix() + b.sid + ".sock");
  ASSERT_EQ(await_peer_prop(a, b, "u", "path"), path);
  ASSERT_FALSE(await_peer_prop(b, a, "u", "path").empty());
  struct stat st{};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  ASSERT_TRUE(S_ISSOCK(st.st_mode));

  ASSERT_EQ(::unlink(path.c_str()), 0);
  const auto t_del = Clock::now();
  auto is_socket = [&] {
    struct stat s{};
    return ::lstat(path.c_str(), &s) == 0 && S_ISSOCK(s.st_mode);
  };
  const bool back = wait_until({a.proc.get(), b.proc.get()}, is_socket, t_del + 2 * o.heartbeat + milliseconds(100));
  ASSERT_TRUE(back) << path << " was not recreated within two heartbeats";
  std::cout << "[ timing   ] the socket file was back after " << ms_between(t_del, Clock::now()) << " ms\n";

  // A new connection must go to the new file: drop the one the members already share.
  const std::string dropped = a.proc->command("drop-connections", "dropped ");
  ASSERT_TRUE(starts_with(dropped, "dropped ")) << dropped;
  const std::size_t from = b.proc->lines().size();
  EXPECT_EQ(a.proc->command("send " + b.sid + " over-unix", "sent "), "sent 1");
  const auto ev = await_line(b, "event " + a.uuid + " ", milliseconds(2000), from);
  ASSERT_TRUE(ev.has_value()) << "b never got the event";
  EXPECT_EQ(ev->text, "event " + a.uuid + " u over-unix");
  EXPECT_EQ(counters(a)["send_failures"], 0u);
}

// f. remote = 0 ignores another host. A second "host" is a second network namespace joined to
// ours by a veth pair: B lives there (remote = 1 on veth1), C here (remote = 1 on veth0), and
// A here with remote = 0. C and B see each other; A never sees B.
TEST_F(Integration, RemoteZeroIgnoresOtherHost) {
  if (run_shell("command -v ip >/dev/null 2>&1") != 0) GTEST_SKIP() << "no 'ip' (iproute2)";
  const std::string ns = "clt-" + std::to_string(::getpid());
  if (run_shell("ip netns add " + ns) != 0) GTEST_SKIP() << "cannot create network namespace " << ns;
  namespaces_.push_back(ns);  // TearDown deletes it, after the members are gone
  const std::string in_ns = "ip netns exec " + ns + " ";
  const std::vector<std::string> setup = {
      "ip link add veth0 type veth peer name veth1 netns " + ns,
      "ip addr add 10.231.0.1/24 dev veth0",
      "ip link set veth0 multicast on",
      "ip link set veth0 up",
      "ip route add 224.0.0.0/4 dev veth0 metric 100",  // lo's route (netns-run) stays first
      in_ns + "ip link set lo up",
      in_ns + "ip addr add 10.231.0.2/24 dev veth1",
      in_ns + "ip link set veth1 multicast on",
      in_ns + "ip link set veth1 up",
      in_ns + "ip route add 224.0.0.0/4 dev veth1",
  };
  for (const std::string& cmd : setup) ASSERT_EQ(run_shell(cmd), 0) << cmd;
  // Both ends up before anyone joins (A joins the group on every interface that is up).
  const bool up = wait_until(
      {},
      [&] {
        return run_shell("ip link show veth0 | grep -q LOWER_UP") == 0 &&
               run_shell(in_ns + "ip link show veth1 | grep -q LOWER_UP") == 0;
      },
      Clock::now() + milliseconds(3000));
  ASSERT_TRUE(up) << "the veth pair did not come up";

  MemberOptions oa;
  oa.hid = "host-a";
  MemberOptions oc = oa;
  oc.remote = 1;
  oc.interface = "veth0";
  MemberOptions ob;
  ob.hid = "host-b";
  ob.remote = 1;
  ob.interface = "veth1";
  ob.wrapper = {"/usr/bin/env", "ip", "netns", "exec", ns};
  const auto t0 = Clock::now();
  std::vector<Member*> ms{&spawn("a", oa), &spawn("c", oc), &spawn("b", ob)};
  await_joined(ms);
  Member& a = *ms[0];
  Member& c = *ms[1];
  Member& b = *ms[2];

  const bool cb = wait_until(
      procs(ms), [&] { return c.has_discovered(b.uuid) && b.has_discovered(c.uuid); }, t0 + milliseconds(5000));
  ASSERT_TRUE(cb) << "C and B did not discover each other across the veth pair";
  std::cout << "[ timing   ] C and B discovered each other " << ms_between(t0, Clock::now())
            << " ms after they were started\n";
  // Give A the same time again, and a few heartbeats more.
  const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - t0);
  wait_until(procs(ms), [] { return false; }, Clock::now() + std::max(milliseconds(600), took));
  EXPECT_FALSE(a.has_discovered(b.uuid)) << "A (remote = 0) discovered the member of the other host";
  EXPECT_FALSE(b.has_discovered(a.uuid)) << "B heard from A, whose packets must not leave the host";
  auto ka = counters(a);
  EXPECT_GT(ka["dropped_remote"], 0u) << "A never even received B's packets: the test proves nothing";
  std::cout << "[ info     ] A dropped " << ka["dropped_remote"] << " packet(s) from the other host\n";
  // Traffic really flows between the hosts: an event from C reaches B over t (not u: remote).
  ASSERT_FALSE(await_peer_prop(c, b, "t", "port").empty());
  const std::size_t from = b.proc->lines().size();
  EXPECT_EQ(c.proc->command("send " + b.sid + " across", "sent "), "sent 1");
  const auto ev = await_line(b, "event " + c.uuid + " ", milliseconds(2000), from);
  ASSERT_TRUE(ev.has_value()) << "B never got C's event";
  EXPECT_EQ(ev->text, "event " + c.uuid + " t across");
}

// g. A member that stops for longer than ttl (SIGSTOP: a hung process, a long GC pause) is
// expired, and comes back when it runs again: its next heartbeat carries no props, so the
// others rediscover it and ask it for them (a filtered discovery, answered directly).
TEST_F(Integration, PausedMemberExpiresAndComesBack) {
  std::vector<Member*> ms{&spawn("a"), &spawn("b")};
  await_joined(ms);
  ASSERT_TRUE(await_mesh(ms, milliseconds(5000))) << "no mesh";
  Member& a = *ms[0];
  Member& b = *ms[1];
  const MemberOptions o;
  const std::string path = prop(own_props(b), "u", "path");
  ASSERT_EQ(await_peer_prop(a, b, "u", "path"), path);

  const std::size_t from = pause_until_expired(a, b, o);
  ASSERT_NE(from, std::string::npos) << "a did not expire the stopped member";
  // It was only paused: its socket file is still served, so a kept it.
  EXPECT_TRUE(fs::exists(path));
  const auto t_cont = Clock::now();
  const auto again = await_line(a, "discovered " + b.uuid, o.heartbeat * 3 + milliseconds(1000), from);
  ASSERT_TRUE(again.has_value()) << "a did not rediscover b";
  std::cout << "[ timing   ] a rediscovered b " << ms_between(t_cont, again->at) << " ms after SIGCONT\n";
  EXPECT_EQ(await_peer_prop(a, b, "u", "path"), path) << "a did not get b's props back";
  const std::size_t from_b = b.proc->lines().size();
  EXPECT_EQ(a.proc->command("send " + b.sid + " welcome-back", "sent "), "sent 1");
  const auto ev = await_line(b, "event " + a.uuid + " ", milliseconds(2000), from_b);
  ASSERT_TRUE(ev.has_value()) << "b never got the event";
  EXPECT_EQ(ev->text, "event " + a.uuid + " u welcome-back");
}

// A member first heard (again) through a bare periodic heartbeat is announced as discovered
// only once its props and tags arrived, so a greeting sent from the discovered hook goes
// directly over its best protocol, and no healthy server of it is reported as failed.
TEST_F(Integration, RediscoveredMemberIsGreetedDirectly) {
  std::vector<Member*> ms{&spawn("a"), &spawn("b")};
  await_joined(ms);
  ASSERT_TRUE(await_mesh(ms, milliseconds(5000))) << "no mesh";
  Member& a = *ms[0];
  Member& b = *ms[1];
  const MemberOptions o;
  const std::string port = prop(own_props(b), "t", "port");
  ASSERT_EQ(await_peer_prop(a, b, "t", "port"), port);
  ASSERT_EQ(a.proc->command("greet", "greeting"), "greeting");

  const std::size_t from_b = b.proc->lines().size();
  const std::size_t from = pause_until_expired(a, b, o);
  ASSERT_NE(from, std::string::npos) << "a did not expire the stopped member";
  const auto ev = await_line(b, "event " + a.uuid + " ", o.heartbeat * 3 + milliseconds(2000), from_b);
  ASSERT_TRUE(ev.has_value()) << "b never got the greeting";
  EXPECT_EQ(ev->text, "event " + a.uuid + " u hello-" + a.sid);
  EXPECT_EQ(counters(a)["send_failures"], 0u);
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(prop(own_props(b), "t", "port"), port) << "b recreated its healthy TCP listener";
}

// h. Members that run only tls and multicast ("s c") answer each other's queries over s
// (certificates made by the test).
TEST_F(Integration, TlsMembersAnswerQueriesOverS) {
  cluster::test::TestPki pki(dir_);
  auto tls_member = [&](const std::string& name) {
    MemberOptions o;
    o.protocols = "s c";
    o.load = "udp-multicast tls";
    const cluster::test::CertFiles files = pki.member(name);
    o.extra_ini = "[tls]\ncert = " + files.cert + "\nkey = " + files.key + "\nca = " + pki.ca() + "\n";
    return o;
  };
  std::vector<Member*> ms{&spawn("a", tls_member("a")), &spawn("b", tls_member("b"))};
  await_joined(ms);
  ASSERT_TRUE(await_mesh(ms, milliseconds(5000))) << "no mesh";
  Member& a = *ms[0];
  Member& b = *ms[1];
  ASSERT_FALSE(await_peer_prop(a, b, "s", "port").empty());
  ASSERT_EQ(b.proc->command("answer", "answering"), "answering");
  EXPECT_EQ(a.proc->command("query " + b.uuid + " ping 3000", {"answers ", "timeout ", "stuck "}, milliseconds(6000)),
            "answers 1 " + b.uuid + "=" + b.sid + ":ping");
  const std::size_t from = b.proc->lines().size();
  EXPECT_EQ(a.proc->command("send " + b.sid + " secret", "sent "), "sent 1");
  const auto ev = await_line(b, "event " + a.uuid + " ", milliseconds(2000), from);
  ASSERT_TRUE(ev.has_value()) << "b never got the event";
  EXPECT_EQ(ev->text, "event " + a.uuid + " s secret");
  EXPECT_EQ(counters(a)["send_failures"], 0u);
}

}  // namespace
