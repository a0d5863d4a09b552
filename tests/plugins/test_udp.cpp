// The udp transport ("d"): traits and props, one datagram per packet both ways, the datagram
// limit, garbage and empty datagrams, addresses (bind, advertise, IPv6), config. Loopback only.
// Whole members over "d" are in test_udp_members.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "net.hpp"
#include "protocol_harness.hpp"
#include "syscall_counter.hpp"

namespace cluster::test {
namespace {

using ::testing::HasSubstr;

sdk::ClusterSettings settings(std::string sid, std::string bind = {}, std::string advertise = {}) {
  sdk::ClusterSettings s;
  s.sid = std::move(sid);
  s.bind = std::move(bind);
  s.advertise = std::move(advertise);
  return s;
}

/// A UDP port nobody uses on 127.0.0.1 (bound, then closed again).
std::uint16_t unused_udp_port() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&sin), sizeof sin), 0);
  socklen_t len = sizeof sin;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
  ::close(fd);
  return ntohs(sin.sin_port);
}

/// Sends raw bytes from a socket of our own to ip:port.
void send_raw(const std::string& ip, const std::string& port, std::string_view bytes) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  ASSERT_TRUE(transport::make_address(ip, static_cast<std::uint16_t>(std::stoi(port)), ss, len));
  const int fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&ss), len),
            static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

bool ipv6_loopback() {
  const int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_addr = in6addr_loopback;
  const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&sin6), sizeof sin6) == 0;
  ::close(fd);
  return ok;
}

/// `node` as a member on another host would see it: its packets come from `ip`.
ServiceInfo seen_at(const Node& node, std::string ip, bool local = false) {
  ServiceInfo s = node.info();
  s.ip = std::move(ip);
  s.local = local;
  return s;
}

TEST(Udp, RegistersProtocolDAsADatagramTransport) {
  Harness h("udp");
  EXPECT_EQ(h.protocol_id, "d");
  Node& a = h.add("sidA0001");
  EXPECT_EQ(a.proto->id(), "d");
  const sdk::ProtocolTraits t = a.proto->traits();
  EXPECT_TRUE(t.datagram);
  EXPECT_FALSE(t.multicast);
  EXPECT_FALSE(t.local_only);
  EXPECT_TRUE(a.proto->props().empty()) << "no props before start";
  EXPECT_FALSE(a.proto->send(a.info(), make_packet("sidA0001", "x"), {}));
}

TEST(Udp, AdvertisesItsPortAndTheAdvertisedHost) {
  Harness h("udp");
  Node& a = h.start("sidA0001");
  const Dict props = a.proto->props();
  ASSERT_EQ(props.size(), 1u);
  EXPECT_EQ(props[0].first, "port");
  EXPECT_GT(std::stoi(props[0].second), 0);
  Node& b = h.start(settings("sidB0002", {}, "127.0.0.2"));
  EXPECT_EQ(b.proto->props(), (Dict{{"port", b.prop("port")}, {"host", "127.0.0.2"}}));
  Node& named = h.start(settings("sidC0003", {}, "localhost"));  // resolved once, at start
  EXPECT_TRUE(named.prop("host") == "127.0.0.1" || named.prop("host") == "::1") << named.prop("host");
}

TEST(Udp, BindsAConfiguredPortAndASecondMemberThereFails) {
  const std::uint16_t port = unused_udp_port();
  Harness h("udp", {{"port", std::to_string(port)}});
  Node& a = h.start("sidA0001");
  EXPECT_EQ(a.prop("port"), std::to_string(port));
  Node& b = h.add("sidB0002");  // no SO_REUSEADDR: it must not share (and steal) the port
  const sdk::Result r = b.proto->start();
  ASSERT_FALSE(r);
  EXPECT_THAT(r.message(), HasSubstr("udp: bind [::]:" + std::to_string(port)));
  EXPECT_THAT(r.message(), HasSubstr("in use"));
}

TEST(Udp, OnePacketPerDatagramBothWays) {
  Harness h("udp");
  Node& a = h.start("sidA0001");
  Node& b = h.start("sidB0002");
  const std::string p1 = make_packet("sidA0001", "one"), p2 = make_packet("sidA0001", "two");
  ASSERT_TRUE(a.proto->send(b.info(), p1, {}));
  ASSERT_TRUE(a.proto->send(b.info(), p2, {}));
  ASSERT_TRUE(h.run_until([&] { return b.host->packets.size() == 2; }));
  EXPECT_EQ(b.host->packets[0].packet, p1);
  EXPECT_EQ(b.host->packets[1].packet, p2);
  EXPECT_EQ(b.host->datagrams, 2u);
  const sdk::Origin& o = b.host->packets[0].origin;
  EXPECT_EQ(o.ip, "127.0.0.1") << "IPv4 senders are reported as IPv4, not ::ffff:127.0.0.1";
  EXPECT_TRUE(o.local);
  EXPECT_EQ(o.conn, 0u);
  const std::string back = make_packet("sidB0002", "back");
  ASSERT_TRUE(b.proto->send(a.info(), back, {}));
  ASSERT_TRUE(h.run_until([&] { return a.host->packets.size() == 1; }));
  EXPECT_EQ(a.host->packets[0].packet, back);
}

TEST(Udp, APacketOverTheDatagramLimitFailsClearly) {
  Harness h("udp");
  Node& a = h.start("sidA0001");
  Node& b = h.start("sidB0002");
  const std::string big = make_packet("sidA0001", pattern(60000));  // fits: arrives whole
  ASSERT_TRUE(a.proto->send(b.info(), big, {}));
  ASSERT_TRUE(h.run_until([&] { return b.host->packets.size() == 1; }));
  EXPECT_EQ(b.host->packets[0].packet, big);
  const sdk::Result r = a.proto->send(b.info(), std::string(65508, 'x'), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message(), "udp: a packet of 65508 bytes exceeds the datagram limit (65507 bytes)");
}

TEST(Udp, GarbageAndEmptyDatagramsAreHandedOnOrSkipped) {
  Harness h("udp");
  Node& b = h.start("sidB0002");
  send_raw("127.0.0.1", b.prop("port"), "");  // nothing to frame: not handed on
  send_raw("127.0.0.1", b.prop("port"), "\xc0\x8d\xff\xff\xff\x0f garbage");  // the core's to judge
  send_raw("127.0.0.1", b.prop("port"), std::string(65507, '\xc0'));
  const std::string ok = make_packet("sidA0001", "after the garbage");
  send_raw("127.0.0.1", b.prop("port"), ok);
  ASSERT_TRUE(h.run_until([&] { return b.host->packets.size() == 1; }));
  EXPECT_EQ(b.host->packets[0].packet, ok);
  EXPECT_EQ(b.host->datagrams, 3u) << "the empty datagram is skipped, the others go to the core";
}

// Datagrams waiting on the socket are read 32 per recvmmsg call, whole and in order.
TEST(Udp, ABurstIsReadInBatches) {
  Harness h("udp");
  Node& b = h.start("sidB0002");
  sockaddr_storage to{};
  socklen_t len = 0;
  ASSERT_TRUE(transport::make_address("127.0.0.1", static_cast<std::uint16_t>(std::stoi(b.prop("port"))), to, len));
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  std::vector<std::string> sent;
  for (unsigned i = 0; i < 100; ++i) {
    sent.push_back(make_packet("sidA0001", pattern(1 + (i * 37) % 300, i)));
    EXPECT_EQ(::sendto(fd, sent.back().data(), sent.back().size(), 0, reinterpret_cast<const sockaddr*>(&to), len),
              static_cast<ssize_t>(sent.back().size()));
  }
  ::close(fd);
  std::this_thread::sleep_for(50ms);
  const SyscallCounts before = syscall_counts();
  ASSERT_TRUE(h.run_until([&] { return b.host->packets.size() >= 100; }));
  const SyscallCounts after = syscall_counts();
  ASSERT_EQ(b.host->packets.size(), 100u);
  for (std::size_t i = 0; i < 100; ++i) EXPECT_EQ(b.host->packets[i].packet, sent[i]) << "datagram " << i;
  EXPECT_EQ(b.host->packets[0].origin.ip, "127.0.0.1");
  EXPECT_EQ(after.recvmmsg_datagrams - before.recvmmsg_datagrams, 100u);
  // 64 per wake-up (two full batches), then 32 + 4 on the next.
  EXPECT_GE(after.recvmmsg_calls - before.recvmmsg_calls, 4u);
  EXPECT_LE(after.recvmmsg_calls - before.recvmmsg_calls, 6u);
}

TEST(Udp, StopInsideReceivedReadsNoFurther) {
  Harness h("udp");
  Node& a = h.start("sidA0001");
  Node& b = h.start("sidB0002");
  b.host->on_packet = [&](const Received&) { b.proto->stop(); };  // a hook that leaves
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(a.proto->send(b.info(), make_packet("sidA0001", std::to_string(i)), {}));
  ASSERT_TRUE(h.run_until([&] { return !b.host->packets.empty(); }));
  h.settle();
  EXPECT_EQ(b.host->packets.size(), 1u);
  EXPECT_TRUE(b.proto->props().empty());
  EXPECT_FALSE(b.proto->send(a.info(), make_packet("sidB0002", "x"), {}));
}

TEST(Udp, ASendNeedsAPortAndANumericAddress) {
  Harness h("udp");
  Node& a = h.start("sidA0001");
  Node& b = h.start("sidB0002");
  ServiceInfo no_port = b.info();
  no_port.props = {{"d", {}}};
  const sdk::Result r = a.proto->send(no_port, make_packet("sidA0001", "x"), {});
  ASSERT_FALSE(r);
  EXPECT_THAT(r.message(), HasSubstr("advertises no valid d port"));
  ServiceInfo named = seen_at(b, "10.0.0.9");
  named.props = {{"d", {{"port", b.prop("port")}, {"host", "peer.example"}}}};
  EXPECT_THAT(a.proto->send(named, "x", {}).message(), HasSubstr("'peer.example' is not a numeric IP address"));
  ServiceInfo nowhere = seen_at(b, "");
  EXPECT_THAT(a.proto->send(nowhere, "x", {}).message(), HasSubstr("no address for"));
}

// [cluster] bind: the socket is bound there, and what we send comes from there.
TEST(Udp, BindsTheClusterBindAddressAndSendsFromIt) {
  Harness h("udp");
  Node& a = h.start(settings("sidA0001", "127.0.0.3"));
  Node& b = h.start(settings("sidB0002", "127.0.0.2"));
  ASSERT_TRUE(a.proto->send(seen_at(b, "127.0.0.2", true), make_packet("sidA0001", "x"), {}));
  ASSERT_TRUE(h.run_until([&] { return !b.host->packets.empty(); }));
  EXPECT_EQ(b.host->packets[0].origin.ip, "127.0.0.3");
  send_raw("127.0.0.1", b.prop("port"), make_packet("sidZ9999", "not bound there"));
  h.settle();
  EXPECT_EQ(b.host->packets.size(), 1u);
}

TEST(Udp, ItsOwnBindWinsOverTheClusterBind) {
  Harness h("udp", {{"bind", "127.0.0.3"}});
  Node& a = h.start(settings("sidA0001", "127.0.0.2"));
  Node& b = h.start("sidB0002");
  ASSERT_TRUE(a.proto->send(seen_at(b, "127.0.0.3", true), make_packet("sidA0001", "x"), {}));
  ASSERT_TRUE(h.run_until([&] { return !b.host->packets.empty(); }));
  EXPECT_EQ(b.host->packets[0].origin.ip, "127.0.0.3") << "sent from [cluster] bind, not from [udp] bind";
}

// A remote member goes to its advertised host; a local one to the address we see it at.
TEST(Udp, SendsToTheAdvertisedHostOfARemoteMember) {
  Harness h("udp");
  Node& a = h.start("sidA0001");
  Node& b = h.start(settings("sidB0002", "127.0.0.2", "127.0.0.2"));
  ASSERT_TRUE(a.proto->send(seen_at(b, "127.0.0.9"), make_packet("sidA0001", "remote"), {}));
  ASSERT_TRUE(h.run_until([&] { return b.host->packets.size() == 1; }));
  ASSERT_TRUE(a.proto->send(seen_at(b, "127.0.0.2", true), make_packet("sidA0001", "local"), {}));
  ASSERT_TRUE(h.run_until([&] { return b.host->packets.size() == 2; }));
  Node& c = h.start("sidC0003");
  const ServiceInfo heard_over_unix = seen_at(c, "", true);  // no address known: loopback
  ASSERT_TRUE(a.proto->send(heard_over_unix, make_packet("sidA0001", "loopback"), {}));
  ASSERT_TRUE(h.run_until([&] { return c.host->packets.size() == 1; }));
}

TEST(Udp, ReachesIpv6AndIpv4PeersFromOneSocket) {
  if (!ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback (::1) here";
  Harness h("udp");
  Node& a = h.start("sidA0001");  // :: dual stack
  Node& v6 = h.start(settings("sidB0002", "::1"));
  Node& v4 = h.start(settings("sidC0003", "127.0.0.1"));
  const std::string p = make_packet("sidA0001", "both families");
  ASSERT_TRUE(a.proto->send(seen_at(v6, "::1", true), p, {}));
  ASSERT_TRUE(a.proto->send(seen_at(v4, "127.0.0.1", true), p, {}));
  ASSERT_TRUE(h.run_until([&] { return v6.host->packets.size() == 1 && v4.host->packets.size() == 1; }));
  EXPECT_EQ(v6.host->packets[0].origin.ip, "::1");
  EXPECT_TRUE(v6.host->packets[0].origin.local);
  EXPECT_EQ(v4.host->packets[0].origin.ip, "127.0.0.1");
  // A socket of one family cannot reach the other: a clear failure (the core falls back).
  const sdk::Result r = v4.proto->send(seen_at(v6, "::1", true), p, {});
  ASSERT_FALSE(r);
  EXPECT_THAT(r.message(), HasSubstr("an IPv6 address, and our socket is bound to 127.0.0.1"));
  EXPECT_FALSE(v6.proto->send(seen_at(v4, "127.0.0.1", true), p, {}));
  ASSERT_TRUE(v6.proto->send(seen_at(a, "::1", true), p, {}));
  ASSERT_TRUE(h.run_until([&] { return a.host->packets.size() == 1; }));
}

TEST(Udp, ConfigIsValidatedAtLoad) {
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"port", "65536"}, {"port", "-1"}, {"receive_buffer", "-1"}, {"send_buffer", "2000000000"}}) {
    try {
      Harness h("udp", {{key, value}});
      ADD_FAILURE() << key << " = " << value << " was accepted";
    } catch (const PluginError& e) {
      EXPECT_THAT(e.what(), HasSubstr("[udp] " + key + " = '" + value + "' is out of range"));
    }
  }
  Harness named("udp", {{"bind", "no-such-host.invalid"}});
  const sdk::Result r = named.add("sidA0001").proto->start();
  ASSERT_FALSE(r);
  EXPECT_THAT(r.message(), HasSubstr("udp: bind: cannot resolve 'no-such-host.invalid'"));
}

TEST(Udp, SetsTheConfiguredBuffers) {
  // Below the default rmem_max/wmem_max (212992): the kernel doubles them (its bookkeeping).
  Harness h("udp", {{"receive_buffer", "100000"}, {"send_buffer", "50000"}});
  h.start("sidA0001");
  EXPECT_EQ(largest_socket_option(SOCK_DGRAM, -1, SO_RCVBUF), 200000);
  EXPECT_EQ(largest_socket_option(SOCK_DGRAM, -1, SO_SNDBUF), 100000);
}

}  // namespace
}  // namespace cluster::test
