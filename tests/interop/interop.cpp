// The interop fixture (interop.hpp).
#include "interop.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "netns.hpp"
#include "strings.hpp"

namespace interop {
namespace {

namespace fs = std::filesystem;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

bool is_reference(const Process& p) { return p.name().rfind("ref", 0) == 0; }

}  // namespace

void InteropTest::SetUp() {
  // tests/interop/run checks all of this before starting the binary; run by hand, say why not.
  if (env("TCL_CLUSTER_SRC").empty())
    GTEST_SKIP() << "TCL_CLUSTER_SRC is not set: point it at a checkout of Dash-OS/tcl-cluster (docs/interop.md)";
  if (env("CLUSTER_TCLSH").empty()) GTEST_SKIP() << "CLUSTER_TCLSH is not set: run through tests/interop/run";
  if (!test_support::in_private_netns())
    GTEST_SKIP() << "needs a private network namespace: run through tests/interop/run";
  char tmpl[] = "/tmp/cli-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  dir_ = tmpl;
}

void InteropTest::TearDown() {
  // The reference ignores its stdin: stop it before the probes go (they leave on end of input).
  for (auto& p : procs_)
    if (is_reference(*p)) p->signal(SIGTERM);
  const bool failed = HasFailure();
  if (failed) {
    for (auto& p : procs_) {
      p->read_available();
      std::cerr << "---- " << p->name() << " (stdout)\n";
      for (const auto& l : p->lines()) {
        std::string text = l.text;
        if (text.size() > 300) text = text.substr(0, 300) + "...(" + std::to_string(l.text.size()) + " bytes)";
        std::cerr << "+" << test_support::ms_between(p->started(), l.at) << "ms " << text << "\n";
      }
      std::ifstream err(dir_ / (p->name() + ".err"));
      std::cerr << "---- " << p->name() << " (stderr)\n";
      // An empty file inserts nothing, which sets failbit on cerr and hides all that follows.
      if (err.peek() != std::ifstream::traits_type::eof()) std::cerr << err.rdbuf();
      std::cerr << "\n";
    }
  }
  procs_.clear();
  if (!dir_.empty() && env("CLUSTER_INTEROP_KEEP") != "1") {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

Process& InteropTest::probe(const std::string& name, const std::string& extra, const std::string& protocols,
                            const std::string& load) {
  const fs::path ini = dir_ / (name + ".ini");
  std::ofstream(ini) << "[cluster]\n"
                     << "address = 230.230.230.230\nport = 23000\n"
                     << "heartbeat = 1s\nttl = 10s\nprotocols = " << protocols << "\n"
                     << "hid = " << kHid << "\n"
                     << extra << "\n"
                     << "[plugins]\npath = " << CLUSTER_PLUGIN_DIR << "\nload = " << load << "\n";
  procs_.push_back(std::make_unique<Process>(name, std::vector<std::string>{CLUSTER_PROBE, ini.string()},
                                             (dir_ / (name + ".err")).string()));
  Process& p = *procs_.back();
  EXPECT_TRUE(await_line(p, "joined ", milliseconds(5000))) << name << " did not join";
  return p;
}

Process& InteropTest::reference(const std::string& name, double run_seconds, const std::vector<std::string>& options) {
  std::vector<std::string> argv{env("CLUSTER_TCLSH"),
                                std::string(CLUSTER_INTEROP_REFERENCE) + "/tclnode.tcl",
                                "-hid", kHid, "-heartbeat", "1000", "-run", std::to_string(run_seconds)};
  argv.insert(argv.end(), options.begin(), options.end());
  procs_.push_back(std::make_unique<Process>(name, argv, (dir_ / (name + ".err")).string()));
  Process& p = *procs_.back();
  EXPECT_TRUE(await_line(p, "JOINED ", milliseconds(5000))) << name << " did not join";
  return p;
}

std::string InteropTest::uuid_of(const Process& p) {
  const auto joined = p.find_prefix(is_reference(p) ? "JOINED " : "joined ");
  if (!joined) return "?";
  const auto w = test_support::words(joined->text);
  return w.size() > 1 ? w[1] : "?";
}

std::optional<Process::Line> InteropTest::await_line(Process& p, const std::string& prefix, milliseconds timeout,
                                                     std::size_t from) {
  std::optional<Process::Line> found;
  test_support::wait_until({&p}, [&] { return (found = p.find_prefix(prefix, from)).has_value(); }, Clock::now() + timeout);
  return found;
}

std::size_t InteropTest::count_prefix(const Process& p, const std::string& prefix) {
  return static_cast<std::size_t>(std::count_if(p.lines().begin(), p.lines().end(),
                                                [&](const Process::Line& l) { return test_support::starts_with(l.text, prefix); }));
}

std::size_t InteropTest::await_count(Process& p, const std::string& prefix, std::size_t n, milliseconds timeout) {
  test_support::wait_until({&p}, [&] { return count_prefix(p, prefix) >= n; }, Clock::now() + timeout);
  return count_prefix(p, prefix);
}

::testing::AssertionResult InteropTest::await_met(Process& a, Process& b, milliseconds timeout) {
  auto saw = [](const Process& p, const Process& other) {
    return p.find_prefix((is_reference(p) ? "DISCOVERED " : "discovered ") + uuid_of(other)).has_value();
  };
  if (test_support::wait_until({&a, &b}, [&] { return saw(a, b) && saw(b, a); }, Clock::now() + timeout))
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << a.name() << (saw(a, b) ? " saw " : " did not see ") << b.name() << ", "
                                       << b.name() << (saw(b, a) ? " saw " : " did not see ") << a.name();
}

}  // namespace interop
