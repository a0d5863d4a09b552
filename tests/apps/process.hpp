// Child processes for the clusterd/clusterctl tests: started with posix_spawn, output to files,
// every wait bounded, killed (SIGKILL) if still running when the handle goes.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
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

extern char** environ;

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
    std::vector<std::string> envs;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string kv = *e;
      if (!env.count(kv.substr(0, kv.find('=')))) envs.push_back(kv);
    }
    for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
    std::vector<char*> cargv, cenv;
    std::vector<std::string> args = argv;
    for (auto& a : args) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    for (auto& e : envs) cenv.push_back(e.data());
    cenv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    // The child starts with default signal handling and nothing blocked.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    const int rc = posix_spawn(&pid_, cargv[0], &fa, &attr, cargv.data(), cenv.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
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
