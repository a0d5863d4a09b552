// The tcp transport's addresses: [cluster] bind (where it listens, and where its connections
// leave from), [cluster] advertise (its `host` prop, and sends that go there), and IPv6.
// Loopback only: 127.0.0.0/8 and ::1.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.hpp"
#include "protocol_harness.hpp"

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

/// Whether a plain connect to ip:port succeeds (blocking; loopback answers at once).
bool accepts(const std::string& ip, const std::string& port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (!transport::make_address(ip, static_cast<std::uint16_t>(std::stoi(port)), ss, len)) return false;
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&ss), len) == 0;
  if (fd >= 0) ::close(fd);
  return ok;
}

/// Whether this host can listen on ::1 (IPv6 may be disabled).
bool ipv6_loopback() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
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

TEST(TcpAddresses, ListensOnTheClusterBindAddress) {
  Harness h("tcp");
  Node& a = h.start(settings("sidA0001", "127.0.0.2"));
  EXPECT_TRUE(accepts("127.0.0.2", a.prop("port")));
  EXPECT_FALSE(accepts("127.0.0.1", a.prop("port"))) << "listens on every address, not on [cluster] bind";
}

TEST(TcpAddresses, ItsOwnBindWinsOverTheClusterBind) {
  Harness h("tcp", {{"bind", "127.0.0.3"}});
  Node& a = h.start(settings("sidA0001", "127.0.0.2"));
  EXPECT_TRUE(accepts("127.0.0.3", a.prop("port")));
  EXPECT_FALSE(accepts("127.0.0.2", a.prop("port")));
}

TEST(TcpAddresses, AdvertiseBecomesTheHostProp) {
  Harness h("tcp");
  Node& plain = h.start(settings("sidA0001"));
  EXPECT_EQ(plain.proto->props().size(), 1u) << "nothing but the port without advertise";
  Node& a = h.start(settings("sidB0002", {}, "127.0.0.2"));
  const Dict props = a.proto->props();
  ASSERT_EQ(props.size(), 2u);
  EXPECT_EQ(props[0].first, "port");
  EXPECT_EQ(props[1], (std::pair<std::string, std::string>{"host", "127.0.0.2"}));
  // A name is resolved once, at start: peers get a numeric host.
  Node& named = h.start(settings("sidC0003", {}, "localhost"));
  const std::string host = named.prop("host");
  EXPECT_TRUE(host == "127.0.0.1" || host == "::1") << host;
}

// A remote member that listens on one address and advertises it is reached there, not at the
// address its packets come from.
TEST(TcpAddresses, SendsToTheAdvertisedHost) {
  Harness h("tcp");
  Node& a = h.start(settings("sidA0001"));
  Node& b = h.start(settings("sidB0002", "127.0.0.2", "127.0.0.2"));
  const std::string p = make_packet("sidA0001", "to the advertised host");
  // Without the host prop it is tried at its source address, where nobody listens.
  ServiceInfo bare = seen_at(b, "127.0.0.9");
  bare.props = {{"t", {{"port", b.prop("port")}}}};
  EXPECT_FALSE(a.proto->send(bare, p, {}));

  const sdk::Result r = a.proto->send(seen_at(b, "127.0.0.9"), p, {});
  ASSERT_TRUE(r) << r.message();
  ASSERT_TRUE(h.run_until([&] { return !b.host->packets.empty(); }));
  EXPECT_EQ(b.host->packets[0].packet, p);
}

// A local member is still tried over loopback first; its advertised host comes next.
TEST(TcpAddresses, ALocalPeerIsTriedOverLoopbackThenAtItsHost) {
  Harness h("tcp");
  Node& a = h.start(settings("sidA0001"));
  Node& b = h.start(settings("sidB0002", "127.0.0.2", "127.0.0.2"));
  const std::string p = make_packet("sidA0001", "local");
  const sdk::Result r = a.proto->send(seen_at(b, "127.0.0.9", true), p, {});
  ASSERT_TRUE(r) << r.message();
  ASSERT_TRUE(h.run_until([&] { return !b.host->packets.empty(); }));
  EXPECT_TRUE(b.host->packets[0].origin.local);
}

// Connections leave from the bind address: the peer sees the address we listen on.
TEST(TcpAddresses, ConnectionsLeaveFromTheBindAddress) {
  Harness h("tcp");
  Node& a = h.start(settings("sidA0001", "127.0.0.3"));
  Node& b = h.start(settings("sidB0002", "127.0.0.2", "127.0.0.2"));
  ASSERT_TRUE(a.proto->send(seen_at(b, "127.0.0.2"), make_packet("sidA0001", "x"), {}));
  ASSERT_TRUE(h.run_until([&] { return !b.host->packets.empty(); }));
  EXPECT_EQ(b.host->packets[0].origin.ip, "127.0.0.3");
}

TEST(TcpAddresses, ReachesAnIpv6Peer) {
  if (!ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback (::1) here";
  Harness h("tcp");
  Node& a = h.start(settings("sidA0001"));
  Node& b = h.start(settings("sidB0002", "::1"));
  EXPECT_FALSE(accepts("127.0.0.1", b.prop("port")));
  const std::string p = make_packet("sidA0001", "over IPv6");
  const sdk::Result r = a.proto->send(seen_at(b, "::1"), p, {});
  ASSERT_TRUE(r) << r.message();
  ASSERT_TRUE(h.run_until([&] { return !b.host->packets.empty(); }));
  EXPECT_EQ(b.host->packets[0].packet, p);
  EXPECT_EQ(b.host->packets[0].origin.ip, "::1");
  EXPECT_TRUE(b.host->packets[0].origin.local);
  // An advertised IPv6 host is used like an IPv4 one.
  Node& c = h.start(settings("sidC0003", "::1", "::1"));
  ASSERT_TRUE(a.proto->send(seen_at(c, "127.0.0.9"), p, {}));
  ASSERT_TRUE(h.run_until([&] { return !c.host->packets.empty(); }));
}

// With an IPv6 group and no bind anywhere it listens on :: (IPv6, and IPv4 on a dual-stack host).
TEST(TcpAddresses, ListensOnEveryIpv6AddressWithAnIpv6Group) {
  if (!ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback (::1) here";
  Harness h("tcp");
  sdk::ClusterSettings s = settings("sidA0001");
  s.address = "ff15::c1:5";
  Node& a = h.start(s);
  EXPECT_TRUE(accepts("::1", a.prop("port")));
  Node& v4 = h.start(settings("sidB0002"));
  EXPECT_FALSE(accepts("::1", v4.prop("port"))) << "an IPv4 group keeps 0.0.0.0";
}

}  // namespace
}  // namespace cluster::test
