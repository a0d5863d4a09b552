// Discovery and failure detection as plugin kinds (sdk/discovery.hpp, sdk/failure_detector.hpp),
// and the re-entrancy rule every plugin relies on: the core never calls into a protocol from
// inside that protocol's received().
#include <gtest/gtest.h>

#include <algorithm>

#include "cluster/bpacket/payload_codec.hpp"
#include "cluster/sdk/discovery.hpp"
#include "cluster/sdk/failure_detector.hpp"
#include "membership_fixture.hpp"

namespace cluster::test {
namespace {

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

TEST_F(Membership, NoCallIntoAProtocolFromInsideItsReceive) {
  Options slow = fast();
  slow.ttl = 10s;
  auto a = member(slow, "127.0.0.1");
  auto b = member(slow, "127.0.0.2");
  auto c = member(slow, "127.0.0.3");
  auto d = member(slow, "127.0.0.4");
  auto e = member(slow, "127.0.0.5");  // five: a cold start's burst is answered by one heartbeat
  ASSERT_TRUE(run_until([&] { return a->known_services() == 4 && e->known_services() == 4; }));
  // b answers every event with an event, a broadcast and a payload, all sent from the hook.
  b->hook(HookPoint::event, "echo", [&](HookContext& ctx) {
    if (*ctx.payload->data != "ping") return Verdict::pass;
    auto back = b->resolve({a->sid()});
    b->send(back, "pong");
    Payload bc;
    bc.data = std::string("shout");
    b->broadcast(bc);
    b->heartbeat(true);
    return Verdict::pass;
  });
  b->hook(HookPoint::query, "answer", [](HookContext& ctx) {
    ctx.answer = "yes";
    return Verdict::modified;
  });
  std::vector<std::string> got;
  a->hook(HookPoint::event, "got", [&](HookContext& ctx) { return got.push_back(*ctx.payload->data), Verdict::pass; });
  // A query started from a callback of another query goes out after the receive too.
  bool second_done = false;
  QueryOptions q;
  q.resolve = {b->sid()};
  q.query = "first";
  q.timeout = 2s;
  q.command = [&](QueryEvent ev, Query&) {
    if (ev != QueryEvent::done) return;
    QueryOptions q2;
    q2.resolve = {b->sid()};
    q2.query = "second";
    q2.timeout = 2s;
    q2.command = [&](QueryEvent ev2, Query& qq) {
      if (ev2 == QueryEvent::done) second_done = qq.payloads() == std::vector<std::string>{"yes"};
    };
    a->query(q2);
  };
  a->query(q);
  a->send(a->resolve({b->sid()}), "ping");
  ASSERT_TRUE(run_until([&] { return second_done && std::count(got.begin(), got.end(), "pong") == 1; }));
  // A failure report (t broken towards c) makes c refresh; d leaving makes everyone drop it.
  net.broken.insert("127.0.0.3/t");
  a->send(a->resolve({c->sid()}), "over c");
  ASSERT_TRUE(run_until([&] { return proto_of("127.0.0.3", "t")->refreshes > 0; }));
  d->leave();
  ASSERT_TRUE(run_until([&] { return a->known_services() == 3 && e->known_services() == 3; }));
  // An unreachable member is pinged; the pinged member answers with a full heartbeat.
  net.broken.insert("127.0.0.5/t");
  SendFlags direct;
  direct.allow_multicast = false;
  a->send(a->resolve({e->sid()}), "x", direct);
  ASSERT_TRUE(run_until([&] { return a->counters().pings_sent == 1; }));
  run_until([] { return false; }, 200ms);
  EXPECT_TRUE(net.reentries.empty()) << joined(net.reentries);
}

// A discovery that announces nothing by itself: members meet only through contact().
struct ContactOnly final : sdk::Discovery {
  explicit ContactOnly(sdk::DiscoveryHost& h) : host(h) {}
  sdk::DiscoveryHost& host;
  std::vector<std::string> calls;
  sdk::Result start() noexcept override { return calls.push_back("start"), sdk::Result::success(); }
  void announce(sdk::Record) noexcept override { calls.push_back("announce"); }
  void probe() noexcept override { calls.push_back("probe"); }
  void newcomer(const ServiceInfo& m) noexcept override {
    calls.push_back("newcomer " + m.sid);
    Payload p = host.packet(PayloadType::heartbeat, sdk::Record::full);
    host.send(m.uuid, p);
  }
  void asked(const ServiceInfo& m) noexcept override { calls.push_back("asked " + m.sid); }
  void missing_record(const ServiceInfo& m, bool) noexcept override { calls.push_back("missing " + m.sid); }
  void stop() noexcept override { calls.push_back("stop"); }
};

TEST_F(Membership, ADiscoveryPluginReplacesTheBeacon) {
  std::vector<ContactOnly*> made;
  auto plugins = [&](const std::string& ip) {
    auto pm = net.plugins_for(ip);
    pm->add_discovery("contact-only", [&](sdk::DiscoveryHost& h) {
      auto d = std::make_unique<ContactOnly>(h);
      made.push_back(d.get());
      return d;
    });
    return pm;
  };
  Options o = fast();
  o.discovery = "contact-only";
  o.ttl = 10s;
  auto a = Cluster::join(o, plugins("127.0.0.1"), loop);
  auto b = Cluster::join(o, plugins("127.0.0.2"), loop);
  ASSERT_EQ(made.size(), 2u);
  const int multicasts = net.multicasts;
  run_until([] { return false; }, 300ms);  // three heartbeat periods: the beacon would have met
  EXPECT_EQ(net.multicasts, multicasts) << "no beacon runs";
  EXPECT_FALSE(knows(*a, *b));
  // a contacts b's t listener: b admits a and asks its discovery to answer; a admits b.
  auto* bt = proto_of("127.0.0.2", "t");
  sdk::ContactPoint at{"t", "127.0.0.2", {{"port", std::to_string(bt->address())}}, false};
  sdk::Result r = sdk::Result::failure("not run");
  loop.call([&] {
    Payload hello = made[0]->host.packet(PayloadType::discovery, sdk::Record::full);
    r = made[0]->host.contact(at, hello);
  });
  ASSERT_TRUE(r) << r.message();
  ASSERT_TRUE(run_until([&] { return knows(*a, *b) && knows(*b, *a); }));
  EXPECT_EQ(made[1]->calls, (std::vector<std::string>{"start", "newcomer " + a->sid()}));
  EXPECT_EQ(a->resolve({b->sid()})[0]->info().prop("t", "port"), std::to_string(bt->address()));
  // Contacts over a multicast or unknown protocol are refused with the reason.
  loop.call([&] {
    Payload p = made[0]->host.packet(PayloadType::discovery);
    EXPECT_FALSE(made[0]->host.contact(sdk::ContactPoint{"c", "", {}, false}, p));
    EXPECT_FALSE(made[0]->host.contact(sdk::ContactPoint{"zz", "", {}, false}, p));
  });
  a->heartbeat(true);
  a->discover();
  run_until([] { return false; }, 50ms);
  EXPECT_NE(std::find(made[0]->calls.begin(), made[0]->calls.end(), "announce"), made[0]->calls.end());
  EXPECT_NE(std::find(made[0]->calls.begin(), made[0]->calls.end(), "probe"), made[0]->calls.end());
  a->leave();
  EXPECT_EQ(made[0]->calls.back(), "stop");
}

// A detector that only records, and lets the test give verdicts.
struct Manual final : sdk::FailureDetector {
  explicit Manual(sdk::FailureDetectorHost& h) : host(h) {}
  sdk::FailureDetectorHost& host;
  int n_added = 0, n_heard = 0, n_unreachable = 0, n_removed = 0;
  sdk::Result start() noexcept override { return sdk::Result::success(); }
  void added(const ServiceInfo&) noexcept override { ++n_added; }
  void heard(const ServiceInfo&) noexcept override { ++n_heard; }
  void unreachable(const ServiceInfo&) noexcept override { ++n_unreachable; }
  void received(const ServiceInfo&, const Payload&) noexcept override {}
  void removed(const ServiceInfo&) noexcept override { ++n_removed; }
  void stop() noexcept override {}
};

TEST_F(Membership, AFailureDetectorPluginDecidesWhoIsDead) {
  std::vector<Manual*> made;
  auto plugins = [&](const std::string& ip) {
    auto pm = net.plugins_for(ip);
    pm->add_failure_detector("manual", [&](sdk::FailureDetectorHost& h) {
      auto d = std::make_unique<Manual>(h);
      made.push_back(d.get());
      return d;
    });
    return pm;
  };
  Options o = fast();
  o.failure_detector = "manual";
  o.ttl = 200ms;  // the ttl rule would expire a silent member quickly: this detector ignores it
  auto a = Cluster::join(o, plugins("127.0.0.1"), loop);
  auto b = Cluster::join(o, plugins("127.0.0.2"), loop);
  ASSERT_TRUE(run_until([&] { return knows(*a, *b); }));
  std::string lost_reason;
  a->hook(HookPoint::service_lost, "lost", [&](HookContext& ctx) { return lost_reason = ctx.reason, Verdict::pass; });
  net.muted.insert("127.0.0.2");
  run_until([] { return false; }, 600ms);  // three ttls of silence
  EXPECT_TRUE(knows(*a, *b)) << "only the detector decides";
  EXPECT_EQ(made[0]->n_added, 1);
  EXPECT_GE(made[0]->n_heard, 2);
  loop.call([&] { made[0]->host.declare(b->uuid(), sdk::Liveness::suspect, "test"); });
  EXPECT_TRUE(knows(*a, *b));
  loop.call([&] { made[0]->host.declare(b->uuid(), sdk::Liveness::dead, "voted out"); });
  EXPECT_FALSE(knows(*a, *b));
  EXPECT_EQ(lost_reason, "voted out");
  EXPECT_EQ(made[0]->n_removed, 1);
}

TEST(Policies, BuiltinsAreRegisteredAndUnknownNamesRefused) {
  PluginManager pm;
  EXPECT_EQ(pm.discovery_names(), std::vector<std::string>{"multicast"});
  EXPECT_EQ(pm.failure_detector_names(), std::vector<std::string>{"ttl"});
  EXPECT_THROW(pm.add_discovery("multicast", nullptr), PluginError);
  EventLoop loop;
  MemoryNetwork net(loop);
  Options o;
  o.discovery = "nope";
  try {
    Cluster::join(o, net.plugins_for("127.0.0.1"), loop);
    FAIL() << "joined with an unknown discovery";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "[cluster] discovery names 'nope', but no loaded plugin provides it");
  }
  o.discovery = "multicast";
  o.failure_detector = "nope";
  EXPECT_THROW(Cluster::join(o, net.plugins_for("127.0.0.1"), loop), ConfigError);
}

}  // namespace
}  // namespace cluster::test

namespace cluster::test {
namespace {

// SDK 1.3 appended Discovery::message(): the host calls it only on discoveries whose plugin was
// built against 1.3 or later (a 1.2 plugin's vtable has no such slot). Both fixtures run beside
// the beacon; a heartbeat carrying `op` reaches the 1.3 one only. Also: several discoveries run
// at once, and a member met over the group is found_by "multicast".
TEST_F(Membership, MessageReachesOnlyDiscoveriesBuiltAgainstSdk13) {
  std::vector<std::string> lines;
  Options o = fast();
  o.discovery = "multicast, listener12, listener13";
  o.log_sink = [&](sdk::LogLevel, std::string_view m) {
    if (m.find(" message from ") != std::string_view::npos) lines.emplace_back(m);
  };
  auto plugins = [&](const std::string& ip) {
    auto pm = net.plugins_for(ip);
    for (const char* f : {"discovery_1_2", "discovery_1_3"})
      pm->load(std::string(CLUSTER_FIXTURE_PLUGIN_DIR) + "/cluster-fixture-" + f + ".so", nullptr);
    return pm;
  };
  auto a = Cluster::join(o, plugins("127.0.0.1"), loop);
  auto b = Cluster::join(o, plugins("127.0.0.2"), loop);
  ASSERT_TRUE(run_until([&] { return knows(*a, *b) && knows(*b, *a); }));
  EXPECT_EQ(b->resolve({a->sid()})[0]->info().found_by, "multicast");

  Payload p;
  p.sid = a->sid();
  p.hid = a->hid();
  p.type = static_cast<std::uint64_t>(PayloadType::heartbeat);
  p.channel = 0;
  p.protocols = StringList{"t", "c"};
  p.op = std::string("members");
  p.raw = std::string("");
  std::string bytes;
  bpacket::encode_payload(p, bytes);
  lines.clear();
  loop.call([&] { proto_of("127.0.0.2", "t")->deliver(bytes, "127.0.0.1", 0); });
  ASSERT_TRUE(run_until([&] { return !lines.empty(); }));
  run_until([] { return false; }, 50ms);  // a call to the 1.2 plugin would come in the same turn
  EXPECT_EQ(lines, std::vector<std::string>{"listener13 message from " + a->uuid() + " op members"});
}

}  // namespace
}  // namespace cluster::test

namespace cluster::test {
namespace {

/// A member on 127.0.0.1 over t alone, found through the seeds plugin (its one seed listens
/// nowhere), that has run a moment.
std::unique_ptr<Cluster> seeds_member(MemoryNetwork& net, EventLoop& loop, Options o) {
  o.discovery = "seeds";
  o.protocols = {"t"};
  o.ttl = 10s;
  o.remote = 1;  // the sender of the list is on another host
  auto pm = net.plugins_for("127.0.0.1");
  const IniFile ini = IniFile::parse("[seeds]\nseeds = 127.0.0.9:65000\n", "node.ini");
  pm->load(std::string(CLUSTER_HOOK_PLUGIN_DIR) + "/cluster-seeds.so", ini.section("seeds"));
  return Cluster::join(o, pm, loop);
}

/// A heartbeat from `sid` asking for our list and carrying its own member list `entries`.
std::string member_list_packet(const std::string& sid, const std::string& hid, int port, const std::string& entries) {
  Payload p;
  p.sid = sid;
  p.hid = hid;
  p.type = static_cast<std::uint64_t>(PayloadType::heartbeat);
  p.channel = 0;
  p.protocols = StringList{"t"};
  p.data = "t {port " + std::to_string(port) + "}";
  p.op = std::string("members?");
  p.raw = entries;
  std::string bytes;
  bpacket::encode_payload(p, bytes);
  return bytes;
}

// A member list comes from whoever got admitted: a forged one must not become thousands of
// connects. The seeds plugin cuts a list to twice what it knows plus 64 and spends at most that
// many contacts a period; a second ask from the same member within a second is not answered or
// acted on.
TEST_F(Membership, AForgedMemberListIsCutToABudget) {
  auto a = seeds_member(net, loop, fast());
  run_until([] { return false; }, 150ms);

  std::string entries;
  for (int i = 0; i < 1000; ++i)
    entries += "{f" + std::to_string(i) + "@h 10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250) +
               " 0 {t {port " + std::to_string(30000 + i) + "}}} ";
  const std::string bytes = member_list_packet("Forger01", "02:00:00:00:00:99", 64999, entries);
  const auto before = a->counters().send_failures;
  loop.call([&] { proto_of("127.0.0.1", "t")->deliver(bytes, "10.9.9.9", 0); });
  run_until([] { return false; }, 100ms);
  const auto spent = a->counters().send_failures - before;
  EXPECT_GT(spent, 0u) << "the list was not acted on at all";
  EXPECT_LE(spent, 2u * 1 + 64 + 2) << "contacts beyond the cap";  // + our answer and heartbeat to the forger
  // Asked again at once: neither answered nor acted on.
  loop.call([&] { proto_of("127.0.0.1", "t")->deliver(bytes, "10.9.9.9", 0); });
  run_until([] { return false; }, 100ms);
  EXPECT_LT(a->counters().send_failures - before - spent, 5u) << "the second ask was acted on";  // heartbeats only
}

// Props carry keys that are no protocol: a swim member's `swim {v 1}` entry. A listed member's
// contact points are its protocols we run only; before, the swim entry was tried first (failing:
// "not one of our protocols") and spent half the period's contact budget.
TEST_F(Membership, ListedMembersAreContactedOverProtocolsOnlyNotOtherPropsKeys) {
  auto a = seeds_member(net, loop, fast());
  run_until([] { return false; }, 150ms);
  std::string entries;
  for (int i = 0; i < 60; ++i)
    entries += "{s" + std::to_string(i) + "@h 10.2.0." + std::to_string(i + 1) + " 0 {swim {v 1} t {port " +
               std::to_string(30000 + i) + "}}} ";
  const std::string bytes = member_list_packet("Lister01", "02:00:00:00:00:98", 64998, entries);
  const auto before = a->counters().send_failures;
  loop.call([&] { proto_of("127.0.0.1", "t")->deliver(bytes, "10.9.9.8", 0); });
  run_until([] { return false; }, 100ms);
  // Every listed member got its t contact (none listens: each is a send failure).
  EXPECT_GE(a->counters().send_failures - before, 60u);
}

}  // namespace
}  // namespace cluster::test

namespace cluster::test {
namespace {

// A member that runs the seeds discovery without the beacon, yet lists "c" among its protocols,
// hears beacon members over the group but announces nothing there: it must keep heartbeating
// them directly, or they expire it while it still knows them.
TEST_F(Membership, SeedsWithoutTheBeaconKeepHeartbeatingMembersHeardOnTheGroup) {
  const std::string seeds_so = std::string(CLUSTER_HOOK_PLUGIN_DIR) + "/cluster-seeds.so";
  Options beacon = fast();
  beacon.discovery = "multicast, seeds";
  auto pa = net.plugins_for("127.0.0.1");
  const IniFile none = IniFile::parse("[seeds]\nseeds = 127.0.0.1:1\n", "a.ini");
  pa->load(seeds_so, none.section("seeds"));
  auto a = Cluster::join(beacon, pa, loop);
  const int a_port = proto_of("127.0.0.1", "t")->address();

  Options quiet = fast();
  quiet.discovery = "seeds";
  quiet.protocols = {"t", "c"};  // c listed, no beacon: nothing of ours goes on the group
  auto px = net.plugins_for("127.0.0.2");
  const IniFile seed = IniFile::parse("[seeds]\nseeds = 127.0.0.1:" + std::to_string(a_port) + "\n", "x.ini");
  px->load(seeds_so, seed.section("seeds"));
  auto x = Cluster::join(quiet, px, loop);
  ASSERT_TRUE(run_until([&] { return knows(*a, *x) && knows(*x, *a); }));
  run_until([] { return false; }, 1500ms);  // three ttls
  EXPECT_TRUE(knows(*a, *x)) << "the beacon member expired the member that runs seeds only";
  EXPECT_TRUE(knows(*x, *a));
}

}  // namespace
}  // namespace cluster::test

namespace cluster::test {
namespace {

// Two multicast segments joined by seeds: a broadcast query goes over the group to members on
// our segment and directly to the one beyond it (it would never see the multicast), and an
// event to it never falls back to the group.
TEST_F(Membership, ABroadcastQueryReachesAMemberBeyondOurSegment) {
  const std::string seeds_so = std::string(CLUSTER_HOOK_PLUGIN_DIR) + "/cluster-seeds.so";
  net.segment["10.0.0.2"] = 1;
  Options o = fast();
  o.discovery = "multicast, seeds";
  o.remote = 1;
  auto pa = net.plugins_for("10.0.0.1");
  const IniFile none = IniFile::parse("[seeds]\nseeds = 10.0.0.1:1\n", "a.ini");
  pa->load(seeds_so, none.section("seeds"));
  auto a = Cluster::join(o, pa, loop);
  const int a_port = proto_of("10.0.0.1", "t")->address();
  auto pb = net.plugins_for("10.0.0.2");
  const IniFile seed = IniFile::parse("[seeds]\nseeds = 10.0.0.1:" + std::to_string(a_port) + "\n", "b.ini");
  pb->load(seeds_so, seed.section("seeds"));
  auto b = Cluster::join(o, pb, loop);
  ASSERT_TRUE(run_until([&] { return knows(*a, *b) && knows(*b, *a); }));
  EXPECT_NE(a->resolve({b->sid()})[0]->info().found_by, "multicast");
  b->hook(HookPoint::query, "answer", [](HookContext& ctx) {
    ctx.answer = "from b";
    return Verdict::modified;
  });
  QueryOptions q;
  q.resolve = {b->sid()};
  q.query = "hello";
  q.broadcast = true;
  q.collect = true;
  q.timeout = 1s;
  auto running = a->query(q);
  ASSERT_TRUE(run_until([&] { return running->done(); }, 2s));
  EXPECT_FALSE(running->timed_out()) << "the broadcast query went only to the group";
  ASSERT_EQ(running->results().size(), 1u);
  EXPECT_EQ(running->results().begin()->second.data, "from b");
}

}  // namespace
}  // namespace cluster::test

namespace cluster::test {
namespace {

// A [seeds] protocol we do not run (or a multicast one) fails the join with what we do run,
// instead of failing every contact forever.
TEST_F(Membership, ASeedsProtocolWeDoNotRunFailsTheJoin) {
  Options o = fast();
  o.discovery = "seeds";
  o.protocols = {"t", "c"};
  for (const char* protocol : {"x", "c"}) {
    auto pm = net.plugins_for("127.0.0.1");
    const IniFile ini =
        IniFile::parse(std::string("[seeds]\nseeds = 127.0.0.9:1\nprotocol = ") + protocol + "\n", "node.ini");
    pm->load(std::string(CLUSTER_HOOK_PLUGIN_DIR) + "/cluster-seeds.so", ini.section("seeds"));
    try {
      auto a = Cluster::join(o, pm, loop);
      ADD_FAILURE() << "joined with [seeds] protocol = " << protocol;
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("[seeds] protocol = '") + protocol +
                                           "' is not a direct protocol of ours (we run: t)"),
                std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace cluster::test
