// The tcp transport ("t"): its props, failing fast, refresh(), config. The behaviour it shares
// with unix is in test_stream.cpp.
#include <algorithm>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "protocol_harness.hpp"

namespace cluster::test {
namespace {

using ::testing::HasSubstr;

/// A port nothing listens on (bound, then closed again).
std::uint16_t unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&sin), sizeof sin), 0);
  socklen_t len = sizeof sin;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
  ::close(fd);
  return ntohs(sin.sin_port);
}

ServiceInfo peer_at(std::string_view port) {
  ServiceInfo s;
  s.sid = "sidZ9999";
  s.hid = "testhost";
  s.uuid = "sidZ9999@testhost";
  s.ip = "127.0.0.1";
  s.local = true;
  s.protocols = {"t"};
  s.props = {{"t", {{"port", std::string(port)}}}};
  return s;
}

TEST(Tcp, RegistersProtocolT) {
  Harness h("tcp");
  EXPECT_EQ(h.protocol_id, "t");
  Node& a = h.add("sidA0001");
  EXPECT_EQ(a.proto->id(), "t");
  const sdk::ProtocolTraits t = a.proto->traits();
  EXPECT_FALSE(t.datagram);
  EXPECT_FALSE(t.multicast);
  EXPECT_FALSE(t.local_only);
  EXPECT_TRUE(a.proto->props().empty()) << "no props before start";
  EXPECT_FALSE(a.proto->send(peer_at("1"), make_packet("sidA0001", "x"), {}));
}

TEST(Tcp, AdvertisesTheActualPort) {
  Harness h("tcp");
  Node& a = h.start("sidA0001");
  const Dict props = a.proto->props();
  ASSERT_EQ(props.size(), 1u);
  EXPECT_EQ(props[0].first, "port");
  const int port = std::stoi(props[0].second);
  EXPECT_GT(port, 0);
  EXPECT_LT(port, 65536);
}

TEST(Tcp, ListensOnAConfiguredPort) {
  const std::uint16_t port = unused_port();
  Harness h("tcp", {{"port", std::to_string(port)}, {"bind", "127.0.0.1"}});
  Node& a = h.start("sidA0001");
  EXPECT_EQ(a.prop("port"), std::to_string(port));
  Node& b = h.add("sidB0002");  // the same port is taken now
  const sdk::Result r = b.proto->start();
  EXPECT_FALSE(r);
  EXPECT_THAT(r.message(), HasSubstr(std::to_string(port)));
}

TEST(Tcp, RefusedConnectFailsFast) {
  Harness h("tcp");
  Node& a = h.start("sidA0001");
  Node& c = h.start("sidC0003");
  const ServiceInfo gone = c.info();  // its port, then the listener closes
  c.proto->stop();
  sdk::Result r = sdk::Result::success();
  const auto took = timed([&] { r = a.proto->send(gone, make_packet("sidA0001", "x"), {}); });
  EXPECT_FALSE(r);
  EXPECT_THAT(r.message(), HasSubstr("refused"));
  EXPECT_LT(took, 500ms);
  h.settle(50ms);
  EXPECT_TRUE(a.host->closed.empty()) << "no connection was ever reported";
}

TEST(Tcp, MissingOrBadPortFails) {
  Harness h("tcp");
  Node& a = h.start("sidA0001");
  for (const char* port : {"", "0", "70000", "12ab"}) {
    const sdk::Result r = a.proto->send(peer_at(port), make_packet("sidA0001", "x"), {});
    EXPECT_FALSE(r) << "port '" << port << "'";
    EXPECT_THAT(r.message(), HasSubstr("port"));
  }
}

/// A listener whose accept queue is full: the kernel drops further SYNs, so a connect neither
/// completes nor is refused (a host gone silent, on loopback). accept_one() frees a slot.
class FullListener {
 public:
  FullListener() {
    lfd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);  // accept() never blocks the test
    sin_.sin_family = AF_INET;
    sin_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(lfd_, reinterpret_cast<const sockaddr*>(&sin_), sizeof sin_), 0);
    EXPECT_EQ(::listen(lfd_, 0), 0);
    socklen_t len = sizeof sin_;
    ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&sin_), &len);
    for (int i = 0; i < 4; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      ::connect(fd, reinterpret_cast<const sockaddr*>(&sin_), sizeof sin_);
      fillers_.push_back(fd);
    }
    ::usleep(50000);
  }
  ~FullListener() {
    for (int fd : fillers_) ::close(fd);
    for (int fd : accepted_) ::close(fd);
    ::close(lfd_);
  }
  std::string port() const { return std::to_string(ntohs(sin_.sin_port)); }
  /// Drains the accept queue (the dropped SYN is retried by the kernel about a second later).
  void drain() {
    for (int i = 0; i < 8; ++i) {
      const int fd = ::accept4(lfd_, nullptr, nullptr, SOCK_NONBLOCK);
      if (fd < 0) break;
      accepted_.push_back(fd);
    }
  }
  /// Reads what arrived on the connections accepted so far (and accepts new ones).
  std::string received() {
    drain();
    std::string out;
    char buf[4096];
    for (int fd : accepted_)
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }

 private:
  int lfd_ = -1;
  sockaddr_in sin_{};
  std::vector<int> fillers_, accepted_;
};

TEST(Tcp, ASlowConnectDoesNotStallTheLoopAndTimesOutInTheBackground) {
  FullListener silent;
  Harness h("tcp", {{"connect_timeout_ms", "300"}});
  Node& a = h.start("sidA0001");
  sdk::Result r = sdk::Result::failure("not sent");
  // The send waits a moment (20 ms) for the connect, then the loop goes on; the packet waits.
  const auto took = timed([&] { r = a.proto->send(peer_at(silent.port()), make_packet("sidA0001", "x"), {}); });
  EXPECT_TRUE(r) << r.message();
  EXPECT_LT(took, 200ms) << "the send waited for the whole connect";
  // connect_timeout_ms later the connection is given up: closed, its unsent bytes reported.
  ASSERT_TRUE(h.run_until([&] { return !a.host->closed.empty(); }, 2000ms));
  const bool reported = std::any_of(a.host->logs.begin(), a.host->logs.end(), [](const auto& l) {
    return l.first == sdk::LogLevel::warning && l.second.find("connect timed out") != std::string::npos &&
           l.second.find("unsent") != std::string::npos;
  });
  EXPECT_TRUE(reported) << "the lost output must be logged as a warning";
}

TEST(Tcp, PacketsQueuedDuringASlowConnectGoOutOnceConnected) {
  FullListener slow;
  Harness h("tcp", {{"connect_timeout_ms", "5000"}});
  Node& a = h.start("sidA0001");
  const std::string p1 = make_packet("sidA0001", "first"), p2 = make_packet("sidA0001", "second");
  ASSERT_TRUE(a.proto->send(peer_at(slow.port()), p1, {}));
  ASSERT_TRUE(a.proto->send(peer_at(slow.port()), p2, {}));  // the same, still connecting, connection
  slow.drain();  // room in the accept queue: the kernel's SYN retry (about 1 s) connects
  std::string got;
  ASSERT_TRUE(h.run_until([&] { return (got += slow.received()).size() >= p1.size() + p2.size(); }, 4000ms));
  EXPECT_TRUE(got == p1 + p2) << "in order, once";
  EXPECT_TRUE(a.host->closed.empty());
}

TEST(Tcp, RefreshOpensANewPortAndAnnouncesIt) {
  Harness h("tcp");
  Node& a = h.start("sidA0001");
  Node& b = h.start("sidB0002");
  ASSERT_TRUE(b.proto->send(a.info(), make_packet("sidB0002", "before"), {}));
  ASSERT_TRUE(h.run_until([&] { return a.host->packets.size() == 1; }));
  const sdk::ConnectionId old_conn = a.host->packets[0].origin.conn;
  const ServiceInfo old_info = a.info();

  const sdk::Result r = a.proto->refresh();
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(a.host->props_changed_count, 1);
  EXPECT_NE(a.prop("port"), old_info.prop("t", "port"));

  // The old port is closed: a member without a connection fails there...
  ServiceInfo stale = old_info;
  stale.sid = "sidQ0000";
  stale.uuid = "sidQ0000@testhost";
  EXPECT_FALSE(b.proto->send(stale, make_packet("sidB0002", "x"), {}));
  // ...and reaches the new one; the existing connection survived the refresh.
  Node& c = h.start("sidC0003");
  const std::string from_c = make_packet("sidC0003", "new port");
  const std::string from_b = make_packet("sidB0002", "old connection");
  ASSERT_TRUE(c.proto->send(a.info(), from_c, {}));
  ASSERT_TRUE(b.proto->send(a.info(), from_b, {}));
  ASSERT_TRUE(h.run_until([&] { return a.host->packets.size() == 3; }));
  for (const Received& p : a.host->packets) {
    if (p.packet == from_b) {
      EXPECT_EQ(p.origin.conn, old_conn);
    }
    if (p.packet == from_c) {
      EXPECT_NE(p.origin.conn, old_conn);
    }
  }
  EXPECT_TRUE(b.host->closed.empty());
}

TEST(Tcp, RefreshOnAFixedPortReopensTheSamePort) {
  const std::uint16_t port = unused_port();
  Harness h("tcp", {{"port", std::to_string(port)}});
  Node& a = h.start("sidA0001");
  ASSERT_TRUE(a.proto->refresh());
  EXPECT_EQ(a.prop("port"), std::to_string(port));
  EXPECT_EQ(a.host->props_changed_count, 1);
  Harness other("tcp");  // another member, listening elsewhere
  Node& b = other.start("sidB0002");
  ASSERT_TRUE(b.proto->send(a.info(), make_packet("sidB0002", "after refresh"), {}));
  ASSERT_TRUE(h.run_until([&] { return a.host->packets.size() == 1; }));
}

TEST(Tcp, BadConfigIsRefusedAtLoad) {
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"port", "70000"}, {"port", "-1"}, {"connect_timeout_ms", "0"}, {"max_pending_bytes", "0"}}) {
    try {
      Harness h("tcp", {{key, value}});
      ADD_FAILURE() << key << " = " << value << " was accepted";
    } catch (const PluginError& e) {
      // Out of the declared range: refused by the host before init.
      EXPECT_EQ(e.code(), PluginErrc::bad_config) << e.what();
      EXPECT_THAT(e.what(), HasSubstr("[tcp] " + key + " = '" + value + "' is out of range"));
    }
  }
  try {
    Harness h("tcp", {{"no_such_key", "1"}});
    ADD_FAILURE() << "an unknown key was accepted";
  } catch (const PluginError& e) {
    EXPECT_EQ(e.code(), PluginErrc::bad_config) << e.what();
  }
}

TEST(Tcp, UnresolvableBindAddressFailsStart) {
  Harness h("tcp", {{"bind", "no-such-host.invalid"}});
  Node& a = h.add("sidA0001");
  const sdk::Result r = a.proto->start();
  EXPECT_FALSE(r);
  EXPECT_THAT(r.message(), HasSubstr("no-such-host.invalid"));
}

TEST(Tcp, KeepaliveOffStillWorks) {
  Harness h("tcp", {{"keepalive", "false"}});
  Node& a = h.start("sidA0001");
  Node& b = h.start("sidB0002");
  ASSERT_TRUE(a.proto->send(b.info(), make_packet("sidA0001", "x"), {}));
  ASSERT_TRUE(h.run_until([&] { return b.host->packets.size() == 1; }));
}

}  // namespace
}  // namespace cluster::test
