// Simulated hosts and the impairing hub (network.hpp).
#include "network.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <queue>
#include <random>
#include <sstream>
#include <unordered_map>

#include "netns.hpp"

namespace rel {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

using test_support::run_shell;

/// Runs `cmd`, returns its exit code and puts stdout+stderr in `out`.
int shell_capture(const std::string& cmd, std::string& out) {
  out.clear();
  FILE* f = ::popen((cmd + " 2>&1").c_str(), "r");
  if (f == nullptr) return -1;
  char buf[512];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const int rc = ::pclose(f);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

std::string percent(double v) {
  std::ostringstream o;
  o << v * 100.0 << "%";
  return o.str();
}

// struct virtio_net_hdr (linux/virtio_net.h, which does not compile as C++): every frame read
// from or written to a PACKET_VNET_HDR socket starts with it.
constexpr std::size_t kVnetHdrSize = 10;

std::atomic<int> g_networks{0};
std::atomic<int> g_links{0};

}  // namespace

// ---- the impairing hub ----

class ImpairHub {
 public:
  ImpairHub(std::vector<std::string> ports, const Impairment& imp, std::uint32_t seed)
      : names_(std::move(ports)), imp_(imp), rng_(seed) {}

  ~ImpairHub() { stop(); }

  std::string start() {
    for (const auto& name : names_) {
      const unsigned index = ::if_nametoindex(name.c_str());
      if (index == 0) return "no interface " + name;
      const int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
      if (fd < 0) return std::string("AF_PACKET socket: ") + std::strerror(errno);
      fds_.push_back(fd);
      const int one = 1;
      // The virtio-net header carries checksum-offload and GSO metadata through unchanged.
      if (::setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) != 0)
        return std::string("PACKET_VNET_HDR: ") + std::strerror(errno);
#ifdef PACKET_IGNORE_OUTGOING
      ::setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);  // best effort
#endif
      sockaddr_ll sll{};
      sll.sll_family = AF_PACKET;
      sll.sll_protocol = htons(ETH_P_ALL);
      sll.sll_ifindex = static_cast<int>(index);
      if (::bind(fd, reinterpret_cast<const sockaddr*>(&sll), sizeof sll) != 0)
        return "bind " + name + ": " + std::strerror(errno);
    }
    stop_ = false;
    thread_ = std::thread([this] { run(); });
    return {};
  }

  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (int fd : fds_) ::close(fd);
    fds_.clear();
  }

  std::uint64_t forwarded() const { return forwarded_; }
  std::uint64_t dropped() const { return dropped_; }
  void block(std::size_t port, bool blocked) {
    if (port < blocked_.size()) blocked_[port] = blocked;
  }

 private:
  struct Pending {
    Clock::time_point due;
    std::uint64_t seq;
    std::size_t port;
    std::shared_ptr<const std::string> frame;  // virtio-net header + Ethernet frame
    bool operator>(const Pending& o) const { return due > o.due || (due == o.due && seq > o.seq); }
  };

  void run() {
    std::vector<pollfd> pfds;
    for (int fd : fds_) pfds.push_back(pollfd{fd, POLLIN, 0});
    std::string buf(kVnetHdrSize + 65536 + 64, '\0');
    std::uniform_real_distribution<double> coin(0.0, 1.0);
    const long long lo = std::max<long long>(0, (imp_.delay - imp_.jitter).count());
    const long long hi = std::max<long long>(lo, (imp_.delay + imp_.jitter).count());
    std::uniform_int_distribution<long long> delay(lo * 1000, hi * 1000);  // microseconds
    constexpr std::size_t kMaxQueued = 20000;
    while (!stop_) {
      int timeout = 20;
      if (!queue_.empty()) {
        const auto left = std::chrono::duration_cast<milliseconds>(queue_.top().due - Clock::now()).count();
        timeout = static_cast<int>(std::clamp<long long>(left, 0, 20));
      }
      ::poll(pfds.data(), pfds.size(), timeout);
      for (std::size_t i = 0; i < fds_.size(); ++i) {
        for (int budget = 0; budget < 256; ++budget) {
          sockaddr_ll from{};
          socklen_t len = sizeof from;
          const ssize_t n = ::recvfrom(fds_[i], buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
          if (n <= 0) break;
          if (from.sll_pkttype == PACKET_OUTGOING) continue;  // what we sent out of this port
          if (blocked_[i]) {
            ++dropped_;
            continue;
          }
          auto frame = std::make_shared<const std::string>(buf.data(), static_cast<std::size_t>(n));
          std::size_t only = fds_.size();  // the one port a unicast frame goes to, if known
          if (imp_.learn && static_cast<std::size_t>(n) >= kVnetHdrSize + 14) {
            const auto* eth = reinterpret_cast<const unsigned char*>(buf.data()) + kVnetHdrSize;
            ports_[mac_key(eth + 6)] = i;  // the source MAC is behind port i
            if ((eth[0] & 1) == 0) {       // unicast destination
              const auto it = ports_.find(mac_key(eth));
              if (it != ports_.end()) only = it->second;
            }
          }
          for (std::size_t j = 0; j < fds_.size(); ++j) {
            if (j == i || (only < fds_.size() && j != only)) continue;
            if (coin(rng_) < imp_.loss || queue_.size() >= kMaxQueued) {
              ++dropped_;
              continue;
            }
            queue_.push(Pending{Clock::now() + std::chrono::microseconds(delay(rng_)), seq_++, j, frame});
          }
        }
      }
      const auto now = Clock::now();
      while (!queue_.empty() && queue_.top().due <= now) {
        const Pending& p = queue_.top();
        if (::send(fds_[p.port], p.frame->data(), p.frame->size(), MSG_DONTWAIT) >= 0) ++forwarded_;
        else ++dropped_;
        queue_.pop();
      }
    }
  }

  static std::uint64_t mac_key(const unsigned char* mac) {
    std::uint64_t k = 0;
    for (int b = 0; b < 6; ++b) k = (k << 8) | mac[b];
    return k;
  }

  std::vector<std::string> names_;
  Impairment imp_;
  std::unordered_map<std::uint64_t, std::size_t> ports_;  // learned: source MAC -> port (imp_.learn)
  std::mt19937 rng_;
  std::vector<int> fds_;
  std::thread thread_;
  std::atomic<bool> stop_{true};
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> queue_;
  std::uint64_t seq_ = 0;
  std::atomic<std::uint64_t> forwarded_{0}, dropped_{0};
  std::vector<std::atomic<bool>> blocked_ = std::vector<std::atomic<bool>>(names_.size());
};

// ---- the network ----

Network::Network() = default;

Network::~Network() { teardown(); }

void Network::sweep_stale() {
  DIR* d = ::opendir("/var/run/netns");
  if (d == nullptr) return;
  std::vector<std::string> stale;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind("cl-rel-", 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + 7, nullptr, 10);
    if (pid <= 0) continue;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) stale.push_back(name);
  }
  ::closedir(d);
  for (const auto& ns : stale) run_shell("ip netns del " + ns + " 2>/dev/null");
}

bool Network::netem_available(std::string& why) {
  const std::string a = "crnp" + std::to_string(::getpid() % 100000);
  if (run_shell("ip link add " + a + "a type veth peer name " + a + "b 2>/dev/null") != 0) {
    why = "cannot create a veth pair";
    return false;
  }
  std::string out;
  const int rc = shell_capture("tc qdisc add dev " + a + "a root netem loss 1% delay 1ms 1ms", out);
  run_shell("ip link del " + a + "a 2>/dev/null");
  if (rc != 0) why = "tc qdisc add ... netem: " + (out.empty() ? "exit " + std::to_string(rc) : out);
  return rc == 0;
}

std::string Network::build(int hosts, const Impairment& impairment, std::uint32_t seed) {
  sweep_stale();
  impairment_ = impairment;
  const int n = g_networks++;
  mode_ = Mode::bridge;
  if (impairment.hub) {
    mode_ = Mode::hub;
    netem_error_ = "asked for by the test";
  } else if (impairment.any()) {
    const char* force = std::getenv("CLUSTER_RELIABILITY_IMPAIR");
    const std::string want = force != nullptr ? force : "";
    if (want == "hub") {
      mode_ = Mode::hub;
      netem_error_ = "CLUSTER_RELIABILITY_IMPAIR=hub";
    } else if (netem_available(netem_error_)) {
      mode_ = Mode::netem;
    } else if (want == "netem") {
      return "netem was asked for (CLUSTER_RELIABILITY_IMPAIR=netem) but is unavailable: " + netem_error_;
    } else {
      mode_ = Mode::hub;
    }
  }
  std::vector<std::string> cmds;
  if (mode_ != Mode::hub) {
    bridge_ = "crbr" + std::to_string(n);
    if (run_shell("ip link add " + bridge_ + " type bridge mcast_snooping 0") != 0) {
      bridge_.clear();
      cannot_create_ = true;
      return "cannot create a bridge";
    }
    cmds.push_back("ip link set " + bridge_ + " up");
  }
  const std::string subnet = "10.232." + std::to_string(n % 250) + ".";
  for (int i = 0; i < hosts; ++i) {
    const int k = g_links++;
    Host h;
    h.ns = "cl-rel-" + std::to_string(::getpid()) + "-" + std::to_string(k);
    h.outer = "crv" + std::to_string(k);
    h.address = subnet + std::to_string(i + 1);
    if (run_shell("ip netns add " + h.ns) != 0) {
      cannot_create_ = true;
      return "cannot create network namespace " + h.ns;
    }
    hosts_.push_back(h);  // deleted in teardown from here on
    const std::string in = "ip -n " + h.ns + " ";
    cmds.push_back("ip link add " + h.outer + " type veth peer name eth0 netns " + h.ns);
    if (!bridge_.empty()) cmds.push_back("ip link set " + h.outer + " master " + bridge_);
    cmds.push_back("ip link set " + h.outer + " up");
    if (mode_ == Mode::netem)
      cmds.push_back("tc qdisc add dev " + h.outer + " root netem loss " + percent(impairment.loss) + " delay " +
                     std::to_string(impairment.delay.count()) + "ms " + std::to_string(impairment.jitter.count()) + "ms");
    cmds.push_back(in + "link set lo up");
    cmds.push_back(in + "addr add " + h.address + "/24 dev eth0");
    cmds.push_back(in + "link set eth0 multicast on");
    cmds.push_back(in + "link set eth0 up");
    cmds.push_back(in + "route add 224.0.0.0/4 dev eth0");
  }
  for (const auto& cmd : cmds) {
    std::string out;
    if (shell_capture(cmd, out) != 0) return cmd + ": " + out;
  }
  // Every link up before anyone joins (members join the group on the interfaces that are up).
  const auto deadline = Clock::now() + milliseconds(5000);
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    while (run_shell("ip -n " + hosts_[i].ns + " link show eth0 | grep -q LOWER_UP") != 0) {
      if (Clock::now() > deadline) return "eth0 of " + hosts_[i].ns + " did not come up";
      std::this_thread::sleep_for(milliseconds(20));
    }
  }
  if (mode_ == Mode::hub) {
    std::vector<std::string> ports;
    for (const auto& h : hosts_) ports.push_back(h.outer);
    hub_ = std::make_unique<ImpairHub>(ports, impairment, seed);
    if (std::string err = hub_->start(); !err.empty()) return "impairing hub: " + err;
  }
  return {};
}

std::string Network::describe() const {
  std::ostringstream o;
  o << hosts_.size() << " hosts";
  switch (mode_) {
    case Mode::bridge: o << " on bridge " << bridge_ << " (multicast snooping off)"; break;
    case Mode::netem:
      o << " on bridge " << bridge_ << ", tc netem on every port: loss " << percent(impairment_.loss) << " delay "
        << impairment_.delay.count() << "ms " << impairment_.jitter.count() << "ms";
      break;
    case Mode::hub:
      o << " on the test's impairing " << (impairment_.learn ? "switch" : "hub") << " (" << netem_error_
        << "): loss " << percent(impairment_.loss) << " delay " << impairment_.delay.count() << "ms +- "
        << impairment_.jitter.count() << "ms";
      break;
  }
  return o.str();
}

std::vector<std::string> Network::wrapper(std::size_t i) const {
  return {"/usr/bin/env", "ip", "netns", "exec", hosts_.at(i).ns};
}

int Network::run_in(std::size_t i, const std::string& cmd) const {
  return run_shell("ip netns exec " + hosts_.at(i).ns + " sh -c '" + cmd + "'");
}

void Network::block_output(std::size_t i, bool blocked) {
  if (hub_) hub_->block(i, blocked);
}

std::uint64_t Network::hub_forwarded() const { return hub_ ? hub_->forwarded() : 0; }
std::uint64_t Network::hub_dropped() const { return hub_ ? hub_->dropped() : 0; }

void Network::teardown() {
  if (hub_) hub_->stop();
  hub_.reset();
  for (const auto& h : hosts_) {
    run_shell("ip netns del " + h.ns + " 2>/dev/null");
    run_shell("ip link del " + h.outer + " 2>/dev/null");
  }
  hosts_.clear();
  if (!bridge_.empty()) run_shell("ip link del " + bridge_ + " 2>/dev/null");
  bridge_.clear();
}

}  // namespace rel
