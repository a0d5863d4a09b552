// The reliability suite's harness (docs/testing.md, "Reliability"): members are cluster_probe
// processes (tests/integration/probe.cpp) driven through pipes (test_support::Process,
// tests/support/child_process.hpp), as in tests/integration; this adds what the reliability
// tests need on top: several members per test over time, members inside other network
// namespaces (network.hpp), per-process resource readings from /proc, and the fast/full switch.
//
// Every wait has a deadline; every process is killed and reaped when its test ends, whatever
// happened; every namespace a test made is deleted in TearDown.
#pragma once

#include <sys/types.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "netns.hpp"
#include "network.hpp"
#include "probe.hpp"
#include "strings.hpp"

namespace rel {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// From tests/support: child processes, text helpers, namespaces.
using test_support::in_private_netns;
using test_support::ms_between;
using test_support::Process;
using test_support::prop;
using test_support::run_shell;
using test_support::starts_with;
using test_support::wait_until;
using test_support::words;

/// CLUSTER_RELIABILITY_FULL=1: the full suite (long runs); otherwise the fast subset.
bool full_mode();
/// Built with ASan + UBSan (everything is slower; RSS is not a leak signal there).
bool sanitized();
/// The seed of this run's random choices: CLUSTER_RELIABILITY_SEED, else from the clock.
std::uint32_t run_seed();

/// What /proc says about a process.
struct ProcStats {
  int fds = -1;      ///< entries of /proc/<pid>/fd
  int sockets = -1;  ///< of them, sockets
  long rss_kb = -1;  ///< VmRSS
};
ProcStats proc_stats(pid_t pid);

/// The member's ini (protocols, timings, load, extra lines, ...; the fixture sets the group,
/// port and paths; ttl 1.5 s here), and how to run it.
struct MemberOptions : test_support::ProbeIni {
  MemberOptions() { ttl = milliseconds(1500); }
  std::vector<std::string> wrapper;  ///< runs the probe through this (ip netns exec NS)
  std::vector<std::string> args;     ///< probe options before CONFIG
  bool await_join = true;            ///< (start only) wait for "joined"
};

struct Member {
  std::string name;
  MemberOptions options;
  std::string config;
  std::unique_ptr<Process> proc;
  std::string uuid, sid;
  /// The test expects it to fail or crash and checks that itself: TearDown does not require
  /// a clean exit.
  bool expect_failure = false;

  /// Distinct uuids of its "discovered" lines.
  std::set<std::string> discovered() const;
  std::size_t count_prefix(const std::string& prefix) const;
};

/// Base fixture: a temporary folder, a multicast port per test, members, namespaces.
class ReliabilityTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  Member& spawn(const std::string& name, MemberOptions o = {});
  /// Waits for every member's "joined <uuid> <sid>" line and records uuid and sid.
  ::testing::AssertionResult await_joined(const std::vector<Member*>& ms, milliseconds timeout = milliseconds(20000));
  /// Waits until every member of `ms` discovered every one in `expected(m)`.
  bool await_discovered(const std::vector<Member*>& ms, const std::function<std::set<std::string>(Member*)>& expected,
                        milliseconds timeout);
  std::optional<Process::Line> await_line(Member& m, const std::string& prefix, milliseconds timeout, std::size_t from = 0);
  std::map<std::string, unsigned long long> counters(Member& m);
  std::string own_props(Member& m);
  /// Members `m` knows ("members" command), as uuids; nullopt when it did not answer.
  std::optional<std::set<std::string>> members_of(Member& m);
  std::string await_peer_prop(Member& m, Member& other, const std::string& protocol, const std::string& key,
                              milliseconds timeout = milliseconds(5000));
  std::size_t stderr_count(const Member& m, const std::string& text) const;
  /// Quits every member still running and checks it exits 0 with a clean stderr.
  void quit_all_and_check();
  /// Checks that an exited member exited 0 with nothing from a sanitizer on stderr.
  void expect_clean_exit(Member& m);
  void dump_members();
  /// Prints product findings visible in the members' output (see docs/testing.md).
  void report_findings();
  static std::vector<Process*> procs(const std::vector<Member*>& ms);
  std::vector<Member*> all_members();

  /// A network of `hosts` namespaces for this test (deleted in TearDown).
  Network& network();

  /// Scales a duration for sanitizer builds (x3).
  static milliseconds scaled(milliseconds d);

  std::string dir_;
  int port_ = 0;
  std::vector<std::unique_ptr<Member>> members_;
  std::unique_ptr<Network> network_;
  std::mt19937 rng_;
  std::uint32_t seed_ = 0;
};

}  // namespace rel
