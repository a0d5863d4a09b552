#include "bench_fleet.hpp"

#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace bench {

Fleet::Fleet(const FleetConfig& cfg, std::uint16_t port) : cfg_(cfg), port_(port) {}

Fleet::~Fleet() {
  // Leave first (disconnects), then let every process exit at end of input.
  for (auto& p : procs_)
    if (p->child && !p->child->exited()) p->child->write_line("quit");
  for (auto& p : procs_)
    if (p->child) p->child->close_stdin();
  procs_.clear();  // each Child waits up to 2 s, then SIGKILLs
}

std::size_t Fleet::spawn(const std::string& name) {
  auto p = std::make_unique<Proc>();
  p->name = name;
  std::vector<std::string> argv;
  // Profiling hook (docs/benchmarks.md): CLUSTER_BENCH_WRAP="valgrind --tool=callgrind" (or
  // "perf record -o FILE --", "strace -c -f -o FILE") runs the members whose name matches the
  // glob CLUSTER_BENCH_WRAP_MEMBER (e.g. "tput-send") under that command.
  const char* wrap = std::getenv("CLUSTER_BENCH_WRAP");
  const char* which = std::getenv("CLUSTER_BENCH_WRAP_MEMBER");
  if (wrap != nullptr && which != nullptr && ::fnmatch(which, name.c_str(), 0) == 0)
    for (const auto& w : split(wrap)) argv.push_back(w);
  for (const auto& a : {cfg_.self, std::string("member"), std::string("--plugins"), cfg_.plugin_dir,
                        std::string("--sockets"), cfg_.tmp, std::string("--rcvbuf"), cfg_.rcvbuf})
    argv.push_back(a);
  if (!cfg_.keyring.empty()) {
    argv.push_back("--keyring");
    argv.push_back(cfg_.keyring);
  }
  if (!argv.empty() && argv[0].find('/') == std::string::npos) argv[0] = "/usr/bin/" + argv[0];  // posix_spawn wants a path
  p->child = std::make_unique<Child>(argv, cfg_.tmp + "/" + name + ".err");
  procs_.push_back(std::move(p));
  const std::size_t i = procs_.size() - 1;
  const std::string r = reply(i, 60000);
  if (!starts_with(r, "ready")) throw std::runtime_error(name + ": expected ready, got '" + r + "'");
  return i;
}

std::string Fleet::join_options(const std::string& extra) const {
  return "group=" + cfg_.group + " port=" + std::to_string(port_) + (extra.empty() ? "" : " " + extra);
}

void Fleet::send(std::size_t p, const std::string& line) {
  if (!procs_.at(p)->child->write_line(line))
    throw std::runtime_error(procs_[p]->name + ": cannot write '" + line + "'" + stderr_tail(p));
  if (starts_with(line, "leave-all")) procs_[p]->live.clear();
}

std::string Fleet::reply(std::size_t p, int timeout_ms) {
  Proc& pr = *procs_.at(p);
  if (!pump([&] { return !pr.replies.empty(); }, timeout_ms))
    throw std::runtime_error(pr.name + ": no reply within " + std::to_string(timeout_ms) + " ms" + stderr_tail(p));
  std::string r = pr.replies.front();
  pr.replies.pop_front();
  if (starts_with(r, "error")) throw std::runtime_error(pr.name + ": " + r + stderr_tail(p));
  return r;
}

std::vector<Child*> Fleet::children() const {
  std::vector<Child*> out;
  for (const auto& p : procs_) out.push_back(p->child.get());
  return out;
}

bool Fleet::pump(const std::function<bool()>& pred, int timeout_ms) {
  return bench::pump(children(), [this](std::size_t i, const std::string& l) { on_line(i, l); }, pred,
                     now_ns() + static_cast<std::int64_t>(timeout_ms) * 1000000, 10);
}

void Fleet::kill9(std::size_t p) {
  procs_.at(p)->child->kill9();
  procs_[p]->live.clear();
}

void Fleet::on_line(std::size_t p, const std::string& line) {
  Proc& pr = *procs_[p];
  if (line.size() > 2 && line[1] == ' ' && (line[0] == 'J' || line[0] == 'D' || line[0] == 'L' || line[0] == 'A')) {
    const auto w = split(line);
    if (line[0] == 'J' && w.size() == 5) {
      const int idx = std::atoi(w[1].c_str());
      pr.uuid_by_idx[idx] = w[2];
      pr.live.push_back(w[2]);
      join_t[w[2]] = std::atoll(w[3].c_str());
      join_done_t[w[2]] = std::atoll(w[4].c_str());
    } else if (line[0] == 'D' && w.size() == 4) {
      auto& m = disc[pr.uuid_by_idx[std::atoi(w[1].c_str())]];
      m.emplace(w[2], std::atoll(w[3].c_str()));
    } else if (line[0] == 'A' && w.size() == 4) {
      reached.emplace(pr.uuid_by_idx[std::atoi(w[1].c_str())], std::atoll(w[3].c_str()));
    } else if (line[0] == 'L' && w.size() == 5) {
      auto& m = lost[pr.uuid_by_idx[std::atoi(w[1].c_str())]];
      m.emplace(w[2], std::make_pair(static_cast<std::int64_t>(std::atoll(w[4].c_str())), w[3]));
    }
    return;
  }
  pr.replies.push_back(line);
}

std::vector<std::string> Fleet::live() const {
  std::vector<std::string> out;
  for (const auto& p : procs_) out.insert(out.end(), p->live.begin(), p->live.end());
  return out;
}

bool Fleet::mesh_complete() const {
  const auto all = live();
  if (all.size() < 2) return true;
  for (const auto& x : all) {
    auto it = disc.find(x);
    if (it == disc.end() || it->second.size() + 1 < all.size()) return false;
  }
  for (const auto& x : all) {
    const auto& seen = disc.at(x);
    for (const auto& y : all)
      if (y != x && !seen.count(y)) return false;
  }
  return true;
}

std::string Fleet::stderr_tail(std::size_t p) const {
  std::ifstream f(cfg_.tmp + "/" + procs_.at(p)->name + ".err");
  std::vector<std::string> lines;
  for (std::string l; std::getline(f, l);) lines.push_back(l);
  std::string out;
  for (std::size_t i = lines.size() > 10 ? lines.size() - 10 : 0; i < lines.size(); ++i) out += "\n  " + lines[i];
  return out.empty() ? std::string() : "; stderr:" + out;
}

bool write_keyring(const std::string& path) {
  unsigned char key[32];
  std::ifstream rnd("/dev/urandom", std::ios::binary);
  if (!rnd.read(reinterpret_cast<char*>(key), sizeof key)) return false;
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string line;
  for (std::size_t i = 0; i < sizeof key; i += 3) {
    const std::size_t n = std::min<std::size_t>(3, sizeof key - i);
    const std::uint32_t v = std::uint32_t{key[i]} << 16 | (n > 1 ? std::uint32_t{key[i + 1]} << 8 : 0u) |
                            (n > 2 ? std::uint32_t{key[i + 2]} : 0u);
    for (std::size_t j = 0; j < 4; ++j) line += j <= n ? b64[(v >> (18 - 6 * j)) & 63] : '=';
  }
  line += '\n';
  // The plugin refuses a keyring with any group/other permission: create it 0600 (whatever the umask).
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const bool ok = ::fchmod(fd, 0600) == 0 && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  return ::close(fd) == 0 && ok;
}

std::uint64_t udp_rcvbuf_errors() {
  std::ifstream f("/proc/net/snmp");
  std::string header, values;
  for (std::string l; std::getline(f, l);) {
    if (!starts_with(l, "Udp:")) continue;
    if (header.empty()) header = l;
    else {
      values = l;
      break;
    }
  }
  const auto h = split(header), v = split(values);
  for (std::size_t i = 0; i < h.size() && i < v.size(); ++i)
    if (h[i] == "RcvbufErrors") return std::strtoull(v[i].c_str(), nullptr, 10);
  return 0;
}

}  // namespace bench
