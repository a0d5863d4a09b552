// Child processes for the tests and the benchmark driver (child_process.hpp).
#include "child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace test_support {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

void ignore_sigpipe() {
  static const bool ignored = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)ignored;
}

pid_t spawn(const std::vector<std::string>& argv, const SpawnOptions& o) {
  if (argv.empty()) throw std::runtime_error("spawn: no program");
  // The environment: ours, with o.env added or replacing.
  std::vector<std::string> envs;
  if (!o.env.empty()) {
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string kv = *e;
      if (!o.env.count(kv.substr(0, kv.find('=')))) envs.push_back(kv);
    }
    for (const auto& [k, v] : o.env) envs.push_back(k + "=" + v);
  }
  std::vector<char*> cenv;
  for (auto& e : envs) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (o.stdin_fd >= 0) posix_spawn_file_actions_adddup2(&fa, o.stdin_fd, 0);
  else if (!o.stdin_path.empty()) posix_spawn_file_actions_addopen(&fa, 0, o.stdin_path.c_str(), O_RDONLY, 0);
  if (o.stdout_fd >= 0) posix_spawn_file_actions_adddup2(&fa, o.stdout_fd, 1);
  else if (!o.stdout_path.empty())
    posix_spawn_file_actions_addopen(&fa, 1, o.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!o.stderr_path.empty())
    posix_spawn_file_actions_addopen(&fa, 2, o.stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | (o.truncate_stderr ? O_TRUNC : O_APPEND), 0644);
  // The child starts with default signal handling (SIGPIPE included, which the tests ignore)
  // and nothing blocked.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, static_cast<short>(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF));
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, cargv[0], &fa, &attr, cargv.data(), o.env.empty() ? environ : cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("posix_spawn " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

// ---- Child ----

Child::Child(const std::vector<std::string>& argv, const std::string& stderr_path) {
  ignore_sigpipe();
  int in[2] = {-1, -1};
  int out[2] = {-1, -1};
  if (::pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
  if (::pipe2(out, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(in[0]);
    ::close(in[1]);
    throw std::runtime_error(std::string("pipe2: ") + std::strerror(e));
  }
  SpawnOptions o;
  o.stdin_fd = in[0];
  o.stdout_fd = out[1];
  o.stderr_path = stderr_path;
  try {
    pid_ = spawn(argv, o);
  } catch (...) {
    for (int fd : {in[0], in[1], out[0], out[1]}) ::close(fd);
    throw;
  }
  ::close(in[0]);
  ::close(out[1]);
  in_ = in[1];
  out_ = out[0];
  ::fcntl(out_, F_SETFL, ::fcntl(out_, F_GETFL) | O_NONBLOCK);
}

Child::~Child() {
  close_stdin();
  if (!wait_exit(milliseconds(5000))) {
    kill9();
    wait_exit(milliseconds(5000));
  }
  if (out_ >= 0) ::close(out_);
}

bool Child::write_line(const std::string& line) {
  if (in_ < 0) return false;
  const std::string l = line + "\n";
  std::size_t done = 0;
  while (done < l.size()) {
    const ssize_t n = ::write(in_, l.data() + done, l.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void Child::close_stdin() {
  if (in_ >= 0) ::close(in_);
  in_ = -1;
}

void Child::read_available(const LineFn& on_line) {
  if (out_ < 0) return;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(out_, buf, sizeof buf);
    if (n > 0) {
      partial_.append(buf, static_cast<std::size_t>(n));
      std::size_t start = 0;
      for (std::size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1)
        if (on_line) on_line(partial_.substr(start, nl - start));
      partial_.erase(0, start);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {  // end of output: the child closed stdout (or died)
      ::close(out_);
      out_ = -1;
    }
    return;
  }
}

void Child::signal(int sig) {
  if (!exited_ && pid_ > 0) ::kill(pid_, sig);
}

void Child::kill9() { signal(SIGKILL); }

bool Child::reap() {
  if (exited_) return true;
  const pid_t r = ::waitpid(pid_, &status_, WNOHANG);
  if (r == pid_ || (r < 0 && errno == ECHILD)) exited_ = true;
  return exited_;
}

bool Child::wait_exit(milliseconds limit, const LineFn& on_line, milliseconds step) {
  const auto deadline = Clock::now() + limit;
  while (!reap()) {
    if (Clock::now() >= deadline) return false;
    read_available(on_line);  // keep the pipe drained so the child never blocks writing
    std::this_thread::sleep_for(step);
  }
  return true;
}

// ---- Process ----

Process::Process(std::string name, const std::vector<std::string>& argv, const std::string& stderr_path,
                 milliseconds command_timeout)
    : name_(std::move(name)), command_timeout_(command_timeout), child_(argv, stderr_path) {}

Process::~Process() {
  if (!exited()) signal(SIGCONT);  // in case a test stopped it
  close_stdin();                   // a probe leaves and exits at end of input
  if (!wait_exit(milliseconds(3000))) {
    killed_ = true;
    child_.kill9();
    wait_exit(milliseconds(10000));
  }
}

void Process::read_available() {
  child_.read_available([this](const std::string& l) { lines_.push_back(Line{l, Clock::now()}); });
}

std::optional<Process::Line> Process::find(const std::function<bool(const std::string&)>& pred, std::size_t from) const {
  for (std::size_t i = from; i < lines_.size(); ++i)
    if (pred(lines_[i].text)) return lines_[i];
  return std::nullopt;
}

std::optional<Process::Line> Process::find_prefix(const std::string& prefix, std::size_t from) const {
  return find([&](const std::string& l) { return starts_with(l, prefix); }, from);
}

std::string Process::command(const std::string& cmd, const std::vector<std::string>& replies,
                             std::optional<milliseconds> timeout) {
  const std::size_t from = lines_.size();
  if (!write_line(cmd)) return {};
  std::optional<Line> answer;
  wait_until(
      {this},
      [&] {
        answer = find(
            [&](const std::string& l) {
              if (starts_with(l, "error ")) return true;
              return std::any_of(replies.begin(), replies.end(), [&](const std::string& r) { return starts_with(l, r); });
            },
            from);
        return answer.has_value() || stdout_fd() < 0;
      },
      Clock::now() + timeout.value_or(command_timeout_));
  return answer ? answer->text : std::string();
}

void Process::kill9() {
  killed_ = true;
  child_.kill9();
  wait_exit(milliseconds(10000));
}

bool Process::wait_exit(milliseconds timeout) {
  if (!child_.wait_exit(
          timeout, [this](const std::string& l) { lines_.push_back(Line{l, Clock::now()}); }, milliseconds(5)))
    return false;
  read_available();  // what it wrote before exiting
  return true;
}

bool Process::alive() {
  if (exited()) return false;
  if (child_.reap()) {
    read_available();
    return false;
  }
  return true;
}

bool wait_until(const std::vector<Process*>& procs, const std::function<bool()>& done, Clock::time_point deadline) {
  for (;;) {
    if (done()) return true;
    const auto now = Clock::now();
    if (now >= deadline) return false;
    std::vector<pollfd> fds;
    for (Process* p : procs)
      if (p->stdout_fd() >= 0) fds.push_back(pollfd{p->stdout_fd(), POLLIN, 0});
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - now).count() + 1;
    const int timeout = static_cast<int>(std::min<long long>(left, 20));
    if (fds.empty()) std::this_thread::sleep_for(milliseconds(timeout));
    else ::poll(fds.data(), fds.size(), timeout);
    for (Process* p : procs) p->read_available();
  }
}

}  // namespace test_support
