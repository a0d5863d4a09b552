// netsim: the reliability suite's simulated hosts (network.hpp) as a stand-alone tool, for
// harnesses written in other languages (tests/bench/failure_compare).
//
//   netsim --hosts N [--loss PCT] [--delay MS] [--jitter MS] [--seed S] [--nft] [--flood]
//          [--max-seconds S]
//
// Builds N hosts (named network namespaces, each with eth0 = 10.232.<n>.<i+1>/24) on one segment,
// prints them as ONE JSON line on stdout:
//
//   {"hosts":[{"ns":"cl-rel-7-0","address":"10.232.0.1"},...],"mode":"...","loss":20,
//    "delay_ms":50,"jitter_ms":20,"nft":false,"pid":7}
//
// then keeps the network (and the impairing hub, a thread of this process) running until its
// stdin is closed, a SIGTERM/SIGINT/SIGHUP arrives, its parent dies (PR_SET_PDEATHSIG) or
// --max-seconds (default 86400) have passed, and deletes everything (the members inside the
// hosts must be gone first: a namespace with a process in it lives on until that process exits).
// A line "stats" on stdin prints {"forwarded":F,"dropped":D} (the hub's frame counters).
//
// Impairment: delay and jitter (uniform delay +- jitter, so frames may be reordered) need the
// hub, which then also drops each frame it delivers to a host with probability PCT/100. The hub
// learns where each MAC is and sends a unicast frame out of its destination's port only, like a
// switch (--flood: a copy to every port, as the reliability tests' hub; with N hosts that is N-1
// copies of every frame, which costs the hub's thread a lot of CPU with many hosts talking). With
// --nft the loss is applied instead inside every host namespace by nftables on input
// (`numgen random mod 10000 < PCT*100 drop`, table inet netsim: IP only, ARP passes), and the hub
// (if there is delay) drops nothing. Without any impairment the hosts are on a plain bridge.
//
// Run it inside a private network namespace the caller made (tests/plugins/netns-run, or
// `unshare --net`): it refuses to run where any interface besides lo exists. Inside a PID
// namespace it also needs a private /run/netns (a tmpfs mounted there in a private mount
// namespace), since network.cpp deletes the cl-rel-<pid>-* namespaces whose pid it cannot see.
//
// Exit: 0 after a clean teardown, 1 when the network could not be built, 2 usage, 77 when no
// namespace can be made here.
#include <fcntl.h>
#include <ifaddrs.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "netns.hpp"
#include "network.hpp"

namespace {

int usage(const char* why) {
  if (why != nullptr) std::fprintf(stderr, "netsim: %s\n", why);
  std::fprintf(stderr,
               "usage: netsim --hosts N [--loss PCT] [--delay MS] [--jitter MS] [--seed S] [--nft] [--flood] "
               "[--max-seconds S]\n");
  return 2;
}

bool only_loopback() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return false;
  bool only_lo = true;
  for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next)
    if (a->ifa_name != nullptr && std::strcmp(a->ifa_name, "lo") != 0) only_lo = false;
  ::freeifaddrs(list);
  return only_lo;
}

/// More than one pid in NSpid: this process lives in a nested PID namespace.
bool in_nested_pid_namespace() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("NSpid:", 0) != 0) continue;
    std::istringstream in(line.substr(6));
    int n = 0;
    std::string pid;
    while (in >> pid) ++n;
    return n > 1;
  }
  return false;
}

/// /run/netns (or /var/run/netns) is a tmpfs of its own (root "/"), not the host's folder (or a
/// bind mount of it, which `ip netns add` makes).
bool private_netns_folder() {
  std::ifstream f("/proc/self/mountinfo");
  std::string line;
  while (std::getline(f, line)) {
    // id parent major:minor root mountpoint options [optional...] - fstype source super
    std::istringstream in(line);
    std::string id, parent, dev, root, point;
    in >> id >> parent >> dev >> root >> point;
    if (point != "/run/netns" && point != "/var/run/netns") continue;
    const auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream rest(line.substr(dash + 3));
    std::string fstype;
    rest >> fstype;
    if (fstype == "tmpfs" && root == "/") return true;
  }
  return false;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out + "\"";
}

bool parse_number(const char* text, double lo, double hi, double& out) {
  char* end = nullptr;
  errno = 0;
  out = std::strtod(text, &end);
  return errno == 0 && end != text && *end == '\0' && std::isfinite(out) && out >= lo && out <= hi;
}

}  // namespace

int main(int argc, char** argv) {
  double hosts = 0, loss = 0, delay = 0, jitter = 0, seed = 1, max_seconds = 86400;
  bool nft = false, flood = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](double lo, double hi, double& out) {
      if (i + 1 >= argc || !parse_number(argv[i + 1], lo, hi, out)) return false;
      ++i;
      return true;
    };
    bool ok = true;
    if (a == "--hosts") ok = value(1, 200, hosts);
    else if (a == "--loss") ok = value(0, 100, loss);
    else if (a == "--delay") ok = value(0, 10000, delay);
    else if (a == "--jitter") ok = value(0, 10000, jitter);
    else if (a == "--seed") ok = value(0, 4294967295.0, seed);
    else if (a == "--max-seconds") ok = value(1, 7 * 86400, max_seconds);
    else if (a == "--nft") nft = true;
    else if (a == "--flood") flood = true;
    else if (a == "-h" || a == "--help") return usage(nullptr), 0;
    else return usage(("unknown argument " + a).c_str());
    if (!ok) return usage(("bad or missing value for " + a).c_str());
  }
  if (hosts < 1 || hosts != std::floor(hosts)) return usage("--hosts N (1..200) is required");
  if (jitter > delay) return usage("--jitter must not exceed --delay");

  if (!only_loopback()) {
    std::fprintf(stderr,
                 "netsim: refusing to run: this network namespace has interfaces besides lo (run inside "
                 "tests/plugins/netns-run or unshare --net)\n");
    return 77;
  }
  if (in_nested_pid_namespace() && !private_netns_folder()) {
    std::fprintf(stderr,
                 "netsim: refusing to run: inside a PID namespace /run/netns must be a private tmpfs "
                 "(unshare --mount, then mount -t tmpfs tmpfs /run/netns), or other runs' namespaces "
                 "would look stale\n");
    return 77;
  }

  // Signals arrive through a signalfd; the hub thread (started in build) inherits the mask.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGPIPE);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  const int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // the parent dies: tear down as on SIGTERM

  rel::Impairment imp;
  imp.loss = nft ? 0.0 : loss / 100.0;
  imp.delay = std::chrono::milliseconds(static_cast<long long>(delay));
  imp.jitter = std::chrono::milliseconds(static_cast<long long>(jitter));
  imp.hub = imp.any();  // the hub even where netem exists: one impairment model everywhere
  imp.learn = !flood;    // unicast to its port only: flooding N-1 copies of every frame costs CPU

  int rc = 0;
  {
    rel::Network net;
    const std::string err = net.build(static_cast<int>(hosts), imp, static_cast<std::uint32_t>(seed));
    if (!err.empty()) {
      std::fprintf(stderr, "netsim: %s\n", err.c_str());
      return net.cannot_create() ? 77 : 1;
    }
    if (nft && loss > 0) {
      const long threshold = std::lround(loss * 100.0);  // of 10000
      char path[] = "/tmp/netsim-nft.XXXXXX";
      const int fd = ::mkstemp(path);
      if (fd < 0) {
        std::fprintf(stderr, "netsim: mkstemp: %s\n", std::strerror(errno));
        return 1;
      }
      const std::string rules =
          "table inet netsim {\n  chain in {\n    type filter hook input priority -300; policy accept;\n"
          "    numgen random mod 10000 < " + std::to_string(threshold) + " counter drop\n  }\n}\n";
      const bool written = ::write(fd, rules.data(), rules.size()) == static_cast<ssize_t>(rules.size());
      ::close(fd);
      for (const auto& h : net.hosts()) {
        if (!written ||
            test_support::run_shell("ip netns exec " + h.ns + " nft -f " + path + " >&2") != 0) {
          std::fprintf(stderr, "netsim: nft could not install the loss rule in %s\n", h.ns.c_str());
          ::unlink(path);
          return 1;
        }
      }
      ::unlink(path);
    }

    std::ostringstream o;
    o << "{\"hosts\":[";
    for (std::size_t i = 0; i < net.hosts().size(); ++i) {
      const auto& h = net.hosts()[i];
      o << (i ? "," : "") << "{\"ns\":" << json_string(h.ns) << ",\"address\":" << json_string(h.address) << "}";
    }
    std::string mode = net.describe();
    if (nft && loss > 0) {
      char pct[32];
      std::snprintf(pct, sizeof pct, "%g", loss);
      mode += std::string("; loss ") + pct + "% by nftables on input inside every host";
    }
    o << "],\"mode\":" << json_string(mode) << ",\"loss\":" << loss << ",\"delay_ms\":" << delay
      << ",\"jitter_ms\":" << jitter << ",\"nft\":" << (nft ? "true" : "false") << ",\"pid\":" << ::getpid() << "}\n";
    const std::string line = o.str();
    if (::write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) rc = 1;

    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(static_cast<long long>(max_seconds));
    std::string input;
    bool stdin_open = true;
    while (rc == 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        std::fprintf(stderr, "netsim: --max-seconds %.0f reached\n", max_seconds);
        break;
      }
      pollfd pfds[2] = {{sfd, POLLIN, 0}, {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}};
      const int n = ::poll(pfds, 2, static_cast<int>(std::min<long long>(left.count(), 1000)));
      if (n < 0 && errno != EINTR) break;
      if (pfds[0].revents & POLLIN) {
        signalfd_siginfo si{};
        if (::read(sfd, &si, sizeof si) > 0 && si.ssi_signo != SIGPIPE) break;
      }
      if (pfds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
        char buf[256];
        const ssize_t got = ::read(STDIN_FILENO, buf, sizeof buf);
        if (got <= 0) break;  // stdin closed: done
        input.append(buf, static_cast<std::size_t>(got));
        for (auto nl = input.find('\n'); nl != std::string::npos; nl = input.find('\n')) {
          const std::string cmd = input.substr(0, nl);
          input.erase(0, nl + 1);
          if (cmd == "stats") {
            const std::string s = "{\"forwarded\":" + std::to_string(net.hub_forwarded()) +
                                  ",\"dropped\":" + std::to_string(net.hub_dropped()) + "}\n";
            if (::write(STDOUT_FILENO, s.data(), s.size()) < 0) rc = 1;
          }
        }
        if (input.size() > 4096) input.clear();
      }
    }
    std::fprintf(stderr, "netsim: tearing down %zu hosts (hub forwarded %llu, dropped %llu frames)\n",
                 net.hosts().size(), static_cast<unsigned long long>(net.hub_forwarded()),
                 static_cast<unsigned long long>(net.hub_dropped()));
  }  // ~Network: the hub stops, every namespace and link is deleted
  return rc;
}
