#include "bench_raw.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "bench_util.hpp"

namespace bench {
namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("raw " + what + ": " + std::strerror(errno)); }

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // as the tcp transport
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

/// A listening socket: TCP on 127.0.0.1 (ephemeral port) or Unix at `path`. Sets `where` to
/// the port or the path.
int listen_on(bool tcp, const std::string& path, std::string& where) {
  if (tcp) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("socket");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) fail("bind");
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    if (::listen(fd, 16) != 0) fail("listen");
    where = std::to_string(ntohs(a.sin_port));
    return fd;
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  ::unlink(path.c_str());
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) fail("bind " + path);
  if (::listen(fd, 16) != 0) fail("listen");
  where = path;
  return fd;
}

int connect_to(raw::Kind kind, const std::string& where) {
  if (kind == raw::Kind::tcp) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("socket");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(std::atoi(where.c_str())));
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) fail("connect");
    set_nodelay(fd);
    return fd;
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, where.c_str(), sizeof a.sun_path - 1);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) fail("connect " + where);
  return fd;
}

/// A UDP socket bound to group:port, joined on lo, sending through lo from 127.0.0.1, TTL 0.
int multicast_socket(const std::string& group, std::uint16_t port, sockaddr_in& g) {
  g = sockaddr_in{};
  g.sin_family = AF_INET;
  g.sin_port = htons(port);
  if (::inet_pton(AF_INET, group.c_str(), &g.sin_addr) != 1) fail("group " + group);
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  int one = 1, zero = 0;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  // The receive buffer the udp-multicast plugin asks for by default, so the floor is fair.
  const int rcvbuf = 1 << 20;
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
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
  return fd;
}

/// Starts `cluster_bench raw-server ARGS...` and waits for its "ready <where>" line.
std::unique_ptr<Child> start_server(const raw::Env& env, const std::vector<std::string>& args, std::string& where) {
  std::vector<std::string> argv{env.self, "raw-server"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto c = std::make_unique<Child>(argv, env.tmp + "/raw-server.err");
  std::string line;
  pump({c.get()}, [&](std::size_t, const std::string& l) { if (line.empty()) line = l; },
       [&] { return !line.empty(); }, now_ns() + 10'000'000'000);
  if (!starts_with(line, "ready")) throw std::runtime_error("raw-server " + args[0] + " did not start");
  where = line.size() > 6 ? line.substr(6) : std::string();
  return c;
}

/// The next line of a server (waits up to 10 s).
std::string server_line(Child& c) {
  std::string line;
  pump({&c}, [&](std::size_t, const std::string& l) { if (line.empty()) line = l; }, [&] { return !line.empty(); },
       now_ns() + 10'000'000'000);
  return line;
}

std::string kind_name(raw::Kind k) { return k == raw::Kind::tcp ? "tcp" : "unix"; }

}  // namespace

namespace raw {

std::vector<double> ping_pong(const Env& env, Kind kind, int servers, std::size_t request, std::size_t response,
                              std::size_t rounds, std::size_t warmup) {
  std::vector<std::unique_ptr<Child>> procs;
  std::vector<int> conns;
  for (int i = 0; i < servers; ++i) {
    std::string where;
    procs.push_back(start_server(env, {"echo", kind_name(kind), std::to_string(request), std::to_string(response),
                                       env.tmp + "/raw-echo-" + std::to_string(i) + ".sock"},
                                 where));
    conns.push_back(connect_to(kind, where));
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
  for (int fd : conns) ::close(fd);  // the servers exit at end of file
  return us;
}

std::vector<double> multicast_ping_pong(const Env& env, const std::string& group, std::uint16_t port, std::size_t size,
                                        std::size_t rounds, std::size_t warmup) {
  std::string where;
  auto echo = start_server(env, {"mecho", group, std::to_string(port)}, where);
  sockaddr_in a{}, b{};
  const int fd = multicast_socket(group, port, a);
  b = a;
  b.sin_port = htons(static_cast<std::uint16_t>(port + 1));
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::vector<double> us;
  std::string msg(size, 'm');
  std::vector<char> buf(65536);
  for (std::size_t r = 0; r < rounds + warmup; ++r) {
    const std::int64_t t0 = now_ns();
    ::sendto(fd, msg.data(), size, 0, reinterpret_cast<const sockaddr*>(&b), sizeof b);
    if (::recv(fd, buf.data(), buf.size(), 0) <= 0) continue;  // lost: skip the round
    if (r >= warmup) us.push_back(static_cast<double>(now_ns() - t0) / 1000.0);
  }
  ::close(fd);
  echo->close_stdin();
  return us;
}

Throughput stream(const Env& env, Kind kind, std::size_t size, std::uint64_t count, double seconds) {
  std::string where;
  auto sink = start_server(env, {"sink", kind_name(kind), env.tmp + "/raw-sink.sock"}, where);
  const int fd = connect_to(kind, where);
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
  const auto w = split(server_line(*sink));  // got BYTES LAST_NS
  ::close(fd);
  if (w.size() != 3) throw std::runtime_error("raw sink: no result");
  t.received = std::strtoull(w[1].c_str(), nullptr, 10) / size;
  t.seconds = static_cast<double>(std::atoll(w[2].c_str()) - first) / 1e9;
  return t;
}

Throughput multicast(const Env& env, const std::string& group, std::uint16_t port, std::size_t size,
                     std::uint64_t count, double seconds) {
  std::string where;
  auto sink = start_server(env, {"msink", group, std::to_string(port)}, where);
  sockaddr_in g{};
  g.sin_family = AF_INET;
  g.sin_port = htons(port);
  if (::inet_pton(AF_INET, group.c_str(), &g.sin_addr) != 1) fail("group " + group);
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);  // not joined: sends only
  if (fd < 0) fail("socket");
  ip_mreqn out{};
  out.imr_ifindex = static_cast<int>(::if_nametoindex("lo"));
  out.imr_address.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1, zero = 0;
  ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &out, sizeof out);
  ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &zero, sizeof zero);
  ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof one);
  std::string msg(size, 'm');
  Throughput t;
  const std::int64_t first = now_ns();
  const std::int64_t deadline = first + static_cast<std::int64_t>(seconds * 1e9);
  for (std::uint64_t i = 0; i < count; ++i) {
    const ssize_t n = ::sendto(fd, msg.data(), size, 0, reinterpret_cast<const sockaddr*>(&g), sizeof g);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("sendto");
    ++t.sent;
    if ((i & 255) == 255 && now_ns() >= deadline) break;
  }
  ::close(fd);
  sink->write_line("end");
  const auto w = split(server_line(*sink));  // got COUNT LAST_NS
  if (w.size() != 3) throw std::runtime_error("raw multicast sink: no result");
  t.received = std::strtoull(w[1].c_str(), nullptr, 10);
  t.seconds = static_cast<double>(std::atoll(w[2].c_str()) - first) / 1e9;
  return t;
}

}  // namespace raw

namespace {

void say(const std::string& s) {
  std::printf("%s\n", s.c_str());
  std::fflush(stdout);
}

/// Whether stdin has a line or end of file (without waiting).
bool stdin_ready() {
  pollfd p{0, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

}  // namespace

// raw-server echo tcp|unix REQ RESP PATH   accept one connection; read REQ, write RESP, until EOF
// raw-server sink tcp|unix PATH            accept one connection; read until EOF -> got BYTES LAST_NS
// raw-server mecho GROUP PORT              on GROUP:PORT+1, send every datagram back to GROUP:PORT,
//                                          until stdin closes
// raw-server msink GROUP PORT              count datagrams on GROUP:PORT; after a line on stdin,
//                                          until 200 ms pass without one -> got COUNT LAST_NS
int raw_server_main(int argc, char** argv) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  std::signal(SIGPIPE, SIG_IGN);
  const std::vector<std::string> a(argv + 2, argv + argc);
  try {
    if (a.size() == 5 && a[0] == "echo") {
      std::string where;
      const int l = listen_on(a[1] == "tcp", a[4], where);
      say("ready " + where);
      const int fd = ::accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) fail("accept");
      if (a[1] == "tcp") set_nodelay(fd);
      const std::size_t req = std::strtoull(a[2].c_str(), nullptr, 10), resp = std::strtoull(a[3].c_str(), nullptr, 10);
      std::string in(req, '\0'), out(resp, 'r');
      while (read_all(fd, in.data(), req) && write_all(fd, out.data(), resp)) {
      }
      if (a[1] != "tcp") ::unlink(a[4].c_str());
      return 0;
    }
    if (a.size() == 3 && a[0] == "sink") {
      std::string where;
      const int l = listen_on(a[1] == "tcp", a[2], where);
      say("ready " + where);
      const int fd = ::accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) fail("accept");
      std::vector<char> buf(65536);
      std::uint64_t bytes = 0;
      std::int64_t last = 0;
      for (;;) {
        const ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        bytes += static_cast<std::uint64_t>(r);
        last = now_ns();
      }
      if (a[1] != "tcp") ::unlink(a[2].c_str());
      say("got " + std::to_string(bytes) + " " + std::to_string(last));
      return 0;
    }
    if (a.size() == 3 && (a[0] == "mecho" || a[0] == "msink")) {
      const auto port = static_cast<std::uint16_t>(std::atoi(a[2].c_str()));
      sockaddr_in g{};
      const int fd = multicast_socket(a[1], a[0] == "mecho" ? static_cast<std::uint16_t>(port + 1) : port, g);
      sockaddr_in back = g;
      back.sin_port = htons(port);
      timeval tv{0, 100000};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      say("ready");
      std::vector<char> buf(65536);
      std::uint64_t count = 0;
      std::int64_t last = 0, ended = 0;
      for (;;) {
        const ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
        if (r > 0) {
          if (a[0] == "mecho") {
            ::sendto(fd, buf.data(), static_cast<std::size_t>(r), 0, reinterpret_cast<const sockaddr*>(&back), sizeof back);
          } else {
            ++count;
            last = now_ns();
          }
          continue;
        }
        if (r < 0 && errno == EINTR) continue;
        // A timeout: see whether the driver is done with us.
        if (ended == 0 && stdin_ready()) ended = now_ns();
        if (ended != 0 && now_ns() - std::max(last, ended) >= 200'000'000) break;
      }
      if (a[0] == "msink") say("got " + std::to_string(count) + " " + std::to_string(last));
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "raw-server: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: cluster_bench raw-server echo|sink|mecho|msink ...\n");
  return 2;
}

int udp_sink_main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: cluster_bench udp-sink GROUP PORT\n");
    return 2;
  }
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  sockaddr_in g{};
  int fd = -1;
  try {
    fd = multicast_socket(argv[2], static_cast<std::uint16_t>(std::atoi(argv[3])), g);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "udp-sink: %s\n", e.what());
    return 1;
  }
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  ev.data.fd = 0;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
  say("ready");
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
      while (::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT) > 0) {
      }
    }
  }
}

}  // namespace bench
