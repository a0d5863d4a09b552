// Small helpers shared by the cluster_bench driver, its member processes and the raw-socket
// floors: monotonic time in nanoseconds (comparable across processes: CLOCK_MONOTONIC),
// percentiles, number formatting, word splitting; the child process with piped stdin/stdout is
// tests/support's (child_process.hpp).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "strings.hpp"

namespace bench {

/// steady_clock (CLOCK_MONOTONIC on Linux) in ns: the same clock in every process of the host,
/// so member processes can report event times the driver compares with its own.
inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::vector<std::string> split(const std::string& s, char sep = ' ');
using test_support::starts_with;
/// "1.23" style with `digits` significant-ish decimals; large values without decimals.
std::string fmt(double v, int decimals = 2);
/// Human rate: 1234567 -> "1.23M", 45678 -> "45.7k".
std::string fmt_rate(double per_second);

/// Nearest-rank percentile (p in 0..100) of `v` (sorted in place). NaN when empty.
double percentile(std::vector<double>& v, double p);
double median(std::vector<double> v);
double maximum(const std::vector<double>& v);
double minimum(const std::vector<double>& v);

/// A child process with stdin and stdout on pipes (stderr to a file), from tests/support: lines
/// are read without blocking; the destructor closes stdin, waits up to 5 s, then SIGKILLs and
/// reaps it.
using test_support::Child;

/// Polls the stdout of every child (at most `step_ms` per poll) and feeds their lines to
/// `on_line(child index, line)` until `done()` or the deadline (ns, now_ns clock). Returns done().
bool pump(const std::vector<Child*>& children, const std::function<void(std::size_t, const std::string&)>& on_line,
          const std::function<bool()>& done, std::int64_t deadline_ns, int step_ms = 20);

/// On-CPU time of every thread of a process in ns (/proc/PID/task/*/schedstat; exact, where
/// utime+stime count 10 ms ticks). -1 when gone.
long long sched_ns(pid_t pid);

}  // namespace bench
