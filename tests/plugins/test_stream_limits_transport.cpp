// The limits of the stream transports against hostile clients (docs/transports.md, "Limits"):
// idle connections close, a new connection beyond max_connections (or, tcp, beyond
// max_connections_per_source) replaces the least recently active inbound one, and a connection
// accepted into the reserved descriptors is refused when there is none to replace.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "protocol_harness.hpp"

namespace cluster::test {
namespace {

using ::testing::HasSubstr;

/// A raw client connection to a node's listener (optionally from another loopback address).
class Client {
 public:
  Client(const Node& n, const char* from = nullptr) {
    if (n.id == "u") {
      fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un sun{};
      sun.sun_family = AF_UNIX;
      n.prop("path").copy(sun.sun_path, sizeof sun.sun_path - 1);
      ok_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&sun), sizeof sun) == 0;
    } else {
      fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
      if (from != nullptr) {
        sockaddr_in src{};
        src.sin_family = AF_INET;
        ::inet_pton(AF_INET, from, &src.sin_addr);
        ::bind(fd_, reinterpret_cast<const sockaddr*>(&src), sizeof src);
      }
      sockaddr_in sin{};
      sin.sin_family = AF_INET;
      sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      sin.sin_port = htons(static_cast<std::uint16_t>(std::stoi(n.prop("port"))));
      ok_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&sin), sizeof sin) == 0;
    }
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return ok_; }
  void send_byte() { ::send(fd_, "x", 1, MSG_NOSIGNAL); }
  /// The member closed it: an end of file (or a reset) is waiting.
  bool closed_by_member() const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    char b;
    return ::recv(fd_, &b, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

class StreamLimits : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<Harness> make(Harness::Config cfg) {
    if (GetParam() == "unix") cfg.emplace("path_prefix", dir_.path() + "/");
    return std::make_unique<Harness>(GetParam(), cfg);
  }
  TempDir dir_;
};

TEST_P(StreamLimits, ClosesIdleConnectionsOnlyAfterTheIdleTimeout) {
  auto h = make({{"idle_timeout_ms", "300"}});
  Node& n = h->start("sidI0001");
  Client idle(n), busy(n);
  ASSERT_TRUE(idle.connected() && busy.connected());
  const auto start = std::chrono::steady_clock::now();
  auto last = start;
  // busy writes every 100 ms: traffic keeps it open past the timeout.
  bool idle_closed = h->run_until([&] {
    if (std::chrono::steady_clock::now() - last >= 100ms) {
      busy.send_byte();
      last = std::chrono::steady_clock::now();
    }
    return idle.closed_by_member();
  }, 2000ms);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(idle_closed) << "an idle connection stays open";
  EXPECT_GE(took, 290ms);
  EXPECT_LE(took, 1000ms);
  EXPECT_FALSE(busy.closed_by_member());
  EXPECT_EQ(n.host->guards[sdk::StreamGuard::idle_closed], 1);
}

TEST_P(StreamLimits, NewConnectionBeyondTheCapReplacesTheLeastRecentlyActive) {
  auto h = make({{"max_connections", "3"}});
  Node& n = h->start("sidC0001");
  std::vector<std::unique_ptr<Client>> c;
  for (int i = 0; i < 3; ++i) {
    c.push_back(std::make_unique<Client>(n));
    ASSERT_TRUE(c.back()->connected());
    h->settle(50ms);
  }
  c[0]->send_byte();  // c[1] is now the least recently active
  h->settle(50ms);
  c.push_back(std::make_unique<Client>(n));
  ASSERT_TRUE(h->run_until([&] { return c[1]->closed_by_member(); }, 2000ms)) << "the cap is not enforced";
  h->settle(50ms);
  EXPECT_FALSE(c[0]->closed_by_member());
  EXPECT_FALSE(c[2]->closed_by_member());
  EXPECT_FALSE(c[3]->closed_by_member());
  EXPECT_EQ(n.host->guards[sdk::StreamGuard::evicted], 1);
}

/// Lowers the nofile soft limit for one test, restores it after.
class NofileLimit {
 public:
  explicit NofileLimit(rlim_t soft) {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit rl = saved_;
    rl.rlim_cur = soft;
    ok_ = ::setrlimit(RLIMIT_NOFILE, &rl) == 0;
  }
  ~NofileLimit() { ::setrlimit(RLIMIT_NOFILE, &saved_); }
  bool ok() const { return ok_; }

 private:
  rlimit saved_{};
  bool ok_ = false;
};

/// The lowest free descriptor number.
int lowest_free_fd() {
  const int fd = ::dup(0);
  ::close(fd);
  return fd;
}

TEST_P(StreamLimits, RefusesConnectionsThatWouldUseTheReservedDescriptors) {
  auto h = make({{"reserved_fds", "4"}});
  Node& n = h->start("sidR0001");
  {
    // The client takes the lowest free number, the accepted socket the next: at the ceiling.
    const int next = lowest_free_fd();
    NofileLimit limit(static_cast<rlim_t>(next + 1 + 4));
    ASSERT_GT(next + 1 + 4, 2 * 4) << "the fd-ceiling rule needs a limit above twice the reserve";
    ASSERT_TRUE(limit.ok());
    Client c(n);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(h->run_until([&] { return c.closed_by_member(); }, 2000ms)) << "accepted into the reserve";
    EXPECT_EQ(n.host->guards[sdk::StreamGuard::refused], 1);
  }
  // With descriptors to spare, connections are accepted again.
  Client ok(n);
  ASSERT_TRUE(ok.connected());
  h->settle(200ms);
  EXPECT_FALSE(ok.closed_by_member());
  EXPECT_EQ(n.host->guards[sdk::StreamGuard::refused], 1);
}

// Limits are checked when the plugin loads: the host refuses a value outside the plugin's declared
// range (SDK 1.2 ConfigRange) before init, naming the file, line, key and range.
std::string load_error(const std::string& plugin, const Harness::Config& cfg) {
  try {
    Harness h(plugin, cfg);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST_P(StreamLimits, RefusesBadLimitValues) {
  const std::string section = GetParam() == "unix" ? "[unix] " : "[tcp] ";
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"idle_timeout_ms", "-1"}, {"max_connections", "0"}, {"reserved_fds", "-5"}}) {
    Harness::Config cfg{{key, value}};
    if (GetParam() == "unix") cfg.emplace("path_prefix", dir_.path() + "/");
    EXPECT_THAT(load_error(GetParam(), cfg), HasSubstr("test:1: " + section + key + " = '" + value + "' is out of range ("))
        << key << " = " << value;
  }
}

INSTANTIATE_TEST_SUITE_P(Transports, StreamLimits, ::testing::Values("tcp", "unix"),
                         [](const auto& p) { return p.param; });

TEST(TcpLimits, NewConnectionBeyondThePerSourceCapReplacesThatSourcesOldest) {
  Harness h("tcp", {{"max_connections_per_source", "2"}});
  Node& n = h.start("sidS0001");
  Client a1(n, "127.0.0.1");
  h.settle(50ms);
  Client a2(n, "127.0.0.1");
  h.settle(50ms);
  Client b1(n, "127.0.0.2");  // another source: its own share
  h.settle(50ms);
  EXPECT_EQ(n.host->guards[sdk::StreamGuard::evicted], 0);
  Client a3(n, "127.0.0.1");
  ASSERT_TRUE(h.run_until([&] { return a1.closed_by_member(); }, 2000ms)) << "the per-source cap is not enforced";
  h.settle(50ms);
  EXPECT_FALSE(a2.closed_by_member());
  EXPECT_FALSE(b1.closed_by_member());
  EXPECT_FALSE(a3.closed_by_member());
  EXPECT_EQ(n.host->guards[sdk::StreamGuard::evicted], 1);
}

TEST(TcpLimits, RefusesABadPerSourceCap) {
  EXPECT_THAT(load_error("tcp", {{"max_connections_per_source", "-2"}}),
              HasSubstr("[tcp] max_connections_per_source = '-2' is out of range (0..1000000)"));
}

}  // namespace
}  // namespace cluster::test
