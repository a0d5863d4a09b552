// IPv6 end to end on several hosts (network namespaces on a bridge, network.hpp), each with an
// fd00:232:<n>::<i>/64 address on eth0 besides its IPv4 one: members of an IPv6 group
// (ff15::c1:78) find each other over IPv6 multicast and talk over tcp/IPv6; [cluster] bind is
// the address a member is seen at and listens on; a member with [cluster] advertise is reached
// at that address, not at the one its packets come from.
#include <arpa/inet.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "harness.hpp"

namespace rel {
namespace {

constexpr const char* kGroup6 = "ff15::c1:78";

class Ipv6 : public ReliabilityTest {
 protected:
  void make_hosts(int n) {
    if (run_shell("command -v ip >/dev/null 2>&1") != 0) GTEST_SKIP() << "no 'ip' (iproute2)";
    const std::string err = network().build(n, {}, seed_);
    if (!err.empty() && network().cannot_create()) GTEST_SKIP() << err;
    ASSERT_EQ(err, "") << "building the hosts failed";
    // 10.232.<n>.<i> -> fd00:232:<n>::<i>
    const std::string& v4 = network().hosts()[0].address;
    prefix_ = "fd00:232:" + v4.substr(7, v4.rfind('.') - 7) + "::";
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(network().run_in(static_cast<std::size_t>(i),
                                 "ip -6 addr add " + address(static_cast<std::size_t>(i)) + "/64 dev eth0 nodad"),
                0);
    }
    // The kernel's ff00::/8 route on eth0: members send and join there.
    for (int i = 0; i < n; ++i)
      ASSERT_TRUE(wait_until({}, [&] {
        return network().run_in(static_cast<std::size_t>(i), "ip -6 route show table local | grep -q \"ff00::/8 dev eth0\"") == 0;
      }, Clock::now() + milliseconds(5000))) << "host " << i << " has no IPv6 multicast route";
  }

  /// Host i's IPv6 address; `extra` > 0 names another one of that host (::<100 i + extra>).
  /// In the kernel's spelling (fd00:232::1 for fd00:232:0::1), as members print it.
  std::string address(std::size_t host, int extra = 0) const {
    const std::string text =
        prefix_ + std::to_string(extra == 0 ? host + 1 : 100 * (host + 1) + static_cast<std::size_t>(extra));
    in6_addr a{};
    char buf[INET6_ADDRSTRLEN] = {0};
    if (::inet_pton(AF_INET6, text.c_str(), &a) != 1 || ::inet_ntop(AF_INET6, &a, buf, sizeof buf) == nullptr)
      return text;
    return buf;
  }

  /// Adds another address to host i that the kernel never picks as a source (deprecated).
  void add_address(std::size_t host, int extra) {
    ASSERT_EQ(network().run_in(host, "ip -6 addr add " + address(host, extra) + "/64 dev eth0 nodad preferred_lft 0"),
              0);
  }

  /// A member of the IPv6 group on `host` with these [cluster] lines; [tcp] bind is `tcp_bind`
  /// or, when empty, not set ([cluster] bind, else :: with an IPv6 group).
  Member& spawn6(const std::string& name, std::size_t host, const std::string& cluster_lines,
                 const std::string& tcp_bind = {}, int tcp_port = 0) {
    MemberOptions o;
    o.group = kGroup6;
    o.tcp_port = tcp_port;
    o.tcp_bind = tcp_bind;  // "" = no [tcp] bind line
    o.remote = 1;
    o.wrapper = network().wrapper(host);
    o.protocols = "t c";
    o.load = "udp-multicast tcp";
    o.cluster_ini = cluster_lines;
    return spawn(name, o);
  }

  /// Every member of `ms` discovered every other one.
  bool all_discovered(const std::vector<Member*>& ms, milliseconds timeout) {
    return await_discovered(ms, [&](Member* m) {
      std::set<std::string> want;
      for (Member* o : ms)
        if (o != m) want.insert(o->uuid);
      return want;
    }, scaled(timeout));
  }

  /// The address `m` knows `other` at ("via" command).
  static std::string ip_of(Member& m, Member& other) {
    const auto w = words(m.proc->command("via " + other.sid, {"via "}));
    return w.size() == 4 ? w[3] : std::string();
  }

  /// `from` sends `data` to `to`; true when it arrives over tcp.
  bool event_over_tcp(Member& from, Member& to, const std::string& data) {
    const std::size_t mark = to.proc->lines().size();
    if (from.proc->command("send " + to.sid + " " + data, {"sent "}) != "sent 1") return false;
    const auto ev = await_line(to, "event " + from.uuid + " ", scaled(milliseconds(3000)), mark);
    return ev && ev->text == "event " + from.uuid + " t " + data;
  }

  std::string prefix_;
};

// Three hosts. m1 binds to an address of its host that the kernel would not pick as a source:
// the others see it there and reach it there. Queries and events go over tcp/IPv6.
TEST_F(Ipv6, MembersMeetOverAnIpv6GroupAndTalkOverTcp) {
  ASSERT_NO_FATAL_FAILURE(make_hosts(3));
  ASSERT_NO_FATAL_FAILURE(add_address(1, 1));
  const auto t0 = Clock::now();
  Member& m0 = spawn6("m0", 0, "");
  Member& m1 = spawn6("m1", 1, "bind = " + address(1, 1) + "\n");
  Member& m2 = spawn6("m2", 2, "");
  const std::vector<Member*> all{&m0, &m1, &m2};
  ASSERT_TRUE(await_joined(all));
  for (Member* m : all) ASSERT_EQ(m->proc->command("answer", {"answering"}), "answering") << m->name;
  ASSERT_TRUE(all_discovered(all, milliseconds(5000))) << "the members did not meet over " << kGroup6;
  std::cout << "[ timing   ] all discovered " << ms_between(t0, Clock::now()) << " ms after starting 3 members\n";

  EXPECT_EQ(ip_of(m0, m2), address(2));
  EXPECT_EQ(ip_of(m2, m0), address(0));
  EXPECT_EQ(ip_of(m0, m1), address(1, 1)) << "m1 is not seen at its bind address";
  EXPECT_EQ(ip_of(m2, m1), address(1, 1));

  for (Member* m : all) {
    const std::string reply = m->proc->command("query * q 3000", {"answers ", "timeout ", "stuck "});
    EXPECT_TRUE(starts_with(reply, "answers 2 ")) << m->name << ": " << reply;
  }
  EXPECT_TRUE(event_over_tcp(m0, m1, "to-the-bind-address"));
  EXPECT_TRUE(event_over_tcp(m1, m2, "from-the-bind-address"));
  quit_all_and_check();
}

// Two hosts. a1 listens on every address but host 1 drops connections to its own address (as
// a NAT or a firewall would), and a1 advertises another address of host 1 (one the kernel
// never picks as a source): a1's multicasts come from host 1's own address, yet a0 connects to
// the advertised one.
TEST_F(Ipv6, AMemberIsReachedAtItsAdvertisedAddress) {
  if (run_shell("command -v nft >/dev/null 2>&1") != 0) GTEST_SKIP() << "no 'nft' (nftables; scripts/setup-deps)";
  ASSERT_NO_FATAL_FAILURE(make_hosts(2));
  ASSERT_NO_FATAL_FAILURE(add_address(1, 9));
  const std::string advertised = address(1, 9);
  constexpr int kPort = 17410;
  {
    std::ofstream f(dir_ + "/adv.nft");
    f << "table ip6 adv {\n  chain in { type filter hook input priority 0; ip6 daddr " << address(1)
      << " tcp dport " << kPort << " drop; }\n}\n";
  }
  ASSERT_EQ(network().run_in(1, "nft -f " + dir_ + "/adv.nft"), 0);
  Member& a0 = spawn6("a0", 0, "");
  Member& a1 = spawn6("a1", 1, "advertise = " + advertised + "\n", "", kPort);
  ASSERT_TRUE(await_joined({&a0, &a1}));
  for (Member* m : {&a0, &a1}) ASSERT_EQ(m->proc->command("answer", {"answering"}), "answering") << m->name;
  ASSERT_TRUE(all_discovered({&a0, &a1}, milliseconds(5000)));

  EXPECT_EQ(await_peer_prop(a0, a1, "t", "host"), advertised);
  const std::string reply = a0.proc->command("query " + a1.sid + " q 3000", {"answers ", "timeout ", "stuck "});
  EXPECT_TRUE(starts_with(reply, "answers 1 " + a1.uuid + "=")) << reply;
  EXPECT_TRUE(event_over_tcp(a0, a1, "to-the-advertised-address"));
  EXPECT_TRUE(event_over_tcp(a1, a0, "back"));
  quit_all_and_check();
}

}  // namespace
}  // namespace rel
