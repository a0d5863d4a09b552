// The udp-multicast transport over IPv6 groups, and [cluster] bind (IPv4 groups too). Linux carries no IPv6
// multicast over lo, so each test makes a network namespace of its own (unshare on the test's
// thread, left in TearDown) with a veth pair: mc0 (multicast, fd00:c1::1/64) and mc1 (its
// other end, multicast off: it only shows what left mc0). Nothing leaves that namespace. Like
// the IPv4 suite it runs only under tests/plugins/netns-run (ctest: Plugin.UdpMulticastIpv6).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>

#include "net.hpp"
#include "protocol_harness.hpp"

namespace cluster::test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class UdpMulticastIpv6 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test_support::in_private_netns())
      GTEST_SKIP() << "multicast tests run only in a private network namespace: run them through "
                      "tests/plugins/netns-run (ctest does: test Plugin.UdpMulticastIpv6)";
    home_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(home_, 0) << std::strerror(errno);
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << "unshare: " << std::strerror(errno);
    // No duplicate address detection: addresses (link-local ones too) are usable at once.
    ASSERT_EQ(sh("echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad && ip link set lo up && "
                 "ip link add mc0 type veth peer name mc1 && ip link set mc1 multicast off && "
                 "ip link set mc1 up && ip link set mc0 up && ip -6 addr add fd00:c1::1/64 dev mc0 nodad"),
              0);
    // Up, with its link-local address and the kernel's ff00::/8 route.
    for (int i = 0; i < 100 && !ready(); ++i) ::usleep(20000);
    ASSERT_TRUE(ready()) << "mc0 did not come up";
  }

  void TearDown() override {
    if (home_ < 0) return;
    EXPECT_EQ(::setns(home_, CLONE_NEWNET), 0) << std::strerror(errno);
    ::close(home_);
  }

  static int sh(const std::string& cmd) { return test_support::run_shell(cmd); }
  static bool ready() {
    return sh("ip link show mc0 | grep -q LOWER_UP && ip -6 addr show dev mc0 scope link | grep -q fe80 && "
              "ip -6 route show table local | grep -q 'ff00::/8 dev mc0'") == 0;
  }

  sdk::ClusterSettings settings(std::string sid, std::string group = "ff15::c1:1", unsigned remote = 0) const {
    sdk::ClusterSettings s;
    s.address = std::move(group);
    s.port = port();
    s.remote = remote;
    s.sid = std::move(sid);
    s.hid = "testhost";
    return s;
  }
  /// A port of this test's own (25000..25999), from its name.
  static std::uint16_t port() {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    return static_cast<std::uint16_t>(25000 + std::hash<std::string>{}(name) % 1000);
  }
  static const Received* find(const TestHost& h, const std::string& packet) {
    for (const Received& r : h.packets)
      if (r.packet == packet) return &r;
    return nullptr;
  }
  /// mc0's link-local address with its scope ("fe80::...%N").
  static std::string link_local() {
    for (const auto& a : transport::interface_addresses(AF_INET6)) {
      std::string text = transport::address_text(reinterpret_cast<const sockaddr*>(&a.address), a.length);
      if (a.name == "mc0" && text.rfind("fe80:", 0) == 0) return text;
    }
    return {};
  }

  int home_ = -1;
};

/// Counts the UDP datagrams to `port` that left through mc0 (they arrive at mc1).
class LeftThroughMc0 {
 public:
  explicit LeftThroughMc0(std::uint16_t port) : port_(port) {
    fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_IPV6));
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_IPV6);
    sll.sll_ifindex = static_cast<int>(::if_nametoindex("mc1"));
    EXPECT_EQ(::bind(fd_, reinterpret_cast<const sockaddr*>(&sll), sizeof sll), 0) << std::strerror(errno);
  }
  ~LeftThroughMc0() { ::close(fd_); }
  LeftThroughMc0(const LeftThroughMc0&) = delete;
  LeftThroughMc0& operator=(const LeftThroughMc0&) = delete;

  int count() {
    unsigned char frame[2048];
    for (;;) {
      const ssize_t n = ::recv(fd_, frame, sizeof frame, 0);
      if (n < 0) return seen_;
      constexpr std::size_t ip = 14, udp = ip + 40;  // Ethernet, then a plain IPv6 header
      if (static_cast<std::size_t>(n) >= udp + 8 && frame[ip + 6] == IPPROTO_UDP &&
          (frame[udp + 2] << 8 | frame[udp + 3]) == port_)
        ++seen_;
    }
  }

 private:
  int fd_ = -1;
  std::uint16_t port_;
  int seen_ = 0;
};

TEST_F(UdpMulticastIpv6, TwoMembersOnAnIpv6GroupReceiveEachOtherButNotThemselves) {
  Harness h("udp-multicast");
  Node& a = h.start(settings("sidA0001"));
  Node& b = h.start(settings("sidB0002"));
  const std::string p = make_packet("sidA0001", "heartbeat");
  const sdk::Result r = a.proto->multicast(p);
  ASSERT_TRUE(r) << r.message();
  ASSERT_TRUE(h.run_until([&] { return find(*b.host, p) != nullptr; }));
  const sdk::Origin& o = find(*b.host, p)->origin;
  EXPECT_EQ(o.ip, "fd00:c1::1");
  EXPECT_TRUE(o.local);
  const std::string q = make_packet("sidB0002", "discovery");
  ASSERT_TRUE(b.proto->send(a.info(), q, {}));
  ASSERT_TRUE(h.run_until([&] { return find(*a.host, q) != nullptr; }));
  h.settle(50ms);
  EXPECT_EQ(find(*a.host, p), nullptr) << "a read its own datagram";
  EXPECT_EQ(find(*b.host, q), nullptr) << "b read its own datagram";
}

// remote is the hop limit: 0 reaches the members of this host only (Linux loops the datagram
// back and drops the copy that would leave), 1 leaves through the interface.
TEST_F(UdpMulticastIpv6, RemoteIsTheHopLimit) {
  Harness h("udp-multicast");
  LeftThroughMc0 left(port());
  Node& local = h.start(settings("sidA0001", "ff15::c1:1", 0));
  Node& lan = h.start(settings("sidB0002", "ff15::c1:1", 1));
  Node& listener = h.start(settings("sidC0003"));
  const std::string p = make_packet("sidA0001", "hops 0");
  ASSERT_TRUE(local.proto->multicast(p));
  ASSERT_TRUE(h.run_until([&] { return find(*listener.host, p) != nullptr; }));
  h.settle(100ms);
  EXPECT_EQ(left.count(), 0) << "a datagram with remote = 0 left the host";
  const std::string q = make_packet("sidB0002", "hops 1");
  ASSERT_TRUE(lan.proto->multicast(q));
  ASSERT_TRUE(h.run_until([&] { return find(*listener.host, q) != nullptr && left.count() == 1; }))
      << left.count() << " datagram(s) left";
}

// [cluster] bind picks the interface that has the address and sends from it, even an address
// the kernel would not choose by itself (deprecated).
TEST_F(UdpMulticastIpv6, BindIsTheSourceAndPicksTheInterface) {
  ASSERT_EQ(sh("ip -6 addr add fd00:c1::9/64 dev mc0 nodad preferred_lft 0"), 0);
  Harness h("udp-multicast");
  sdk::ClusterSettings s = settings("sidA0001");
  s.bind = "fd00:c1::9";
  Node& a = h.start(s);
  Node& b = h.start(settings("sidB0002"));
  const std::string p = make_packet("sidA0001", "from the bind address");
  ASSERT_TRUE(a.proto->multicast(p));
  ASSERT_TRUE(h.run_until([&] { return find(*b.host, p) != nullptr; }));
  EXPECT_EQ(find(*b.host, p)->origin.ip, "fd00:c1::9");
  EXPECT_TRUE(std::any_of(a.host->logs.begin(), a.host->logs.end(),
                          [](const auto& l) { return l.second.find("joined on mc0") != std::string::npos; }));

  Node& nowhere = h.add([&] {
    sdk::ClusterSettings t = settings("sidC0003");
    t.bind = "fd00:c1::77";
    return t;
  }());
  const sdk::Result r = nowhere.proto->start();
  EXPECT_FALSE(r);
  EXPECT_THAT(r.message(), HasSubstr("no interface has the [cluster] bind address fd00:c1::77"));
}

// The same for an IPv4 group: the interface that has the address, and that address as source
// (a secondary one here; the namespace has no multicast route, so without bind nothing could
// be sent).
TEST_F(UdpMulticastIpv6, BindPicksTheInterfaceOfAnIpv4GroupToo) {
  ASSERT_EQ(sh("ip addr add 10.77.0.1/24 dev mc0 && ip addr add 10.77.0.9/24 dev mc0"), 0);
  Harness h("udp-multicast");
  sdk::ClusterSettings s = settings("sidA0001", "239.255.79.1");
  s.bind = "10.77.0.9";
  Node& a = h.start(s);
  s.sid = "sidB0002";
  s.bind = "10.77.0.1";
  Node& b = h.start(s);
  const std::string p = make_packet("sidA0001", "from the bind address");
  ASSERT_TRUE(a.proto->multicast(p));
  ASSERT_TRUE(h.run_until([&] { return find(*b.host, p) != nullptr; }));
  EXPECT_EQ(find(*b.host, p)->origin.ip, "10.77.0.9");
  EXPECT_TRUE(find(*b.host, p)->origin.local);
}

// A link-local group lives on one interface; its members' addresses are link-local too, and
// carry their scope so they can be reached (here: over tcp).
TEST_F(UdpMulticastIpv6, ALinkLocalGroupNeedsAnInterfaceAndGivesScopedAddresses) {
  Harness h("udp-multicast");
  Node& unscoped = h.add(settings("sidA0001", "ff02::c1:2"));
  const sdk::Result r = unscoped.proto->start();
  EXPECT_FALSE(r);
  EXPECT_THAT(r.message(), HasSubstr("needs [cluster] interface"));

  sdk::ClusterSettings s = settings("sidB0002", "ff02::c1:2");
  s.interface = "mc0";
  Node& a = h.start(s);
  s.sid = "sidC0003";
  Node& b = h.start(s);
  const std::string p = make_packet("sidB0002", "link-local");
  ASSERT_TRUE(a.proto->multicast(p));
  ASSERT_TRUE(h.run_until([&] { return find(*b.host, p) != nullptr; }));
  const std::string from = find(*b.host, p)->origin.ip;
  EXPECT_EQ(from, link_local());
  EXPECT_THAT(from, StartsWith("fe80:"));
  EXPECT_THAT(from, HasSubstr("%" + std::to_string(::if_nametoindex("mc0"))));
  EXPECT_TRUE(find(*b.host, p)->origin.local);

  Harness tcp("tcp");
  sdk::ClusterSettings any;
  any.sid = "sidD0004";
  any.bind = "::";
  Node& listener = tcp.start(any);
  Node& sender = tcp.start(std::string("sidE0005"));
  ServiceInfo peer = listener.info();
  peer.ip = from;
  peer.local = false;
  const std::string q = make_packet("sidE0005", "to a link-local address");
  const sdk::Result sent = sender.proto->send(peer, q, {});
  ASSERT_TRUE(sent) << sent.message();
  ASSERT_TRUE(tcp.run_until([&] { return find(*listener.host, q) != nullptr; }));
  EXPECT_EQ(find(*listener.host, q)->origin.ip, from);
}

TEST_F(UdpMulticastIpv6, WithoutAnIpv6InterfaceTheStartFails) {
  ASSERT_EQ(sh("ip link set mc0 down"), 0);
  Harness h("udp-multicast");
  Node& a = h.add(settings("sidA0001"));
  const sdk::Result r = a.proto->start();
  EXPECT_FALSE(r);
  EXPECT_THAT(r.message(), HasSubstr("lo carries no IPv6 multicast"));
}

}  // namespace
}  // namespace cluster::test
