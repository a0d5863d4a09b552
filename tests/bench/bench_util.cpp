#include "bench_util.hpp"

#include <poll.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

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

long long sched_ns(pid_t pid) {
  namespace fs = std::filesystem;
  long long sum = 0;
  std::error_code ec;
  for (const auto& t : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream f(t.path() / "schedstat");
    long long v = 0;
    if (f >> v) sum += v;
  }
  return ec ? -1 : sum;
}

}  // namespace bench
