// `cluster_bench synth`: synthetic members for the scale suite (bench_scale.cpp). One process
// multicasts the heartbeats of N members that do not exist otherwise: their payloads are
// pre-encoded with bpacket::encode_payload (the product's codec), first one FULL heartbeat each
// (props and tags, so an observer discovers the member at once), spread over --burst ms (0: as
// fast as the socket takes them, the cold-start storm), then BARE ones, each member once per
// --hb ms, paced evenly over the period in 1 ms ticks (sendmmsg batches). Sends only: never
// answers asks, pings, queries. Inside the suite's private network namespace on lo (IP_MULTICAST_IF
// lo, TTL 0): nothing leaves the machine.
//
//   cluster_bench synth --group G --port P --members N [--hb MS] [--burst MS] [--hids H] [--seconds S]
//                       [--stop-after S --stop-frac F]
//
// Output lines: "sizes <full B> <bare B>", "start <t>" (now_ns before the first send),
// "full-done <t>", "stopped <t> <k>" (with --stop-after: from the first period starting at or
// after S seconds, members 0..k-1, k = F * N, send nothing more; <t> is that period's start, so
// member i's last heartbeat went out at about t - hb + i * hb / N), and at the end
// "sent <datagrams> <send errors>". Stops when stdin closes or after --seconds (default 120),
// whichever comes first.
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "cluster/bpacket/payload_codec.hpp"
#include "cluster/payload.hpp"

namespace bench {
namespace {

bool stdin_closed() {
  pollfd p{0, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  char buf[256];
  const ssize_t n = ::read(0, buf, sizeof buf);
  return n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN);
}

}  // namespace

int synth_main(int argc, char** argv) {
  std::string group;
  int port = 0;
  std::size_t members = 0, hids = 0;
  long hb_ms = 1000, burst_ms = 0;
  double seconds = 120, stop_after = -1, stop_frac = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--group") group = v;
    else if (a == "--port") port = std::atoi(v.c_str());
    else if (a == "--members") members = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--hb") hb_ms = std::atol(v.c_str());
    else if (a == "--burst") burst_ms = std::atol(v.c_str());
    else if (a == "--hids") hids = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--seconds") seconds = std::atof(v.c_str());
    else if (a == "--stop-after") stop_after = std::atof(v.c_str());
    else if (a == "--stop-frac") stop_frac = std::atof(v.c_str());
  }
  if (group.empty() || port <= 0 || members == 0 || hb_ms <= 0 || burst_ms < 0 || members > 1000000 || stop_frac < 0 ||
      stop_frac > 1) {
    std::fprintf(stderr, "usage: cluster_bench synth --group G --port P --members N [--hb MS] [--burst MS] [--hids H] [--seconds S]\n");
    return 2;
  }
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the suite
  if (hids == 0) hids = std::max<std::size_t>(1, members / 50);  // ~50 members a host

  // The payloads: what a member of the suites' usual configuration (protocols u t c) sends.
  std::vector<std::string> full(members), bare(members);
  for (std::size_t i = 0; i < members; ++i) {
    char sid[16], hid[24];
    std::snprintf(sid, sizeof sid, "S%07zu", i);
    const std::size_t h = i % hids;
    std::snprintf(hid, sizeof hid, "02:5e:00:%02zx:%02zx:%02zx", (h >> 16) & 0xff, (h >> 8) & 0xff, h & 0xff);
    cluster::Payload p;
    p.sid = std::string(sid);
    p.hid = std::string(hid);
    p.type = static_cast<std::uint64_t>(cluster::PayloadType::heartbeat);
    p.channel = 0;
    p.protocols = cluster::StringList{"u", "t", "c"};
    p.known = members;
    cluster::bpacket::encode_payload(p, bare[i]);
    p.data = "t {port " + std::to_string(30000 + i % 30000) + "} u {port " + std::to_string(30000 + i % 30000) + "}";
    p.tags = cluster::StringList{"synth", "rack-" + std::to_string(h % 16)};
    cluster::bpacket::encode_payload(p, full[i]);
  }

  sockaddr_in g{};
  g.sin_family = AF_INET;
  g.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, group.c_str(), &g.sin_addr) != 1) {
    std::fprintf(stderr, "synth: bad group %s\n", group.c_str());
    return 2;
  }
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);  // not joined: sends only
  if (fd < 0) {
    std::perror("synth: socket");
    return 1;
  }
  ip_mreqn out{};
  out.imr_ifindex = static_cast<int>(::if_nametoindex("lo"));
  out.imr_address.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1, zero = 0, sndbuf = 4 << 20;
  ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &out, sizeof out);
  ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &zero, sizeof zero);  // never routed off the host
  ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

  std::uint64_t sent = 0, errors = 0;
  // Sends packets [from, to) of `v` in sendmmsg batches of 64.
  auto send_range = [&](const std::vector<std::string>& v, std::size_t from, std::size_t to) {
    constexpr std::size_t kBatch = 64;
    mmsghdr msgs[kBatch];
    iovec iov[kBatch];
    while (from < to) {
      const std::size_t n = std::min(kBatch, to - from);
      for (std::size_t k = 0; k < n; ++k) {
        iov[k].iov_base = const_cast<char*>(v[from + k].data());
        iov[k].iov_len = v[from + k].size();
        msgs[k] = mmsghdr{};
        msgs[k].msg_hdr.msg_name = &g;
        msgs[k].msg_hdr.msg_namelen = sizeof g;
        msgs[k].msg_hdr.msg_iov = &iov[k];
        msgs[k].msg_hdr.msg_iovlen = 1;
      }
      const int r = ::sendmmsg(fd, msgs, static_cast<unsigned>(n), 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        ++errors;  // ENOBUFS and the like: that datagram is lost, as on a real segment
        ++from;
        continue;
      }
      sent += static_cast<std::uint64_t>(r);
      from += static_cast<std::size_t>(r == 0 ? 1 : r);
    }
  };

  std::printf("sizes %zu %zu\n", full[0].size(), bare[0].size());
  const std::int64_t t0 = now_ns();
  const std::int64_t deadline = t0 + static_cast<std::int64_t>(seconds * 1e9);
  std::printf("start %lld\n", static_cast<long long>(t0));
  std::fflush(stdout);
  const std::int64_t ms = 1'000'000;
  bool stop = false;
  // Sends v[i] for i in [skip, n) evenly over `ticks` 1-ms ticks from `start` (ns): member i
  // in tick i * ticks / n.
  auto paced = [&](const std::vector<std::string>& v, std::int64_t start, long ticks, std::size_t skip) {
    const std::size_t n = v.size();
    for (long t = 0; t < ticks && !stop; ++t) {
      const std::int64_t at = start + t * ms;
      const std::int64_t wait = at - now_ns();
      if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
      const std::size_t from = n * static_cast<std::size_t>(t) / static_cast<std::size_t>(ticks);
      const std::size_t to = n * static_cast<std::size_t>(t + 1) / static_cast<std::size_t>(ticks);
      send_range(v, std::max(from, std::min(skip, to)), to);
      if ((t & 15) == 0 && (stdin_closed() || now_ns() >= deadline)) stop = true;
    }
  };
  if (burst_ms == 0) send_range(full, 0, members);
  else paced(full, t0, burst_ms, 0);
  std::printf("full-done %lld\n", static_cast<long long>(now_ns()));
  std::fflush(stdout);
  // Bare heartbeats: member i's first one a period after the start, then every period.
  const std::int64_t stop_at = stop_after < 0 ? -1 : t0 + static_cast<std::int64_t>(stop_after * 1e9);
  const std::size_t stopping = static_cast<std::size_t>(stop_frac * static_cast<double>(members));
  bool stopped = false;
  for (std::int64_t period = t0 + std::max<long>(hb_ms, burst_ms) * ms; !stop && now_ns() < deadline; period += hb_ms * ms) {
    if (!stopped && stop_at >= 0 && period >= stop_at) {
      stopped = true;
      std::printf("stopped %lld %zu\n", static_cast<long long>(period), stopping);
      std::fflush(stdout);
    }
    paced(bare, period, hb_ms, stopped ? stopping : 0);
  }
  std::printf("sent %llu %llu\n", static_cast<unsigned long long>(sent), static_cast<unsigned long long>(errors));
  std::fflush(stdout);
  ::close(fd);
  return 0;
}

}  // namespace bench
