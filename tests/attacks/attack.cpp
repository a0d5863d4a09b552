// cluster_attack: hostile clients against a running clusterd, and a meter that measures the
// daemon while one of them runs (docs/attacks.md). For tests/attacks/run, which starts
// everything inside a private network namespace; never point it at anything else.
//
//   cluster_attack partial (--tcp ADDR:PORT | --unix PATH) --conns N --announce BYTES
//                  [--send BYTES] [--seconds S] [--trickle-ms MS] [--sources K] [--reconnect]
//       N connections, each sending a packet header (C0 8D varint(BYTES)) and SEND bytes of
//       its body, then one more byte every MS (default 1000) until S seconds (default 20)
//       passed; then all close. --sources K spreads TCP connections over the source addresses
//       127.0.1.1..127.0.1.K (a loopback /8 accepts any). --reconnect replaces a connection the
//       daemon closed (same header and body again).
//   cluster_attack idle --tcp ADDR:PORT --conns N [--seconds S] [--sources K] [--reconnect]
//       N connections that send nothing, held S seconds (default 20).
//   cluster_attack forge --group ADDR:PORT --hid HID --rate R [--seconds S]
//       Multicasts type-1 heartbeats (hid HID, props "t {port 9}") from a fresh sid each, R a
//       second, for S seconds (default 20).
//   cluster_attack measure --pid PID --ctl CLUSTERCTL --socket CTLSOCK --join INI --target UUID
//                  [--log FILE] [--before S] [--after S] [--query TEXT] [--attack-limit S]
//                  -- ATTACK ARGV...
//       Samples the daemon's VmRSS (every 100 ms), times `CLUSTERCTL --socket CTLSOCK status
//       --json` back to back and a query (TEXT, default "get role") to UUID from a member of its
//       own (joined from INI) every 100 ms; runs ATTACK after S (default 3) seconds, and goes on
//       S (default 10) seconds after it exited. Prints one line "result key=value ...".
//
// Every attacker prints one line "attacker key=value ..." when it ends. Every loop is bounded
// by the seconds given; exit 0, or 2 on bad usage.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cluster/bpacket/payload_codec.hpp"
#include "cluster/bpacket/varint.hpp"
#include "cluster/cluster.hpp"
#include "cluster/payload.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t).count();
}
long long us_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t).count();
}
/// Microseconds as milliseconds with one decimal ("-1" for none).
std::string ms1(long long us) {
  if (us < 0) return "-1";
  std::ostringstream o;
  o << us / 1000 << "." << (us % 1000) / 100;
  return o.str();
}

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "cluster_attack: " << why << "\n"
            << "usage: cluster_attack partial|idle|forge|measure ... (see docs/attacks.md)\n";
  std::exit(2);
}

/// --name value options; flags (no value) listed in `flags`.
struct Args {
  std::map<std::string, std::string> v;
  std::vector<std::string> rest;  // after "--"
  Args(int argc, char** argv, int from, const std::vector<std::string>& flags) {
    for (int i = from; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--") {
        for (++i; i < argc; ++i) rest.emplace_back(argv[i]);
        break;
      }
      if (a.rfind("--", 0) != 0) usage("unexpected argument '" + a + "'");
      const std::string name = a.substr(2);
      if (std::find(flags.begin(), flags.end(), name) != flags.end()) {
        v[name] = "1";
      } else {
        if (i + 1 >= argc) usage("--" + name + " needs a value");
        v[name] = argv[++i];
      }
    }
  }
  std::string str(const std::string& k, const std::string& def = {}) const {
    const auto it = v.find(k);
    return it == v.end() ? def : it->second;
  }
  std::string need(const std::string& k) const {
    const auto it = v.find(k);
    if (it == v.end() || it->second.empty()) usage("--" + k + " is required");
    return it->second;
  }
  long num(const std::string& k, long def) const {
    const auto it = v.find(k);
    if (it == v.end()) return def;
    char* end = nullptr;
    const long n = std::strtol(it->second.c_str(), &end, 10);
    if (end == it->second.c_str() || *end != '\0' || n < 0) usage("--" + k + ": not a non-negative integer");
    return n;
  }
  bool flag(const std::string& k) const { return v.count(k) != 0; }
};

/// Raises our own nofile limit so `need` descriptors fit (up to the hard limit; root may raise that).
void raise_nofile(rlim_t need) {
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur >= need) return;
  rlimit want{need, std::max(need, rl.rlim_max)};
  if (::setrlimit(RLIMIT_NOFILE, &want) != 0) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

std::pair<std::string, int> host_port(const std::string& s) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) usage("'" + s + "' is not ADDR:PORT");
  return {s.substr(0, colon), std::atoi(s.c_str() + colon + 1)};
}

// ---------------------------------------------------------------------------------------------
// Stream attackers (partial, idle)

struct Target {
  bool unix_socket = false;
  std::string path;  // unix
  sockaddr_in tcp{};
  int sources = 0;  // TCP source addresses 127.0.1.1..K (0: let the kernel choose)
};

Target stream_target(const Args& a) {
  Target t;
  if (!a.str("unix").empty()) {
    t.unix_socket = true;
    t.path = a.need("unix");
    if (t.path.size() >= sizeof(sockaddr_un{}.sun_path)) usage("--unix: path too long");
  } else {
    const auto [host, port] = host_port(a.need("tcp"));
    t.tcp.sin_family = AF_INET;
    t.tcp.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::inet_pton(AF_INET, host.c_str(), &t.tcp.sin_addr) != 1) usage("--tcp: bad address");
    t.sources = static_cast<int>(a.num("sources", 0));
  }
  return t;
}

/// A non-blocking connection (the connect completed within 1 s); -1 on failure.
int open_conn(const Target& t, int index) {
  const int fd = ::socket(t.unix_socket ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  int rc;
  if (t.unix_socket) {
    sockaddr_un u{};
    u.sun_family = AF_UNIX;
    std::memcpy(u.sun_path, t.path.data(), t.path.size());
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&u), sizeof u);
  } else {
    if (t.sources > 0) {
      sockaddr_in src{};
      src.sin_family = AF_INET;
      src.sin_addr.s_addr = htonl((127u << 24) | (1u << 8) | static_cast<std::uint32_t>(1 + index % t.sources));
      if (::bind(fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) != 0) {
        ::close(fd);
        return -1;
      }
    }
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&t.tcp), sizeof t.tcp);
  }
  if (rc != 0 && errno != EINPROGRESS && errno != EAGAIN) {
    ::close(fd);
    return -1;
  }
  if (rc != 0) {
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, 1000) != 1 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      ::close(fd);
      return -1;
    }
  }
  return fd;
}

struct Conn {
  int fd = -1;
  std::size_t sent = 0;  // of the initial bytes
  Clock::time_point next_trickle;
};

/// partial and idle: keeps N connections, writes `initial` on each, then a byte every
/// `trickle` (idle: nothing), for `seconds`.
int run_streams(const Args& a, bool idle) {
  const Target t = stream_target(a);
  const auto n = static_cast<std::size_t>(a.num("conns", 32));
  const long seconds = a.num("seconds", 20);
  const bool reconnect = a.flag("reconnect");
  const milliseconds trickle(a.num("trickle-ms", 1000));
  raise_nofile(static_cast<rlim_t>(n + 64));

  std::string initial;
  if (!idle) {
    const auto announce = static_cast<std::uint64_t>(a.num("announce", 16000000));
    const auto body = static_cast<std::size_t>(a.num("send", 0));
    initial.assign("\xC0\x8D", 2);
    cluster::bpacket::append_varint(initial, announce);
    initial.append(body, 'z');
  }

  std::vector<Conn> conns(n);
  long long opened = 0, connect_failed = 0, closed_by_daemon = 0, bytes = 0, trickled = 0;
  long long closed_before_body = 0;  // closed by the daemon before its initial bytes were all written
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(seconds);
  auto connect_slot = [&](std::size_t i) {
    conns[i] = Conn{};
    if (Clock::now() >= deadline) return;
    const int fd = open_conn(t, static_cast<int>(i));
    if (fd < 0) {
      ++connect_failed;
      return;
    }
    ++opened;
    conns[i].fd = fd;
    conns[i].next_trickle = Clock::now() + trickle;
  };
  for (std::size_t i = 0; i < n && Clock::now() < deadline; ++i) connect_slot(i);
  const long long connect_ms = ms_since(start);

  std::vector<pollfd> pfds;
  std::vector<std::size_t> idx;
  char buf[4096];
  while (Clock::now() < deadline) {
    pfds.clear();
    idx.clear();
    for (std::size_t i = 0; i < n; ++i) {
      Conn& c = conns[i];
      if (c.fd < 0) {
        if (reconnect) connect_slot(i);
        if (c.fd < 0) continue;
      }
      short ev = POLLIN;
      if (c.sent < initial.size()) ev |= POLLOUT;
      pfds.push_back({c.fd, ev, 0});
      idx.push_back(i);
    }
    if (pfds.empty() && !reconnect) break;
    const int r = ::poll(pfds.data(), pfds.size(), 100);
    if (r < 0 && errno != EINTR) break;
    for (std::size_t k = 0; k < pfds.size(); ++k) {
      Conn& c = conns[idx[k]];
      bool dead = false;
      if (pfds[k].revents & (POLLIN | POLLHUP | POLLERR)) {
        const ssize_t got = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) dead = true;
      }
      if (!dead && (pfds[k].revents & POLLOUT) && c.sent < initial.size()) {
        const ssize_t w = ::send(c.fd, initial.data() + c.sent, initial.size() - c.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
          c.sent += static_cast<std::size_t>(w);
          bytes += w;
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
          dead = true;
        }
      }
      if (!dead && !idle && c.sent >= initial.size() && Clock::now() >= c.next_trickle) {
        const ssize_t w = ::send(c.fd, "z", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w == 1) {
          ++bytes;
          ++trickled;
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
          dead = true;
        }
        c.next_trickle += trickle;
      }
      if (dead) {
        ++closed_by_daemon;
        if (c.sent < initial.size()) ++closed_before_body;
        ::close(c.fd);
        c.fd = -1;
      }
    }
  }
  long long open_at_end = 0;
  for (Conn& c : conns)
    if (c.fd >= 0) {
      ++open_at_end;
      ::close(c.fd);
    }
  std::cout << "attacker mode=" << (idle ? "idle" : "partial") << " target=" << (t.unix_socket ? "unix" : "tcp")
            << " conns=" << n << " opened=" << opened << " connect_failed=" << connect_failed
            << " connect_ms=" << connect_ms << " closed_by_daemon=" << closed_by_daemon
            << " closed_before_body=" << closed_before_body << " open_at_end=" << open_at_end
            << " bytes=" << bytes << " trickled=" << trickled << " seconds=" << static_cast<double>(ms_since(start)) / 1000.0 << std::endl;
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Forged heartbeats

int run_forge(const Args& a) {
  const auto [group, port] = host_port(a.need("group"));
  const std::string hid = a.need("hid");
  const long rate = std::max(1L, a.num("rate", 3000));
  const long seconds = a.num("seconds", 20);
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("socket");
    return 1;
  }
  unsigned char ttl = 0;  // never past this host (and this is a private namespace anyway)
  ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
  int sndbuf = 4 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, group.c_str(), &to.sin_addr) != 1) usage("--group: bad address");

  std::mt19937 rng(static_cast<std::uint32_t>(::getpid()) ^ static_cast<std::uint32_t>(Clock::now().time_since_epoch().count()));
  static const char kAlnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string prefix(4, 'x');
  for (char& ch : prefix) ch = kAlnum[rng() % 62];
  long long sent = 0, failed = 0, bytes = 0;
  std::string out;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(seconds);
  while (Clock::now() < deadline) {
    // Where we should be by now; send the difference (at most 1 ms of backlog at a time).
    const long long due = ms_since(start) * rate / 1000;
    for (long long k = sent + failed; k < due; ++k) {
      cluster::Payload p;
      p.type = 1;  // heartbeat
      p.channel = 0;
      p.hid = hid;
      p.sid = prefix + std::to_string(k);
      p.protocols = cluster::StringList{"t", "c"};
      p.data = std::string("t {port 9}");
      out.clear();
      cluster::bpacket::encode_payload(p, out);
      if (::sendto(fd, out.data(), out.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) >= 0) {
        ++sent;
        bytes += static_cast<long long>(out.size());
      } else {
        ++failed;
      }
    }
    ::usleep(1000);
  }
  ::close(fd);
  const double secs = static_cast<double>(ms_since(start)) / 1000.0;
  std::cout << "attacker mode=forge sent=" << sent << " failed=" << failed << " bytes=" << bytes
            << " rate=" << static_cast<long long>(static_cast<double>(sent) / secs) << "/s seconds=" << secs << std::endl;
  return 0;
}

// ---------------------------------------------------------------------------------------------
// The meter

long read_rss_kb(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

/// utime + stime of pid, in clock ticks.
long long cpu_ticks(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto close = s.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream in(s.substr(close + 2));
  std::string field;
  long long ut = 0, st = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) ut = std::atoll(field.c_str());
    if (i == 15) st = std::atoll(field.c_str());
  }
  return ut + st;
}

long long file_size(const std::string& path) {
  struct stat st {};
  return path.empty() || ::stat(path.c_str(), &st) != 0 ? -1 : static_cast<long long>(st.st_size);
}

/// Runs argv with stdout to a pipe; returns its output, or sets timed_out (killed after `limit`).
std::string run_capture(const std::vector<std::string>& argv, milliseconds limit, bool& ok) {
  ok = false;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return {};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  std::vector<char*> av;
  for (const auto& s : argv) av.push_back(const_cast<char*>(s.c_str()));
  av.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, av[0], &fa, nullptr, av.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(p[1]);
  if (rc != 0) {
    ::close(p[0]);
    return {};
  }
  std::string out;
  const auto deadline = Clock::now() + limit;
  char buf[8192];
  bool timed_out = false;
  for (;;) {
    const long long left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd pf{p[0], POLLIN, 0};
    if (::poll(&pf, 1, static_cast<int>(left)) <= 0) continue;
    const ssize_t n = ::read(p[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(p[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ok = !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return out;
}

/// The number after "key": in a JSON text (first occurrence), or -1.
long long json_number(const std::string& json, const std::string& key) {
  const std::string k = "\"" + key + "\":";
  auto at = json.find(k);
  if (at == std::string::npos) return -1;
  at += k.size();
  while (at < json.size() && json[at] == ' ') ++at;
  return std::atoll(json.c_str() + at);
}

std::map<std::string, long long> json_counters(const std::string& json) {
  std::map<std::string, long long> out;
  const auto at = json.find("\"counters\":");
  if (at == std::string::npos) return out;
  const auto open = json.find('{', at), close = json.find('}', at);
  if (open == std::string::npos || close == std::string::npos) return out;
  const std::string body = json.substr(open + 1, close - open - 1);
  std::size_t i = 0;
  while ((i = body.find('"', i)) != std::string::npos) {
    const auto end = body.find('"', i + 1);
    if (end == std::string::npos) break;
    const std::string key = body.substr(i + 1, end - i - 1);
    const auto colon = body.find(':', end);
    if (colon == std::string::npos) break;
    out[key] = std::atoll(body.c_str() + colon + 1);
    i = body.find(',', colon);
    if (i == std::string::npos) break;
  }
  return out;
}

/// Latencies of one phase, in microseconds.
struct Series {
  std::vector<long long> ms;
  long long failures = 0;
  void add(long long m) { ms.push_back(m); }
  long long max() const { return ms.empty() ? -1 : *std::max_element(ms.begin(), ms.end()); }
  long long pct(double p) const {
    if (ms.empty()) return -1;
    std::vector<long long> s = ms;
    std::sort(s.begin(), s.end());
    return s[std::min(s.size() - 1, static_cast<std::size_t>(p * static_cast<double>(s.size())))];
  }
};

enum Phase { kBefore = 0, kAttack = 1, kAfter = 2 };

int run_measure(const Args& a) {
  const auto pid = static_cast<pid_t>(a.num("pid", 0));
  if (pid <= 0) usage("--pid is required");
  const std::string ctl = a.need("ctl"), sock = a.need("socket"), ini = a.need("join"), target = a.need("target");
  const std::string logfile = a.str("log"), query_text = a.str("query", "get role");
  const long before_s = a.num("before", 3), after_s = a.num("after", 10), limit_s = a.num("attack-limit", 120);
  if (a.rest.empty()) usage("measure: the attack command goes after --");

  std::mutex mu;
  std::atomic<int> phase{kBefore};
  std::atomic<bool> stop{false};
  long rss_before = 0, rss_peak = 0, rss_peak_after = 0;
  long rss_at_end = 0, rss_after = 0;
  long long under16_ms = -1;  // after the attack: first sample under 16 MiB
  Series status[3], query[3];
  long long members_max = 0, members_last = 0;
  std::map<std::string, long long> counters_first, counters_last;
  std::string status_last_error;

  // The member that queries the daemon.
  std::unique_ptr<cluster::Cluster> member;
  try {
    member = cluster::Cluster::join(cluster::NodeConfig::load_file(ini));
  } catch (const std::exception& e) {
    std::cerr << "cluster_attack measure: cannot join: " << e.what() << "\n";
    return 1;
  }
  const auto seen_by = Clock::now() + std::chrono::seconds(10);
  while (member->resolve(std::vector<std::string>{target}).empty() && Clock::now() < seen_by) ::usleep(50000);
  if (member->resolve(std::vector<std::string>{target}).empty()) {
    std::cerr << "cluster_attack measure: the member never discovered " << target << "\n";
    return 1;
  }

  std::atomic<long long> attack_end_ns{0};
  std::thread sampler([&] {
    while (!stop) {
      const long kb = read_rss_kb(pid);
      const int ph = phase;
      {
        std::lock_guard<std::mutex> lk(mu);
        if (ph == kBefore) rss_before = kb;
        if (ph == kAttack) rss_peak = std::max(rss_peak, kb), rss_at_end = kb;
        if (ph == kAfter) {
          const Clock::time_point attack_end{Clock::duration(attack_end_ns.load())};
          rss_peak_after = std::max(rss_peak_after, kb);
          rss_after = kb;
          if (under16_ms < 0 && kb > 0 && kb < 16 * 1024) under16_ms = ms_since(attack_end);
        }
      }
      ::usleep(100000);
    }
  });
  std::thread statuser([&] {
    while (!stop) {
      const int ph = phase;
      const auto t0 = Clock::now();
      bool ok = false;
      const std::string out = run_capture({ctl, "--socket", sock, "status", "--json"}, milliseconds(5000), ok);
      const long long took = us_since(t0);
      {
        std::lock_guard<std::mutex> lk(mu);
        if (ok) {
          status[ph].add(took);
          members_last = json_number(out, "members");
          members_max = std::max(members_max, members_last);
          auto c = json_counters(out);
          if (counters_first.empty()) counters_first = c;
          counters_last = std::move(c);
        } else {
          ++status[ph].failures;
          status[ph].add(took);
        }
      }
      ::usleep(200000);
    }
  });
  std::thread querier([&] {
    while (!stop) {
      const int ph = phase;
      cluster::QueryOptions q;
      q.resolve = {target};
      q.query = query_text;
      q.collect = true;
      q.timeout = milliseconds(2000);
      const auto t0 = Clock::now();
      const cluster::QueryPtr running = member->query(std::move(q));
      const bool done = running->wait(milliseconds(7000));
      const long long took = us_since(t0);
      bool answered = false;
      if (done && !running->timed_out())
        for (const auto& [uuid, ans] : running->results())
          if (uuid == target) answered = true;
      {
        std::lock_guard<std::mutex> lk(mu);
        query[ph].add(took);
        if (!answered) ++query[ph].failures;
      }
      ::usleep(100000);
    }
  });

  ::usleep(static_cast<useconds_t>(before_s) * 1000000u);
  const long long log_before = file_size(logfile);
  const long long cpu_before = cpu_ticks(pid);
  // The attack.
  std::vector<char*> av;
  for (const auto& s : a.rest) av.push_back(const_cast<char*>(s.c_str()));
  av.push_back(nullptr);
  pid_t child = -1;
  phase = kAttack;
  const auto attack_start = Clock::now();
  if (::posix_spawn(&child, av[0], nullptr, nullptr, av.data(), environ) != 0) {
    std::cerr << "cluster_attack measure: cannot start " << a.rest[0] << "\n";
    stop = true;
  } else {
    int st = 0;
    while (::waitpid(child, &st, WNOHANG) == 0) {
      if (ms_since(attack_start) > limit_s * 1000) {
        ::kill(child, SIGKILL);
        ::waitpid(child, &st, 0);
        break;
      }
      ::usleep(50000);
    }
  }
  const long long attack_ms = ms_since(attack_start);
  const long long cpu_attack = cpu_ticks(pid) - cpu_before;
  const long long log_attack = file_size(logfile) - log_before;
  std::map<std::string, long long> counters_attack;
  {
    std::lock_guard<std::mutex> lk(mu);
    counters_attack = counters_last;
  }
  attack_end_ns = Clock::now().time_since_epoch().count();
  phase = kAfter;
  ::usleep(static_cast<useconds_t>(after_s) * 1000000u);
  stop = true;
  sampler.join();
  statuser.join();
  querier.join();
  const long long log_after = file_size(logfile) - log_before;
  member->leave();

  const double cpu_pct = 100.0 * static_cast<double>(cpu_attack) / static_cast<double>(::sysconf(_SC_CLK_TCK)) /
                         (static_cast<double>(attack_ms) / 1000.0);
  std::ostringstream o;
  o << "result attack_s=" << static_cast<double>(attack_ms) / 1000.0 << " rss_before_kb=" << rss_before
    << " rss_peak_kb=" << rss_peak << " rss_at_end_kb=" << rss_at_end << " rss_peak_after_kb=" << rss_peak_after
    << " rss_after_kb=" << rss_after << " under16_ms=" << under16_ms;
  const char* names[] = {"before", "attack", "after"};
  for (int ph = 0; ph < 3; ++ph) {
    o << " status_" << names[ph] << "_n=" << status[ph].ms.size() << " status_" << names[ph]
      << "_max_ms=" << ms1(status[ph].max()) << " status_" << names[ph] << "_fail=" << status[ph].failures;
    o << " query_" << names[ph] << "_n=" << query[ph].ms.size() << " query_" << names[ph]
      << "_max_ms=" << ms1(query[ph].max()) << " query_" << names[ph] << "_p50_ms=" << ms1(query[ph].pct(0.5))
      << " query_" << names[ph] << "_p99_ms=" << ms1(query[ph].pct(0.99)) << " query_" << names[ph] << "_fail=" << query[ph].failures;
  }
  o << " members_max=" << members_max << " members_last=" << members_last << " cpu_pct=" << static_cast<long long>(cpu_pct + 0.5)
    << " log_bytes_attack=" << log_attack << " log_bytes_total=" << log_after;
  for (const auto& [k, v] : counters_last) {
    const auto f = counters_first.find(k);
    const long long d = v - (f == counters_first.end() ? 0 : f->second);
    if (d != 0) o << " d_" << k << "=" << d;
  }
  const auto refused = counters_attack.find("refused_members");
  if (refused != counters_attack.end()) o << " refused_members_at_end=" << refused->second;
  std::cout << o.str() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  if (argc < 2) usage("a mode is required");
  const std::string mode = argv[1];
  if (mode == "partial") return run_streams(Args(argc, argv, 2, {"reconnect"}), false);
  if (mode == "idle") return run_streams(Args(argc, argv, 2, {"reconnect"}), true);
  if (mode == "forge") return run_forge(Args(argc, argv, 2, {}));
  if (mode == "measure") return run_measure(Args(argc, argv, 2, {}));
  usage("unknown mode '" + mode + "'");
}
