#include "bench_raw.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "bench_util.hpp"

namespace bench::raw {
namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("raw " + what + ": " + std::strerror(errno)); }

struct Listener {
  int fd = -1;
  sockaddr_storage addr{};
  socklen_t len = 0;
};

Listener listen_on(Kind kind, const std::string& socket_dir, int n) {
  Listener l;
  if (kind == Kind::tcp) {
    l.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l.fd < 0) fail("socket");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(l.fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) fail("bind");
    socklen_t len = sizeof a;
    ::getsockname(l.fd, reinterpret_cast<sockaddr*>(&a), &len);
    std::memcpy(&l.addr, &a, sizeof a);
    l.len = sizeof a;
  } else {
    l.fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l.fd < 0) fail("socket");
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    const std::string path = socket_dir + "/raw-" + std::to_string(::getpid()) + "-" + std::to_string(n) + ".sock";
    ::unlink(path.c_str());
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (::bind(l.fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) fail("bind " + path);
    std::memcpy(&l.addr, &a, sizeof a);
    l.len = sizeof a;
  }
  if (::listen(l.fd, 16) != 0) fail("listen");
  return l;
}

void unlink_listener(const Listener& l) {
  if (l.addr.ss_family == AF_UNIX) ::unlink(reinterpret_cast<const sockaddr_un*>(&l.addr)->sun_path);
}

int connect_to(const Listener& l) {
  const int fd = ::socket(l.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&l.addr), l.len) != 0) fail("connect");
  if (l.addr.ss_family == AF_INET) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // as the tcp transport
  }
  return fd;
}

int accept_one(const Listener& l) {
  const int fd = ::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) fail("accept");
  if (l.addr.ss_family == AF_INET) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

bool read_all(int fd, char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

}  // namespace

std::vector<double> ping_pong(Kind kind, int servers, std::size_t request, std::size_t response, std::size_t rounds,
                              std::size_t warmup, const std::string& socket_dir) {
  std::vector<Listener> ls;
  std::vector<std::thread> threads;
  std::vector<int> conns;
  for (int i = 0; i < servers; ++i) {
    ls.push_back(listen_on(kind, socket_dir, i));
    const Listener l = ls.back();
    threads.emplace_back([l, request, response] {
      const int fd = accept_one(l);
      std::string in(request, '\0'), out(response, 'r');
      while (read_all(fd, in.data(), request) && write_all(fd, out.data(), response)) {
      }
      ::close(fd);
    });
    conns.push_back(connect_to(ls.back()));
  }
  std::vector<double> us;
  us.reserve(rounds);
  std::string req(request, 'q'), resp(response, '\0');
  for (std::size_t r = 0; r < rounds + warmup; ++r) {
    const std::int64_t t0 = now_ns();
    for (int fd : conns)
      if (!write_all(fd, req.data(), request)) fail("write");
    for (int fd : conns)
      if (!read_all(fd, resp.data(), response)) fail("read");
    if (r >= warmup) us.push_back(static_cast<double>(now_ns() - t0) / 1000.0);
  }
  for (int fd : conns) ::close(fd);
  for (auto& t : threads) t.join();
  for (const auto& l : ls) {
    ::close(l.fd);
    unlink_listener(l);
  }
  return us;
}

Throughput stream(Kind kind, std::size_t size, std::uint64_t count, double seconds, const std::string& socket_dir) {
  Listener l = listen_on(kind, socket_dir, 100);
  std::uint64_t bytes = 0;
  std::int64_t last_read = 0;
  std::thread reader([&] {
    const int fd = accept_one(l);
    std::vector<char> buf(65536);
    for (;;) {
      const ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      bytes += static_cast<std::uint64_t>(r);
      last_read = now_ns();
    }
    ::close(fd);
  });
  const int fd = connect_to(l);
  std::string msg(size, 'm');
  Throughput t;
  const std::int64_t first = now_ns();
  const std::int64_t deadline = first + static_cast<std::int64_t>(seconds * 1e9);
  for (std::uint64_t i = 0; i < count; ++i) {
    if (!write_all(fd, msg.data(), size)) break;
    ++t.sent;
    if ((i & 255) == 255 && now_ns() >= deadline) break;
  }
  ::shutdown(fd, SHUT_WR);
  reader.join();
  ::close(fd);
  ::close(l.fd);
  unlink_listener(l);
  t.received = bytes / size;
  t.seconds = static_cast<double>(last_read - first) / 1e9;
  return t;
}

namespace {

/// A UDP socket bound to group:port, joined on lo, sending through lo from 127.0.0.1, TTL 0.
int multicast_socket(const sockaddr_in& g) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  int one = 1, zero = 0;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&g), sizeof g) != 0) fail("bind group");
  ip_mreqn m{};
  m.imr_multiaddr = g.sin_addr;
  m.imr_ifindex = static_cast<int>(::if_nametoindex("lo"));
  if (::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) != 0) fail("IP_ADD_MEMBERSHIP");
  ip_mreqn out{};
  out.imr_ifindex = m.imr_ifindex;
  out.imr_address.s_addr = htonl(INADDR_LOOPBACK);
  ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &out, sizeof out);
  ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &zero, sizeof zero);
  ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof one);
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

}  // namespace

std::vector<double> multicast_ping_pong(const std::string& group, std::uint16_t port, std::size_t size,
                                        std::size_t rounds, std::size_t warmup) {
  sockaddr_in a{}, b{};
  a.sin_family = b.sin_family = AF_INET;
  if (::inet_pton(AF_INET, group.c_str(), &a.sin_addr) != 1) fail("group " + group);
  b.sin_addr = a.sin_addr;
  a.sin_port = htons(port);
  b.sin_port = htons(static_cast<std::uint16_t>(port + 1));
  const int fa = multicast_socket(a), fb = multicast_socket(b);
  std::atomic<bool> stop{false};
  std::thread echo([&] {  // receives on port+1, answers to port
    std::vector<char> buf(65536);
    while (!stop.load()) {
      const ssize_t r = ::recv(fb, buf.data(), buf.size(), 0);
      if (r > 0) ::sendto(fb, buf.data(), static_cast<std::size_t>(r), 0, reinterpret_cast<const sockaddr*>(&a), sizeof a);
    }
  });
  std::vector<double> us;
  std::string msg(size, 'm');
  std::vector<char> buf(65536);
  for (std::size_t r = 0; r < rounds + warmup; ++r) {
    const std::int64_t t0 = now_ns();
    ::sendto(fa, msg.data(), size, 0, reinterpret_cast<const sockaddr*>(&b), sizeof b);
    if (::recv(fa, buf.data(), buf.size(), 0) <= 0) continue;  // lost: skip the round
    if (r >= warmup) us.push_back(static_cast<double>(now_ns() - t0) / 1000.0);
  }
  stop = true;
  ::sendto(fa, msg.data(), size, 0, reinterpret_cast<const sockaddr*>(&b), sizeof b);  // wake the echo thread
  echo.join();
  ::close(fa);
  ::close(fb);
  return us;
}

Throughput multicast(const std::string& group, std::uint16_t port, std::size_t size, std::uint64_t count,
                     double seconds) {
  sockaddr_in g{};
  g.sin_family = AF_INET;
  g.sin_port = htons(port);
  if (::inet_pton(AF_INET, group.c_str(), &g.sin_addr) != 1) fail("group " + group);
  const unsigned lo = ::if_nametoindex("lo");

  const int rfd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (rfd < 0) fail("socket");
  int one = 1;
  ::setsockopt(rfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(rfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (::bind(rfd, reinterpret_cast<const sockaddr*>(&g), sizeof g) != 0) fail("bind group");
  ip_mreqn m{};
  m.imr_multiaddr = g.sin_addr;
  m.imr_ifindex = static_cast<int>(lo);
  if (::setsockopt(rfd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) != 0) fail("IP_ADD_MEMBERSHIP");
  timeval tv{0, 200000};
  ::setsockopt(rfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  const int sfd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sfd < 0) fail("socket");
  ip_mreqn out{};
  out.imr_ifindex = static_cast<int>(lo);
  out.imr_address.s_addr = htonl(INADDR_LOOPBACK);
  ::setsockopt(sfd, IPPROTO_IP, IP_MULTICAST_IF, &out, sizeof out);
  int ttl = 0;
  ::setsockopt(sfd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
  ::setsockopt(sfd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof one);

  std::atomic<bool> writer_done{false};
  std::uint64_t received = 0;
  std::int64_t last_read = 0;
  std::thread reader([&] {
    std::vector<char> buf(65536);
    for (;;) {
      const ssize_t r = ::recv(rfd, buf.data(), buf.size(), 0);
      if (r > 0) {
        ++received;
        last_read = now_ns();
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      if (writer_done.load()) break;  // a timeout after the writer finished: all in
    }
  });
  std::string msg(size, 'm');
  Throughput t;
  const std::int64_t first = now_ns();
  const std::int64_t deadline = first + static_cast<std::int64_t>(seconds * 1e9);
  for (std::uint64_t i = 0; i < count; ++i) {
    const ssize_t n = ::sendto(sfd, msg.data(), size, 0, reinterpret_cast<const sockaddr*>(&g), sizeof g);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("sendto");
    ++t.sent;
    if ((i & 255) == 255 && now_ns() >= deadline) break;
  }
  writer_done = true;
  reader.join();
  ::close(sfd);
  ::close(rfd);
  t.received = received;
  t.seconds = static_cast<double>(last_read - first) / 1e9;
  return t;
}

}  // namespace bench::raw

namespace bench {

int udp_sink_main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: cluster_bench udp-sink GROUP PORT\n");
    return 2;
  }
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  sockaddr_in g{};
  g.sin_family = AF_INET;
  g.sin_port = htons(static_cast<std::uint16_t>(std::atoi(argv[3])));
  if (::inet_pton(AF_INET, argv[2], &g.sin_addr) != 1) return 2;
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&g), sizeof g) != 0) return 1;
  ip_mreqn m{};
  m.imr_multiaddr = g.sin_addr;
  m.imr_ifindex = static_cast<int>(::if_nametoindex("lo"));
  if (::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) != 0) return 1;
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  ev.data.fd = 0;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
  std::printf("ready\n");
  std::fflush(stdout);
  std::vector<char> buf(65536);
  for (;;) {
    epoll_event got[4];
    const int n = ::epoll_wait(ep, got, 4, 1000);
    for (int i = 0; i < n; ++i) {
      if (got[i].data.fd == 0) {
        char c[64];
        if (::read(0, c, sizeof c) <= 0) return 0;  // stdin closed: done
        continue;
      }
      while (::recv(fd, buf.data(), buf.size(), 0) > 0) {
      }
    }
  }
}

}  // namespace bench
