// The reliability suite's harness (harness.hpp).
#include "harness.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace rel {

namespace fs = std::filesystem;

constexpr const char* kGroup = "239.255.78.2";

bool full_mode() {
  const char* v = std::getenv("CLUSTER_RELIABILITY_FULL");
  return v != nullptr && std::string(v) == "1";
}

bool sanitized() {
#ifdef CLUSTER_RELIABILITY_SANITIZED
  return true;
#else
  return false;
#endif
}

std::uint32_t run_seed() {
  static const std::uint32_t seed = [] {
    if (const char* v = std::getenv("CLUSTER_RELIABILITY_SEED")) return static_cast<std::uint32_t>(std::strtoul(v, nullptr, 10));
    return static_cast<std::uint32_t>(Clock::now().time_since_epoch().count() & 0x7fffffff);
  }();
  return seed;
}

// ---- /proc ----

ProcStats proc_stats(pid_t pid) {
  ProcStats s;
  const std::string base = "/proc/" + std::to_string(pid);
  if (DIR* d = ::opendir((base + "/fd").c_str())) {
    s.fds = 0;
    s.sockets = 0;
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      ++s.fds;
      char target[256];
      const ssize_t n = ::readlink((base + "/fd/" + e->d_name).c_str(), target, sizeof target - 1);
      if (n > 0 && std::string(target, static_cast<std::size_t>(n)).rfind("socket:", 0) == 0) ++s.sockets;
    }
    ::closedir(d);
  }
  std::ifstream status(base + "/status");
  for (std::string line; std::getline(status, line);)
    if (starts_with(line, "VmRSS:")) s.rss_kb = std::strtol(line.c_str() + 6, nullptr, 10);
  return s;
}

// ---- Member ----

std::set<std::string> Member::discovered() const { return test_support::discovered_uuids(*proc); }

std::size_t Member::count_prefix(const std::string& prefix) const {
  return static_cast<std::size_t>(std::count_if(proc->lines().begin(), proc->lines().end(),
                                                [&](const Process::Line& l) { return starts_with(l.text, prefix); }));
}

// ---- the fixture ----

void ReliabilityTest::SetUp() {
  if (!in_private_netns())
    GTEST_SKIP() << "needs a private network namespace: run through tests/plugins/netns-run (CLUSTER_NETNS=1)";
  char tmpl[] = "/tmp/clrel-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) FAIL() << "mkdtemp: " << std::strerror(errno);
  dir_ = tmpl;
  static int test_number = 0;
  port_ = 23600 + test_number++;  // a group port per test: no cross-talk from a previous one
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  seed_ = run_seed() + static_cast<std::uint32_t>(test_number);
  rng_.seed(seed_);
  std::cout << "[ info     ] " << info->name() << ": seed " << seed_ << " (CLUSTER_RELIABILITY_SEED=" << run_seed()
            << "), " << (full_mode() ? "full" : "fast") << " mode" << (sanitized() ? ", sanitizers" : "") << "\n";
}

void ReliabilityTest::TearDown() {
  // Members first (they may run inside a namespace that goes next).
  for (auto& m : members_) {
    if (!m->proc || m->proc->exited()) continue;
    m->proc->signal(SIGCONT);
    m->proc->close_stdin();
  }
  for (auto& m : members_) {
    if (!m->proc || m->proc->exited()) continue;
    if (!m->proc->wait_exit(scaled(milliseconds(5000)))) {
      ADD_FAILURE() << m->name << " did not exit within " << scaled(milliseconds(5000)).count()
                    << " ms of the end of its input";
      m->proc->kill9();
    }
  }
  for (auto& m : members_)
    if (m->proc && !m->proc->killed() && !m->expect_failure) expect_clean_exit(*m);
  report_findings();
  if (HasFailure()) dump_members();
  members_.clear();
  network_.reset();
  if (!dir_.empty()) {
    const char* keep = std::getenv("CLUSTER_RELIABILITY_KEEP");
    std::error_code ec;
    if (keep != nullptr && std::string(keep) == "1") std::cout << "[ info     ] kept " << dir_ << "\n";
    else fs::remove_all(dir_, ec);
  }
}

void ReliabilityTest::expect_clean_exit(Member& m) {
  const int st = m.proc->status();
  EXPECT_TRUE(m.proc->exited() && WIFEXITED(st) && WEXITSTATUS(st) == 0)
      << m.name << " did not exit cleanly (wait status " << st
      << (m.proc->exited() && WIFSIGNALED(st) ? ", signal " + std::to_string(WTERMSIG(st)) : std::string()) << ")";
  for (const char* marker : {"Sanitizer", "runtime error:"})
    EXPECT_EQ(stderr_count(m, marker), 0u) << m.name << "'s stderr mentions \"" << marker << "\"";
}

void ReliabilityTest::report_findings() {
  // "service lost" for a member that "service discovered" never announced (it was known but
  // still waiting for its props): not an error of the test, a product finding to print, once
  // per member with a count (forged members in the flood make thousands).
  for (auto& m : members_) {
    if (!m->proc) continue;
    std::set<std::string> announced;
    std::size_t count = 0;
    std::string first;
    for (const auto& l : m->proc->lines()) {
      const auto w = words(l.text);
      if (w.size() >= 2 && w[0] == "discovered") announced.insert(w[1]);
      if (w.size() >= 3 && w[0] == "lost" && !announced.erase(w[1]) && count++ == 0)
        first = "\"" + l.text + "\" at +" + std::to_string(ms_between(m->proc->started(), l.at)) + " ms";
    }
    if (count > 0)
      std::cout << "[ finding  ] " << m->name << " printed " << count
                << " \"lost\" line(s) for members it never announced as discovered (first: " << first << ")\n";
  }
}

void ReliabilityTest::dump_members() {
  for (auto& m : members_) {
    std::cerr << "---- " << m->name << " (" << m->uuid << ") stdout (+ms since the test started it):\n";
    int n = 0;
    if (m->proc)
      for (const auto& l : m->proc->lines())
        if (n++ < 300) std::cerr << "  +" << ms_between(m->proc->started(), l.at) << "ms " << l.text << "\n";
    std::ifstream err(dir_ + "/" + m->name + ".err");
    std::string line;
    n = 0;
    std::cerr << "---- " << m->name << " stderr:\n";
    while (std::getline(err, line) && n++ < 100) std::cerr << "  " << line << "\n";
  }
}

Member& ReliabilityTest::spawn(const std::string& name, MemberOptions o) {
  auto m = std::make_unique<Member>();
  m->name = name;
  m->config = dir_ + "/" + name + ".ini";
  {
    test_support::ProbeIni ini = o;
    if (ini.group.empty()) ini.group = kGroup;  // a test may pick its own (an IPv6 group)
    ini.port = port_;
    ini.plugin_dir = CLUSTER_PLUGIN_DIR;
    ini.unix_path_prefix = dir_ + "/";
    test_support::write_probe_ini(m->config, ini);
  }
  std::vector<std::string> argv = o.wrapper;
  argv.push_back(CLUSTER_PROBE);
  argv.insert(argv.end(), o.args.begin(), o.args.end());
  argv.push_back(m->config);
  m->options = std::move(o);
  m->proc = std::make_unique<Process>(name, argv, dir_ + "/" + name + ".err");
  members_.push_back(std::move(m));
  return *members_.back();
}

::testing::AssertionResult ReliabilityTest::await_joined(const std::vector<Member*>& ms, milliseconds timeout) {
  timeout = scaled(timeout);
  const bool ok = wait_until(
      procs(ms),
      [&] {
        return std::all_of(ms.begin(), ms.end(), [](Member* m) {
          return m->proc->find_prefix("joined ").has_value() || !m->proc->alive();
        });
      },
      Clock::now() + timeout);
  for (Member* m : ms) {
    const auto joined = m->proc->find_prefix("joined ");
    if (!joined) {
      return ::testing::AssertionFailure() << m->name << " did not join within " << timeout.count() << " ms"
                                           << (ok ? " (it exited)" : "");
    }
    const auto w = words(joined->text);
    if (w.size() != 3) return ::testing::AssertionFailure() << m->name << ": bad line " << joined->text;
    m->uuid = w[1];
    m->sid = w[2];
  }
  return ::testing::AssertionSuccess();
}

bool ReliabilityTest::await_discovered(const std::vector<Member*>& ms,
                                       const std::function<std::set<std::string>(Member*)>& expected,
                                       milliseconds timeout) {
  return wait_until(
      procs(ms),
      [&] {
        for (Member* m : ms) {
          const auto seen = m->discovered();
          for (const auto& u : expected(m))
            if (!seen.count(u)) return false;
        }
        return true;
      },
      Clock::now() + timeout);
}

std::optional<Process::Line> ReliabilityTest::await_line(Member& m, const std::string& prefix, milliseconds timeout,
                                                         std::size_t from) {
  return test_support::await_line(*m.proc, prefix, timeout, from);
}

std::map<std::string, unsigned long long> ReliabilityTest::counters(Member& m) {
  return test_support::probe_counters(*m.proc);
}

std::string ReliabilityTest::own_props(Member& m) { return test_support::probe_props(*m.proc); }

std::optional<std::set<std::string>> ReliabilityTest::members_of(Member& m) {
  const auto w = words(m.proc->command("members", {"members "}));
  if (w.size() < 2 || w[0] != "members") return std::nullopt;
  return std::set<std::string>(w.begin() + 2, w.end());
}

std::string ReliabilityTest::await_peer_prop(Member& m, Member& other, const std::string& protocol,
                                             const std::string& key, milliseconds timeout) {
  return test_support::await_peer_prop(*m.proc, other.sid, other.uuid, protocol, key, timeout);
}

std::size_t ReliabilityTest::stderr_count(const Member& m, const std::string& text) const {
  return test_support::count_lines_containing(dir_ + "/" + m.name + ".err", text);
}

void ReliabilityTest::quit_all_and_check() {
  for (auto& m : members_)
    if (m->proc && !m->proc->exited()) m->proc->write_line("quit");
  for (auto& m : members_) {
    if (!m->proc || m->proc->exited()) continue;
    EXPECT_TRUE(m->proc->wait_exit(scaled(milliseconds(5000)))) << m->name << " did not exit after quit";
  }
}

std::vector<Process*> ReliabilityTest::procs(const std::vector<Member*>& ms) {
  std::vector<Process*> out;
  for (Member* m : ms) out.push_back(m->proc.get());
  return out;
}

std::vector<Member*> ReliabilityTest::all_members() {
  std::vector<Member*> out;
  for (auto& m : members_) out.push_back(m.get());
  return out;
}

Network& ReliabilityTest::network() {
  if (!network_) network_ = std::make_unique<Network>();
  return *network_;
}

milliseconds ReliabilityTest::scaled(milliseconds d) { return sanitized() ? d * 3 : d; }

}  // namespace rel
