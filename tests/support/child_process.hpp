// Child processes for the multi-process tests (integration, reliability, interop, apps) and the
// benchmark driver, in three layers:
//   - spawn(): one posix_spawn with the redirections and environment a test asks for; the child
//     starts with every signal at its default disposition and none blocked;
//   - Child: stdin and stdout on pipes (stderr to a file), output lines handed to a callback as
//     they are read without blocking (the benchmark keeps none of them);
//   - Process: a Child that keeps every line with the time it was read, answers commands
//     ("send a line, wait for the reply line") and is reaped whatever happens.
// Every wait has a deadline; no call blocks without one.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace test_support {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// What the child's stdin, stdout and stderr are, and what it finds in its environment.
struct SpawnOptions {
  int stdin_fd = -1;            ///< dup2'ed to the child's stdin when >= 0
  int stdout_fd = -1;           ///< dup2'ed to the child's stdout when >= 0
  std::string stdin_path;       ///< else, when set, opened read-only as its stdin
  std::string stdout_path;      ///< else, when set, opened as its stdout (created, truncated)
  std::string stderr_path;      ///< when set, opened as its stderr (created)
  bool truncate_stderr = false;  ///< stderr_path truncated (else appended to)
  /// Added to this process's environment (replacing a variable of the same name).
  std::map<std::string, std::string> env;
};

/// Starts argv[0] (a path) with `o`. Throws std::runtime_error when it cannot.
pid_t spawn(const std::vector<std::string>& argv, const SpawnOptions& o = {});

/// Ignores SIGPIPE in this process (once): a dead child's stdin must not kill the test.
void ignore_sigpipe();

/// A child process with stdin and stdout on pipes (stderr appended to a file). Its output is
/// read without blocking and handed to a callback line by line. The destructor closes stdin,
/// waits up to 5 s for the exit, then SIGKILLs and reaps it.
class Child {
 public:
  using LineFn = std::function<void(const std::string&)>;

  Child(const std::vector<std::string>& argv, const std::string& stderr_path);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  int stdout_fd() const { return out_; }
  bool exited() const { return exited_; }
  int status() const { return status_; }  ///< the wait status, once exited

  bool write_line(const std::string& line);
  void close_stdin();
  /// Reads what is there without waiting; calls on_line (if set) for every complete line.
  /// At end of output (the child closed stdout or died) stdout_fd() becomes -1.
  void read_available(const LineFn& on_line);
  /// Sends `sig` unless it exited.
  void signal(int sig);
  /// SIGKILL, without waiting (wait_exit reaps it).
  void kill9();
  /// Reaps it if it exited (never waits); true once it has.
  bool reap();
  /// Waits for the exit, reading output meanwhile (to on_line, or discarded) so the child
  /// never blocks writing; polls every `step`. True when it exited.
  bool wait_exit(milliseconds limit, const LineFn& on_line = {}, milliseconds step = milliseconds(2));

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  std::string partial_;
  bool exited_ = false;
  int status_ = 0;
};

/// A child process (a cluster_probe, a reference member) whose output lines the test keeps and
/// searches. The destructor continues it (in case a test stopped it), closes its stdin, waits
/// 3 s for the exit, then SIGKILLs and reaps it.
class Process {
 public:
  struct Line {
    std::string text;
    Clock::time_point at;  ///< when the test read it
  };

  /// `command_timeout`: how long command() waits for a reply when not told.
  Process(std::string name, const std::vector<std::string>& argv, const std::string& stderr_path,
          milliseconds command_timeout = milliseconds(10000));
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  const std::string& name() const { return name_; }
  pid_t pid() const { return child_.pid(); }
  Clock::time_point started() const { return started_; }
  int stdout_fd() const { return child_.stdout_fd(); }
  const std::vector<Line>& lines() const { return lines_; }
  bool exited() const { return child_.exited(); }
  int status() const { return child_.status(); }
  /// Whether the test killed it (SIGKILL): then its exit status means nothing.
  bool killed() const { return killed_; }

  bool write_line(const std::string& line) { return child_.write_line(line); }
  void close_stdin() { child_.close_stdin(); }
  /// Reads what is available without waiting; splits it into lines.
  void read_available();
  /// The first line at index >= `from` for which `pred` holds.
  std::optional<Line> find(const std::function<bool(const std::string&)>& pred, std::size_t from = 0) const;
  std::optional<Line> find_prefix(const std::string& prefix, std::size_t from = 0) const;
  /// Sends a command and waits for its answer: the next line starting with one of `replies`
  /// (or "error "). Returns "" on timeout or when its output ended.
  std::string command(const std::string& cmd, const std::vector<std::string>& replies,
                      std::optional<milliseconds> timeout = std::nullopt);
  std::string command(const std::string& cmd, const char* reply, std::optional<milliseconds> timeout = std::nullopt) {
    return command(cmd, std::vector<std::string>{reply}, timeout);
  }
  void signal(int sig) { child_.signal(sig); }
  /// SIGKILL, then reaps it (10 s at most).
  void kill9();
  /// Polls for the exit (keeping its output meanwhile); true once exited.
  bool wait_exit(milliseconds timeout);
  /// Whether it is still running (reaps it when it is not).
  bool alive();

 private:
  std::string name_;
  Clock::time_point started_ = Clock::now();
  milliseconds command_timeout_;
  Child child_;
  std::vector<Line> lines_;
  bool killed_ = false;
};

/// Reads from every process until `done()` holds or the deadline passes; returns done().
bool wait_until(const std::vector<Process*>& procs, const std::function<bool()>& done, Clock::time_point deadline);

}  // namespace test_support
