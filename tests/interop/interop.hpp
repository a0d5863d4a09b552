// The interop suite's fixture (docs/interop.md): our members (cluster_probe, clusterd) next to
// live members of the ORIGINAL Tcl implementation (reference/tclnode.tcl, loading the sources
// of the checkout TCL_CLUSTER_SRC points at), in one private network namespace.
//
// The reference always uses group 230.230.230.230:23000 and reads its hid from eth0 unless told
// (-hid), so every member here uses that group and the hid kHid; each test runs in a namespace
// of its own (tests/interop/run), so tests never hear each other.
//
// Processes are test_support::Process (tests/support/child_process.hpp): pipes, a deadline on
// every wait, everything killed and reaped at the end of the test. On failure every member's
// output is printed.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace interop {

using test_support::Clock;
using test_support::Process;
using std::chrono::milliseconds;

inline constexpr const char* kHid = "02:00:00:00:00:01";

class InteropTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  /// A cluster_probe joined with the fast profile (heartbeat 1 s, ttl 10 s, protocols t c);
  /// `extra` is appended to its [cluster] section; `protocols` and `load` replace the defaults.
  /// Waits for its `joined` line.
  Process& probe(const std::string& name, const std::string& extra = "", const std::string& protocols = "t c",
                 const std::string& load = "udp-multicast tcp");
  /// A reference member: tclsh reference/tclnode.tcl -hid kHid -heartbeat 1000 -run SECONDS
  /// plus `options`. Waits for its JOINED line.
  Process& reference(const std::string& name, double run_seconds, const std::vector<std::string>& options = {});

  /// The uuid (sid@hid) of a member started by probe() or reference().
  static std::string uuid_of(const Process& p);
  /// Waits for a line starting with `prefix` (from line `from` on); nullopt at the deadline.
  std::optional<Process::Line> await_line(Process& p, const std::string& prefix, milliseconds timeout,
                                          std::size_t from = 0);
  /// Waits until `p` printed `n` lines starting with `prefix`; returns how many it printed.
  std::size_t await_count(Process& p, const std::string& prefix, std::size_t n, milliseconds timeout);
  /// Waits until each of `a` and `b` announced the other (probe: `discovered`, reference:
  /// `DISCOVERED`).
  ::testing::AssertionResult await_met(Process& a, Process& b, milliseconds timeout);
  static std::size_t count_prefix(const Process& p, const std::string& prefix);

  std::filesystem::path dir_;
  std::vector<std::unique_ptr<Process>> procs_;
};

}  // namespace interop
