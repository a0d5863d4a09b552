// Child processes for the clusterd/clusterctl tests: started with test_support::spawn
// (tests/support/child_process.hpp), output to files, every wait bounded, killed (SIGKILL) if still
// running when the handle goes.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"

namespace clusterapp::test {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class Process {
 public:
  /// Starts argv[0] (a path) with `env` added to this process's environment; stdout and stderr
  /// go to `out` and `err` (files, truncated).
  Process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env, const std::string& out,
          const std::string& err)
      : out_(out), err_(err) {
    test_support::SpawnOptions o;
    o.stdin_path = "/dev/null";
    o.stdout_path = out;
    o.stderr_path = err;
    o.truncate_stderr = true;
    o.env = env;
    pid_ = test_support::spawn(argv, o);
  }
  ~Process() {
    if (!exit_code_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) {
    if (!exit_code_) ::kill(pid_, sig);
  }
  /// The exit code (128 + signal when killed), or nullopt while it runs after `limit`.
  std::optional<int> wait(std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!exit_code_) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      if (std::chrono::steady_clock::now() >= end) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return exit_code_;
  }
  bool running() { return !wait(std::chrono::milliseconds(0)); }
  std::string out() const { return read_file(out_); }
  std::string err() const { return read_file(err_); }

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string out_, err_;
};

struct Ran {
  int rc = -1;
  std::string out, err;
};

/// Runs a command to its end (at most `limit`; then it is killed and rc is -1).
inline Ran run_process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                       const std::string& scratch, std::chrono::milliseconds limit = std::chrono::milliseconds(20000)) {
  static int n = 0;
  const std::string base = scratch + "/run" + std::to_string(++n);
  Process p(argv, env, base + ".out", base + ".err");
  Ran r;
  const auto rc = p.wait(limit);
  r.rc = rc ? *rc : -1;
  r.out = p.out();
  r.err = p.err();
  return r;
}

}  // namespace clusterapp::test
