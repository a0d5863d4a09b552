#include "bench_util.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace bench {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : s) {
    if (ch == sep) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(ch);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

std::string fmt(double v, int decimals) {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  const double a = std::fabs(v);
  if (a >= 1000) decimals = 0;
  else if (a >= 100) decimals = std::min(decimals, 1);
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string fmt_rate(double r) {
  if (std::isnan(r)) return "n/a";
  char buf[64];
  if (r >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", r / 1e6);
  else if (r >= 1e3) std::snprintf(buf, sizeof buf, "%.1fk", r / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", r);
  return buf;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(v.size()));
  std::size_t i = rank < 1 ? 0 : static_cast<std::size_t>(rank) - 1;
  if (i >= v.size()) i = v.size() - 1;
  return v[i];
}

double median(std::vector<double> v) { return percentile(v, 50); }

double maximum(const std::vector<double>& v) {
  return v.empty() ? std::numeric_limits<double>::quiet_NaN() : *std::max_element(v.begin(), v.end());
}

double minimum(const std::vector<double>& v) {
  return v.empty() ? std::numeric_limits<double>::quiet_NaN() : *std::min_element(v.begin(), v.end());
}

// ---- Child ----

Child::Child(const std::vector<std::string>& argv, const std::string& stderr_path) {
  static const bool sigpipe_ignored = [] {
    std::signal(SIGPIPE, SIG_IGN);  // a dead child's stdin must not kill the driver
    return true;
  }();
  (void)sigpipe_ignored;
  int in[2] = {-1, -1};
  int out[2] = {-1, -1};
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, static_cast<short>(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF));
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int rc = ::posix_spawn(&pid_, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    pid_ = -1;
    throw std::runtime_error("posix_spawn " + argv[0] + ": " + std::strerror(rc));
  }
  in_ = in[1];
  out_ = out[0];
  ::fcntl(out_, F_SETFL, ::fcntl(out_, F_GETFL) | O_NONBLOCK);
}

Child::~Child() {
  close_stdin();
  if (!wait_exit(std::chrono::milliseconds(5000))) {
    ::kill(pid_, SIGKILL);
    wait_exit(std::chrono::milliseconds(5000));
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

void Child::read_available(const std::function<void(const std::string&)>& on_line) {
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
    if (n == 0) {
      ::close(out_);
      out_ = -1;
    }
    return;
  }
}

void Child::close_stdin() {
  if (in_ >= 0) ::close(in_);
  in_ = -1;
}

void Child::kill9() {
  if (!exited_) ::kill(pid_, SIGKILL);
}

bool Child::wait_exit(std::chrono::milliseconds limit) {
  const std::int64_t deadline = now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(limit).count();
  while (!exited_) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      exited_ = true;
      break;
    }
    if (now_ns() >= deadline) return false;
    read_available({});
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

bool pump(const std::vector<Child*>& children, const std::function<void(std::size_t, const std::string&)>& on_line,
          const std::function<bool()>& done, std::int64_t deadline_ns, int step_ms) {
  for (;;) {
    if (done()) return true;
    const std::int64_t now = now_ns();
    if (now >= deadline_ns) return false;
    std::vector<pollfd> fds;
    for (Child* c : children)
      if (c != nullptr && c->stdout_fd() >= 0) fds.push_back(pollfd{c->stdout_fd(), POLLIN, 0});
    const std::int64_t left_ms = (deadline_ns - now) / 1000000 + 1;
    const int timeout = static_cast<int>(std::min<std::int64_t>(left_ms, step_ms));
    if (fds.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(timeout));
    else ::poll(fds.data(), fds.size(), timeout);
    for (std::size_t i = 0; i < children.size(); ++i)
      if (children[i] != nullptr) children[i]->read_available([&](const std::string& l) { on_line(i, l); });
  }
}

}  // namespace bench
