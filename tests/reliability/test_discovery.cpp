// Discovery beyond one multicast segment (docs/discovery.md): hosts on a bridge where multicast
// is blocked (no multicast route, and nftables dropping 224.0.0.0/4) meet through seeds and do
// everything a multicast cluster does; a 3 + 2 split heals by itself; two multicast segments
// joined by seeds make one cluster where a member found twice is one member and a send to many
// reaches every member exactly once.
#include <algorithm>
#include <fstream>
#include <iostream>

#include "harness.hpp"

namespace rel {
namespace {

constexpr int kSeedPort = 17400;  // every host is its own namespace: the same port on each

class Discovery : public ReliabilityTest {
 protected:
  void make_hosts(int n) {
    if (run_shell("command -v ip >/dev/null 2>&1") != 0) GTEST_SKIP() << "no 'ip' (iproute2)";
    if (run_shell("command -v nft >/dev/null 2>&1") != 0) GTEST_SKIP() << "no 'nft' (nftables; scripts/setup-deps)";
    const std::string err = network().build(n, {}, seed_);
    if (!err.empty() && network().cannot_create()) GTEST_SKIP() << err;
    ASSERT_EQ(err, "") << "building the hosts failed";
  }

  const std::string& address(std::size_t host) { return network().hosts()[host].address; }

  /// Loads an nftables ruleset into `host` (a file: no shell quoting of braces).
  void nft(std::size_t host, const std::string& name, const std::string& rules) {
    const std::string file = dir_ + "/" + name + "-" + std::to_string(host) + ".nft";
    {
      std::ofstream f(file);
      f << rules;
    }
    ASSERT_EQ(network().run_in(host, "nft -f " + file), 0) << "host " << host << ":\n" << rules;
  }

  /// No multicast in or out of `host`: its route goes, and nftables drops what is left.
  void block_multicast(std::size_t host) {
    network().run_in(host, "ip route del 224.0.0.0/4 2>/dev/null");
    nft(host, "nomc",
        "table ip nomc {\n"
        "  chain out { type filter hook output priority 0; ip daddr 224.0.0.0/4 drop; }\n"
        "  chain in { type filter hook input priority 0; ip daddr 224.0.0.0/4 drop; }\n"
        "}\n");
  }

  /// `host` neither sends to nor hears `others` (what = "ip"), or hears no multicast from them
  /// (what = "multicast"); no others = the cut goes.
  void cut(std::size_t host, const std::vector<std::size_t>& others, const std::string& what = "ip") {
    const std::string table = what == "ip" ? "split" : "mcsplit";
    network().run_in(host, "nft delete table ip " + table + " 2>/dev/null");
    if (others.empty()) return;
    std::string set;
    for (std::size_t o : others) set += (set.empty() ? "" : ", ") + address(o);
    std::string rules = "table ip " + table + " {\n  chain in { type filter hook input priority 0; ip saddr { " + set +
                        " }" + (what == "ip" ? "" : " ip daddr 224.0.0.0/4") + " drop; }\n";
    if (what == "ip") rules += "  chain out { type filter hook output priority 0; ip daddr { " + set + " } drop; }\n";
    nft(host, table, rules + "}\n");
  }

  /// A member on `host` that finds others through DNS records served from `dns_host`.
  MemberOptions dns_member(std::size_t host, std::size_t dns_host) {
    MemberOptions o = member(host, "dns", {});
    o.load = "tcp dns";
    o.extra_ini = "\n[dns]\nname = _cluster._tcp.test.lan\nserver = " + address(dns_host) +
                  "\ninterval_ms = 300\ntimeout_ms = 1000\nsync_ms = 1000\n";
    return o;
  }

  /// Starts dnsmasq in `host` serving an SRV record and an address for each of `members`.
  void start_dnsmasq(std::size_t host, const std::vector<std::size_t>& members) {
    std::string args = "dnsmasq --conf-file=/dev/null --no-resolv --no-hosts --port=53 --user=root --listen-address=" +
                       address(host) + " --bind-interfaces --local=/test.lan/ --pid-file=" + dir_ + "/dnsmasq.pid";
    for (std::size_t m : members) {
      const std::string n = "n" + std::to_string(m) + ".test.lan";
      args += " --srv-host=_cluster._tcp.test.lan," + n + "," + std::to_string(kSeedPort) + " --host-record=" + n + "," +
              address(m);
    }
    ASSERT_EQ(network().run_in(host, args), 0) << args;
    dnsmasq_ = true;
  }
  void stop_dnsmasq() {
    if (dnsmasq_) run_shell("kill $(cat " + dir_ + "/dnsmasq.pid) 2>/dev/null");
    dnsmasq_ = false;
  }
  void TearDown() override {
    stop_dnsmasq();
    stop_etcd();
    ReliabilityTest::TearDown();
  }
  bool dnsmasq_ = false;

  /// A member on `host` that finds others through the etcd on `etcd_host`.
  MemberOptions etcd_member(std::size_t host, std::size_t etcd_host) {
    MemberOptions o = member(host, "etcd", {});
    o.load = "tcp etcd";
    o.extra_ini = "\n[etcd]\nendpoints = http://" + address(etcd_host) +
                  ":2379\nprefix = /test/members/\nttl_s = 2\ntimeout_ms = 1000\nsync_ms = 1000\n";
    return o;
  }

  /// Starts etcd in `host` (client port 2379 on its address), data in `data` under the test dir.
  void start_etcd(std::size_t host, const std::string& data) {
    const std::string a = address(host);
    const std::string cmd = "etcd --name default --data-dir " + dir_ + "/" + data + " --listen-client-urls http://" + a +
                            ":2379 --advertise-client-urls http://" + a + ":2379 --listen-peer-urls http://" + a +
                            ":2380 --initial-advertise-peer-urls http://" + a + ":2380 --initial-cluster default=http://" +
                            a + ":2380 >" + dir_ + "/etcd.log 2>&1 & echo $! >" + dir_ + "/etcd.pid";
    ASSERT_EQ(network().run_in(host, cmd), 0) << cmd;
    etcd_ = true;
    ASSERT_TRUE(wait_until({}, [&] { return etcd_keys(host) >= 0; }, Clock::now() + milliseconds(10000)))
        << "etcd did not start";
  }
  void stop_etcd() {
    if (etcd_) run_shell("kill -9 $(cat " + dir_ + "/etcd.pid) 2>/dev/null; sleep 0.2");
    etcd_ = false;
  }
  /// Keys under /test/members/ (python3 over the JSON gateway), -1 when etcd does not answer.
  int etcd_keys(std::size_t host) {
    const std::string py =
        "import urllib.request, json, base64, sys\n"
        "b = lambda s: base64.b64encode(s.encode()).decode()\n"
        "req = urllib.request.Request(\"http://" + address(host) + ":2379/v3/kv/range\", "
        "data=json.dumps({\"key\": b(\"/test/members/\"), \"range_end\": b(\"/test/members0\"), "
        "\"count_only\": True}).encode())\n"
        "opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))\n"
        "try:\n  r = json.load(opener.open(req, timeout=1))\nexcept Exception:\n  sys.exit(200)\n"
        "sys.exit(int(r.get(\"count\", 0)))\n";
    const std::string file = dir_ + "/count.py";
    {
      std::ofstream f(file);
      f << py;
    }
    const int rc = network().run_in(host, "python3 " + file);
    return rc == 200 ? -1 : rc;
  }
  bool etcd_ = false;

  /// A member on `host` that finds others through `discovery` with these seeds.
  MemberOptions member(std::size_t host, const std::string& discovery, const std::vector<std::size_t>& seeds) {
    MemberOptions o;
    o.remote = 1;
    o.wrapper = network().wrapper(host);
    o.tcp_port = kSeedPort;
    const bool beacon = discovery.find("multicast") != std::string::npos;
    o.protocols = beacon ? "t c" : "t";
    o.load = beacon ? "udp-multicast tcp seeds" : "tcp seeds";
    if (beacon) o.interface = "eth0";
    o.cluster_ini = "discovery = " + discovery + "\n";
    std::string list;
    for (std::size_t s : seeds) list += (list.empty() ? "" : ", ") + address(s) + ":" + std::to_string(kSeedPort);
    o.extra_ini = "\n[seeds]\nseeds = " + list + "\nsync_ms = 1000\n";
    return o;
  }

  /// Every member of `ms` knows exactly the others (the "members" command), within `timeout`.
  bool all_know_all(const std::vector<Member*>& ms, milliseconds timeout) {
    const auto deadline = Clock::now() + scaled(timeout);
    while (Clock::now() < deadline) {
      bool ok = true;
      for (Member* m : ms) {
        std::set<std::string> want;
        for (Member* o : ms)
          if (o != m) want.insert(o->uuid);
        const auto have = members_of(*m);
        if (!have || *have != want) {
          ok = false;
          break;
        }
      }
      if (ok) return true;
      wait_until(procs(ms), [] { return false; }, Clock::now() + milliseconds(50));
    }
    return false;
  }

  /// Waits until `m` knows none of `gone` (they expired or left).
  bool forgets(Member& m, const std::vector<Member*>& gone, milliseconds timeout) {
    const auto deadline = Clock::now() + scaled(timeout);
    while (Clock::now() < deadline) {
      const auto have = members_of(m);
      if (have && std::none_of(gone.begin(), gone.end(), [&](Member* g) { return have->count(g->uuid) != 0; }))
        return true;
      wait_until(procs({&m}), [] { return false; }, Clock::now() + milliseconds(50));
    }
    return false;
  }
};

// Five hosts, no multicast anywhere, one seed: discovery, record changes, events to many,
// queries, a graceful leave, a kill -9, and a late joiner, with the same probe commands as on
// a multicast segment.
TEST_F(Discovery, SeedsAloneDoEverythingMulticastDid) {
  constexpr std::size_t kHosts = 5;
  ASSERT_NO_FATAL_FAILURE(make_hosts(static_cast<int>(kHosts)));
  for (std::size_t h = 0; h < kHosts; ++h) ASSERT_NO_FATAL_FAILURE(block_multicast(h));
  std::vector<Member*> all;
  const auto t0 = Clock::now();
  for (std::size_t h = 0; h < kHosts; ++h) all.push_back(&spawn("s" + std::to_string(h), member(h, "seeds", {0})));
  ASSERT_TRUE(await_joined(all));
  ASSERT_TRUE(all_know_all(all, milliseconds(8000))) << "the members did not all meet through the seed";
  std::cout << "[ timing   ] all know all " << ms_between(t0, Clock::now()) << " ms after starting 5 members\n";
  for (Member* m : all) ASSERT_EQ(m->proc->command("answer", {"answering"}), "answering") << m->name;

  // How s1 found s2: through the seed's member list (it answered our contact), or s2's own
  // contact; never multicast. Its address is s2's host.
  const std::string via = all[1]->proc->command("via " + all[2]->sid, {"via "});
  const auto w = words(via);
  ASSERT_EQ(w.size(), 4u) << via;
  EXPECT_TRUE(w[2] == "seeds" || w[2] == "inbound") << via;
  EXPECT_EQ(w[3], address(2)) << via;

  // A tags change reaches everyone (it rides on the direct heartbeats).
  ASSERT_EQ(all[3]->proc->command("tags blue", {"tagged"}), "tagged");
  for (Member* m : {all[0], all[1], all[4]}) {
    std::string found;
    wait_until(procs(all), [&] {
      found = m->proc->command("peer blue", {"peer "});
      return starts_with(found, "peer " + all[3]->uuid);
    }, Clock::now() + scaled(milliseconds(3000)));
    EXPECT_TRUE(starts_with(found, "peer " + all[3]->uuid)) << m->name << " never saw s3's new tag: " << found;
  }

  // An event to many (4 targets: the core's filtered multicast would reach nobody here).
  std::vector<std::size_t> marks;
  for (Member* m : all) marks.push_back(m->proc->lines().size());
  EXPECT_EQ(all[0]->proc->command("send * to-all", {"sent "}), "sent 4");
  for (std::size_t h = 1; h < kHosts; ++h) {
    const auto ev = await_line(*all[h], "event " + all[0]->uuid + " ", scaled(milliseconds(3000)), marks[h]);
    EXPECT_TRUE(ev.has_value()) << all[h]->name << " never got the event";
    if (ev) {
      EXPECT_EQ(ev->text, "event " + all[0]->uuid + " t to-all");
    }
  }

  // A query to everyone.
  const std::string reply = all[0]->proc->command("query * q 3000", {"answers ", "timeout ", "stuck "});
  EXPECT_TRUE(starts_with(reply, "answers 4 ")) << reply;

  // A graceful leave is seen at once (a direct disconnect), not after the ttl.
  ASSERT_EQ(all[4]->proc->command("quit", {"bye"}), "bye");
  for (std::size_t h = 0; h < 4; ++h) {
    const auto lost = await_line(*all[h], "lost " + all[4]->uuid + " ", scaled(milliseconds(1000)));
    EXPECT_TRUE(lost.has_value()) << all[h]->name << " did not see s4 leave within 1 s";
    if (lost) {
      EXPECT_EQ(lost->text, "lost " + all[4]->uuid + " left");
    }
  }
  ASSERT_TRUE(all[4]->proc->wait_exit(scaled(milliseconds(5000))));

  // A kill -9 expires after the ttl.
  all[3]->proc->kill9();
  all[3]->expect_failure = true;
  for (std::size_t h = 0; h < 3; ++h)
    EXPECT_TRUE(await_line(*all[h], "lost " + all[3]->uuid + " ", scaled(milliseconds(5000))).has_value())
        << all[h]->name << " still knows the killed s3";

  // A late joiner on host 4 learns the three left through the seed, and they learn it.
  Member& late = spawn("late", member(4, "seeds", {0}));
  ASSERT_TRUE(await_joined({&late}));
  const auto t1 = Clock::now();
  ASSERT_TRUE(all_know_all({all[0], all[1], all[2], &late}, milliseconds(5000)));
  std::cout << "[ timing   ] a late joiner and the others all know each other " << ms_between(t1, Clock::now())
            << " ms after it joined\n";
  quit_all_and_check();
}

// The auth hook set signs every packet in field 11, where the member lists travel: it wraps them
// (CA2) instead of refusing them, so members that are not seeds still meet each other.
TEST_F(Discovery, SeedsWorkWithTheAuthHookSet) {
  constexpr std::size_t kHosts = 3;
  ASSERT_NO_FATAL_FAILURE(make_hosts(static_cast<int>(kHosts)));
  for (std::size_t h = 0; h < kHosts; ++h) ASSERT_NO_FATAL_FAILURE(block_multicast(h));
  std::vector<Member*> all;
  for (std::size_t h = 0; h < kHosts; ++h) {
    MemberOptions o = member(h, "seeds", {0});
    o.load += " auth";
    o.hooks = "auth";
    o.extra_ini += "\n[auth]\nkeys = k1:not-a-real-secret\nsign_with = k1\n";
    all.push_back(&spawn("s" + std::to_string(h), o));
  }
  ASSERT_TRUE(await_joined(all));
  ASSERT_TRUE(all_know_all(all, milliseconds(6000))) << "with auth, the members that are not seeds did not meet";
  for (Member* m : all) EXPECT_EQ(stderr_count(*m, "cannot sign"), 0u) << m->name;
  quit_all_and_check();
}

// Five hosts, no multicast, one seed (host 0). Hosts 3 and 4 are cut off from 0, 1, 2; each
// side forgets the other after the ttl; when the cut goes, they are one cluster again without
// help (hosts 3 and 4 keep trying the seed).
TEST_F(Discovery, AThreePlusTwoSplitHealsWhenTheLinksReturn) {
  constexpr std::size_t kHosts = 5;
  ASSERT_NO_FATAL_FAILURE(make_hosts(static_cast<int>(kHosts)));
  for (std::size_t h = 0; h < kHosts; ++h) ASSERT_NO_FATAL_FAILURE(block_multicast(h));
  std::vector<Member*> all;
  for (std::size_t h = 0; h < kHosts; ++h) all.push_back(&spawn("p" + std::to_string(h), member(h, "seeds", {0})));
  ASSERT_TRUE(await_joined(all));
  ASSERT_TRUE(all_know_all(all, milliseconds(8000)));

  const std::vector<std::size_t> a{0, 1, 2}, b{3, 4};
  for (std::size_t h : a) ASSERT_NO_FATAL_FAILURE(cut(h, b));
  for (std::size_t h : b) ASSERT_NO_FATAL_FAILURE(cut(h, a));
  const std::vector<Member*> side_a{all[0], all[1], all[2]}, side_b{all[3], all[4]};
  for (Member* m : side_a) EXPECT_TRUE(forgets(*m, side_b, milliseconds(6000))) << m->name << " still knows side b";
  for (Member* m : side_b) EXPECT_TRUE(forgets(*m, side_a, milliseconds(6000))) << m->name << " still knows side a";
  EXPECT_TRUE(all_know_all(side_a, milliseconds(1000)));
  EXPECT_TRUE(all_know_all(side_b, milliseconds(1000)));

  const auto t0 = Clock::now();
  for (std::size_t h = 0; h < kHosts; ++h) ASSERT_NO_FATAL_FAILURE(cut(h, {}));
  ASSERT_TRUE(all_know_all(all, milliseconds(10000))) << "the split did not heal";
  std::cout << "[ timing   ] healed " << ms_between(t0, Clock::now()) << " ms after the links returned\n";
  quit_all_and_check();
}

// Two multicast segments (hosts 0-2 and 3-4: multicast does not cross) joined by seeds: each
// member runs "multicast, seeds" with a seed on the other segment. One cluster; a member found
// both ways is one member; an event to all four others arrives once at each (a filtered
// multicast for the segment, direct sends across); a query crosses segments.
TEST_F(Discovery, MulticastAndSeedsJoinTwoSegmentsIntoOneCluster) {
  constexpr std::size_t kHosts = 5;
  ASSERT_NO_FATAL_FAILURE(make_hosts(static_cast<int>(kHosts)));
  const std::vector<std::size_t> seg_a{0, 1, 2}, seg_b{3, 4};
  for (std::size_t h : seg_a) ASSERT_NO_FATAL_FAILURE(cut(h, seg_b, "multicast"));
  for (std::size_t h : seg_b) ASSERT_NO_FATAL_FAILURE(cut(h, seg_a, "multicast"));
  std::vector<Member*> all;
  // Segment a's seeds list names a member of its own segment too: it is found both ways.
  for (std::size_t h : seg_a) all.push_back(&spawn("a" + std::to_string(h), member(h, "multicast, seeds", {3, 1})));
  for (std::size_t h : seg_b) all.push_back(&spawn("b" + std::to_string(h), member(h, "multicast, seeds", {0})));
  ASSERT_TRUE(await_joined(all));
  ASSERT_TRUE(all_know_all(all, milliseconds(8000))) << "the two segments did not become one cluster";
  for (Member* m : all) ASSERT_EQ(m->proc->command("answer", {"answering"}), "answering") << m->name;

  // a0 found a1 over the group or through its seeds list, whichever came first (it lists a1);
  // b3 through seeds, or b3 contacted it: never over the group, which does not cross.
  const std::string near = words(all[0]->proc->command("via " + all[1]->sid, {"via "})).at(2);
  EXPECT_TRUE(near == "multicast" || near == "seeds") << near;
  const std::string across = words(all[0]->proc->command("via " + all[3]->sid, {"via "})).at(2);
  EXPECT_TRUE(across == "seeds" || across == "inbound") << across;

  std::vector<std::size_t> marks;
  for (Member* m : all) marks.push_back(m->proc->lines().size());
  EXPECT_EQ(all[0]->proc->command("send * once", {"sent "}), "sent 4");
  for (std::size_t i = 1; i < all.size(); ++i)
    EXPECT_TRUE(await_line(*all[i], "event " + all[0]->uuid + " ", scaled(milliseconds(3000)), marks[i]).has_value())
        << all[i]->name << " never got the event";
  wait_until(procs(all), [] { return false; }, Clock::now() + milliseconds(500));  // duplicates would be here
  for (std::size_t i = 1; i < all.size(); ++i) {
    std::size_t n = 0;
    for (std::size_t k = marks[i]; k < all[i]->proc->lines().size(); ++k)
      n += starts_with(all[i]->proc->lines()[k].text, "event " + all[0]->uuid + " ");
    EXPECT_EQ(n, 1u) << all[i]->name << " got the event " << n << " times";
  }

  const std::string reply =
      all[1]->proc->command("query " + all[4]->sid + " across 3000", {"answers ", "timeout ", "stuck "});
  EXPECT_EQ(reply, "answers 1 " + all[4]->uuid + "=" + all[4]->sid + ":across");
  quit_all_and_check();
}

// Four hosts, no multicast; dnsmasq on host 0 serves _cluster._tcp.test.lan: an SRV record per
// member (hosts 1-3) and their addresses. The members start before the records exist (they meet
// nobody), then find each other once dnsmasq answers (looked up again every 300 ms). When DNS
// goes away they keep each other (heartbeats go to members, not to contact points: this checks
// that failing lookups do not disturb them, e.g. by dropping contacts or stalling the loop).
TEST_F(Discovery, DnsSrvRecordsAreFollowedAsTheyAppear) {
  if (run_shell("command -v dnsmasq >/dev/null 2>&1") != 0) GTEST_SKIP() << "no dnsmasq (scripts/setup-deps)";
  constexpr std::size_t kHosts = 4;
  ASSERT_NO_FATAL_FAILURE(make_hosts(static_cast<int>(kHosts)));
  for (std::size_t h = 0; h < kHosts; ++h) ASSERT_NO_FATAL_FAILURE(block_multicast(h));
  std::vector<Member*> all;
  for (std::size_t h = 1; h < kHosts; ++h) all.push_back(&spawn("d" + std::to_string(h), dns_member(h, 0)));
  ASSERT_TRUE(await_joined(all));
  wait_until(procs(all), [] { return false; }, Clock::now() + milliseconds(1000));
  for (Member* m : all) EXPECT_EQ(members_of(*m).value_or(std::set<std::string>{"?"}).size(), 0u) << m->name;

  const auto t0 = Clock::now();
  ASSERT_NO_FATAL_FAILURE(start_dnsmasq(0, {1, 2, 3}));
  ASSERT_TRUE(all_know_all(all, milliseconds(6000))) << "the members did not meet through the SRV records";
  std::cout << "[ timing   ] all know all " << ms_between(t0, Clock::now()) << " ms after DNS began to answer\n";
  const std::string via = words(all[0]->proc->command("via " + all[2]->sid, {"via "})).at(2);
  EXPECT_TRUE(via == "dns" || via == "inbound") << via;

  stop_dnsmasq();  // lookups fail from now on: the last contact points stay, nobody is lost
  wait_until(procs(all), [] { return false; }, Clock::now() + milliseconds(1500));
  EXPECT_TRUE(all_know_all(all, milliseconds(100)));
  for (Member* m : all) EXPECT_EQ(m->count_prefix("lost "), 0u) << m->name;
  quit_all_and_check();
}

// Four hosts, no multicast, etcd on host 0. Members on hosts 1-3 register under a prefix with a
// 2 s lease and watch it: they meet; a member killed with -9 leaves etcd when its lease ends; a
// member that quits leaves etcd at once; after etcd restarts with no data the members register
// again, and a newcomer finds them all through it.
TEST_F(Discovery, EtcdLeasesAndWatchesMakeOneCluster) {
  if (run_shell("command -v etcd >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "no etcd or python3 (scripts/setup-deps)";
  constexpr std::size_t kHosts = 4;
  ASSERT_NO_FATAL_FAILURE(make_hosts(static_cast<int>(kHosts)));
  for (std::size_t h = 0; h < kHosts; ++h) ASSERT_NO_FATAL_FAILURE(block_multicast(h));
  ASSERT_NO_FATAL_FAILURE(start_etcd(0, "etcd-1"));
  std::vector<Member*> all;
  for (std::size_t h = 1; h < kHosts; ++h) all.push_back(&spawn("e" + std::to_string(h), etcd_member(h, 0)));
  ASSERT_TRUE(await_joined(all));
  ASSERT_TRUE(all_know_all(all, milliseconds(6000))) << "the members did not meet through etcd";
  EXPECT_EQ(etcd_keys(0), 3);
  const std::string via = words(all[0]->proc->command("via " + all[1]->sid, {"via "})).at(2);
  EXPECT_TRUE(via == "etcd" || via == "inbound") << via;

  // kill -9: its key goes when the lease ends (2 s; etcd checks leases every 500 ms).
  all[2]->proc->kill9();
  all[2]->expect_failure = true;
  EXPECT_TRUE(wait_until({}, [&] { return etcd_keys(0) == 2; }, Clock::now() + scaled(milliseconds(6000))))
      << "the killed member's key outlived its lease";
  // quit: revoked at once.
  const auto t0 = Clock::now();
  ASSERT_EQ(all[1]->proc->command("quit", {"bye"}), "bye");
  EXPECT_EQ(etcd_keys(0), 1) << "a member that left still has its key";
  std::cout << "[ timing   ] key gone " << ms_between(t0, Clock::now()) << " ms after quit\n";

  // etcd restarts empty: e1 registers again; a newcomer on host 3 finds it through etcd.
  stop_etcd();
  ASSERT_NO_FATAL_FAILURE(start_etcd(0, "etcd-2"));
  EXPECT_TRUE(wait_until({}, [&] { return etcd_keys(0) == 1; }, Clock::now() + scaled(milliseconds(8000))))
      << "e1 did not register again after etcd restarted";
  Member& late = spawn("late", etcd_member(3, 0));
  ASSERT_TRUE(await_joined({&late}));
  EXPECT_TRUE(all_know_all({all[0], &late}, milliseconds(6000)));
  quit_all_and_check();
}

}  // namespace
}  // namespace rel
