// What SDK 1.4 gives a failure detector (sdk/failure_detector.hpp): its own packet type routed
// to message() (only on plugins built against 1.4), send_via() over one protocol without
// fallback, an advertised props entry, the built-in ttl detector to delegate to, and counters.
#include <gtest/gtest.h>

#include <algorithm>

#include "cluster/bpacket/payload_codec.hpp"
#include "cluster/sdk/failure_detector.hpp"
#include "membership_fixture.hpp"

namespace cluster::test {
namespace {

// Records what reaches it and hands membership to the built-in ttl detector.
struct Recorder final : sdk::FailureDetector {
  explicit Recorder(sdk::FailureDetectorHost& h) : host(h), ttl(h.builtin("ttl")) {}
  sdk::FailureDetectorHost& host;
  std::unique_ptr<sdk::FailureDetector> ttl;
  std::vector<std::string> messages;  // "uuid op raw"
  int n_unreachable = 0;
  sdk::Result start() noexcept override { return ttl->start(); }
  void added(const ServiceInfo& m) noexcept override { ttl->added(m); }
  void heard(const ServiceInfo& m) noexcept override { ttl->heard(m); }
  void unreachable(const ServiceInfo& m) noexcept override {
    ++n_unreachable;
    ttl->unreachable(m);
  }
  void received(const ServiceInfo& f, const Payload& p) noexcept override { ttl->received(f, p); }
  void removed(const ServiceInfo& m) noexcept override { ttl->removed(m); }
  void stop() noexcept override { ttl->stop(); }
  void message(const ServiceInfo& from, const Payload& p) noexcept override {
    // A message may get its own sender declared dead: `from` must stay valid after that.
    if (p.raw.value_or("") == "kill-sender") host.declare(from.uuid, sdk::Liveness::dead, "swim: test");
    messages.push_back(from.uuid + " " + p.op.value_or("") + " " + p.raw.value_or(""));
  }
};

class DetectorHost : public Membership {
 protected:
  std::vector<Recorder*> made;
  std::shared_ptr<PluginManager> plugins(const std::string& ip) {
    auto pm = net.plugins_for(ip);
    pm->add_failure_detector("recorder", [this](sdk::FailureDetectorHost& h) {
      auto d = std::make_unique<Recorder>(h);
      made.push_back(d.get());
      return d;
    });
    return pm;
  }
  Options options() {
    Options o = fast();
    o.failure_detector = "recorder";
    return o;
  }
  Payload probe(const std::string& raw) {
    Payload p = made[0]->host.packet(PayloadType::detector);
    p.op = std::string("ping");
    p.raw = raw;
    return p;
  }
};

TEST_F(DetectorHost, SendViaReachesTheMembersDetectorOverOneProtocolOnly) {
  auto a = Cluster::join(options(), plugins("127.0.0.1"), loop);
  auto b = Cluster::join(options(), plugins("127.0.0.2"), loop);
  ASSERT_TRUE(run_until([&] { return knows(*a, *b) && knows(*b, *a) && !b->resolve({a->sid()})[0]->info().props.empty(); }));
  sdk::Result r = sdk::Result::success();
  loop.call([&] {
    Payload p = probe("1 7");
    r = made[0]->host.send_via(b->uuid(), "t", p);
  });
  ASSERT_TRUE(r) << r.message();
  ASSERT_TRUE(run_until([&] { return !made[1]->messages.empty(); }));
  EXPECT_EQ(made[1]->messages, std::vector<std::string>{a->uuid() + " ping 1 7"});

  // No fallback to "c", no failure report, no unreachable(): the detector's probe just fails.
  const Counters before = a->counters();
  net.broken.insert("127.0.0.2/t");
  loop.call([&] {
    Payload p = probe("1 8");
    r = made[0]->host.send_via(b->uuid(), "t", p);
  });
  EXPECT_FALSE(r);
  run_until([] { return false; }, 50ms);
  EXPECT_EQ(made[1]->messages.size(), 1u);
  EXPECT_EQ(made[0]->n_unreachable, 0);
  EXPECT_EQ(a->counters().send_failures, before.send_failures);
  EXPECT_EQ(a->counters().unreachable, before.unreachable);

  loop.call([&] {
    Payload p = probe("x");
    r = made[0]->host.send_via(b->uuid(), "c", p);
    EXPECT_FALSE(r);
    EXPECT_NE(r.message().find("multicast"), std::string::npos) << r.message();
    r = made[0]->host.send_via(b->uuid(), "u", p);
    EXPECT_FALSE(r);
    EXPECT_NE(r.message().find("not one of our protocols"), std::string::npos) << r.message();
    r = made[0]->host.send_via("nobody@nowhere", "t", p);
    EXPECT_FALSE(r);
    EXPECT_NE(r.message().find("unknown member"), std::string::npos) << r.message();
  });
}

TEST_F(DetectorHost, AdvertisedEntryRidesInOurPropsAndProtocolKeysAreRefused) {
  auto a = Cluster::join(options(), plugins("127.0.0.1"), loop);
  auto b = Cluster::join(options(), plugins("127.0.0.2"), loop);
  ASSERT_TRUE(run_until([&] { return knows(*a, *b) && knows(*b, *a); }));
  sdk::Result r = sdk::Result::success();
  loop.call([&] { r = made[0]->host.advertise("swim", Dict{{"v", "1"}}); });
  ASSERT_TRUE(r) << r.message();
  // Announced at once (a changed record), not at the next periodic heartbeat.
  ASSERT_TRUE(run_until([&] { return b->resolve({a->sid()})[0]->info().prop("swim", "v") == "1"; }, 80ms));
  loop.call([&] {
    r = made[0]->host.advertise("t", Dict{{"v", "1"}});
    EXPECT_FALSE(r);
    EXPECT_NE(r.message().find("protocol"), std::string::npos) << r.message();
    r = made[0]->host.advertise("two words", Dict{{"v", "1"}});
    EXPECT_FALSE(r);
    r = made[0]->host.advertise("swim", Dict{});  // withdrawn from what we send from now on
    EXPECT_TRUE(r);
    EXPECT_EQ(made[0]->host.packet(PayloadType::heartbeat, sdk::Record::full).data->find("swim"), std::string::npos);
  });
}

TEST_F(DetectorHost, BuiltinTtlDeclaresThroughTheHostAndCountersAreShown) {
  auto a = Cluster::join(options(), plugins("127.0.0.1"), loop);
  auto b = Cluster::join(options(), plugins("127.0.0.2"), loop);
  ASSERT_TRUE(run_until([&] { return knows(*a, *b); }));
  loop.call([&] {
    EXPECT_EQ(made[0]->host.builtin("nope"), nullptr);
    made[0]->host.health(3);
    made[0]->host.count(sdk::PolicyCounter::probe_sent);
    made[0]->host.count(sdk::PolicyCounter::refutation);
  });
  EXPECT_EQ(a->counters().detector_health, 3u);
  EXPECT_EQ(a->counters().probes_sent, 1u);
  EXPECT_EQ(a->counters().refutations, 1u);
  net.muted.insert("127.0.0.2");  // silent: the delegated ttl rule expires it
  EXPECT_TRUE(run_until([&] { return !knows(*a, *b); }, 2s));
}

// A member a detector declared dead may be alive (a pause, a wrong verdict): its tags and props
// are kept for its return, and when its first packet back is a detector probe (it carries no
// record), the discovery asks for the record rather than waiting for its next heartbeat.
TEST_F(DetectorHost, AMemberDeclaredDeadComesBackThroughAProbeWithItsProps) {
  Options slow = options();
  slow.heartbeat = 10s;  // no heartbeat of b's brings its record back in this test
  slow.ttl = 60s;
  auto a = Cluster::join(slow, plugins("127.0.0.1"), loop);
  auto b = Cluster::join(slow, plugins("127.0.0.2"), loop);
  ASSERT_TRUE(run_until([&] { return knows(*a, *b) && knows(*b, *a) && !b->resolve({a->sid()})[0]->info().props.empty() &&
                                     !a->resolve({b->sid()})[0]->info().props.empty(); }));
  const std::string port = a->resolve({b->sid()})[0]->info().prop("t", "port");
  ASSERT_FALSE(port.empty());
  loop.call([&] { made[0]->host.declare(b->uuid(), sdk::Liveness::dead, "swim: test"); });
  ASSERT_TRUE(run_until([&] { return !knows(*a, *b); }));
  const auto asks = a->counters().asks_sent;
  loop.call([&] {
    Payload p = made[1]->host.packet(PayloadType::detector);
    p.op = std::string("ping");
    p.raw = std::string("1");
    made[1]->host.send_via(a->uuid(), "t", p);
  });
  ASSERT_TRUE(run_until([&] { return knows(*a, *b); }));
  EXPECT_EQ(a->resolve({b->sid()})[0]->info().prop("t", "port"), port) << "its props were not kept";
  EXPECT_TRUE(run_until([&] { return a->counters().asks_sent > asks; }, 500ms)) << "nobody asked for its record";
}

// A detector's message() may declare the sender dead (forged gossip about it, say): the member
// is removed at once, and the `from` it was given must stay valid (ASan catches a dangling one).
TEST_F(DetectorHost, TheSenderOfAMessageMayBeRemovedWhileItIsHandled) {
  auto a = Cluster::join(options(), plugins("127.0.0.1"), loop);
  auto b = Cluster::join(options(), plugins("127.0.0.2"), loop);
  ASSERT_TRUE(run_until([&] { return knows(*a, *b) && knows(*b, *a) && !b->resolve({a->sid()})[0]->info().props.empty(); }));
  loop.call([&] {
    Payload p = made[0]->host.packet(PayloadType::detector);
    p.op = std::string("gossip");
    p.raw = std::string("kill-sender");
    made[0]->host.send_via(b->uuid(), "t", p);
  });
  ASSERT_TRUE(run_until([&] { return !made[1]->messages.empty(); }));
  EXPECT_EQ(made[1]->messages.back(), a->uuid() + " gossip kill-sender");
  EXPECT_FALSE(knows(*b, *a));
}

// Type 9 reaches message() only on detectors built against SDK 1.4 (a 1.3 plugin's vtable has
// no such slot); for the others it is ignored like any unknown type.
TEST_F(Membership, DetectorMessageReachesOnlyDetectorsBuiltAgainstSdk14) {
  std::vector<std::string> lines;
  auto join = [&](const std::string& ip, const char* name) {
    Options o = fast();
    o.failure_detector = name;
    o.log_sink = [&](sdk::LogLevel, std::string_view m) {
      if (m.find(" message from ") != std::string_view::npos) lines.emplace_back(m);
    };
    auto pm = net.plugins_for(ip);
    for (const char* f : {"detector_1_3", "detector_1_4"})
      pm->load(std::string(CLUSTER_FIXTURE_PLUGIN_DIR) + "/cluster-fixture-" + f + ".so", nullptr);
    return Cluster::join(o, pm, loop);
  };
  auto a = join("127.0.0.1", "detector13");
  auto b = join("127.0.0.2", "detector14");
  ASSERT_TRUE(run_until([&] { return knows(*a, *b) && knows(*b, *a); }));
  auto send = [&](const Cluster& from, const std::string& to_ip) {
    Payload p;
    p.sid = from.sid();
    p.hid = from.hid();
    p.type = static_cast<std::uint64_t>(PayloadType::detector);
    p.channel = 0;
    p.protocols = StringList{"t", "c"};
    p.op = std::string("ping");
    p.raw = std::string("1 1");
    std::string bytes;
    bpacket::encode_payload(p, bytes);
    loop.call([&] { proto_of(to_ip, "t")->deliver(bytes, from.uuid() == a->uuid() ? "127.0.0.1" : "127.0.0.2", 0); });
  };
  send(*b, "127.0.0.1");  // to the 1.3 detector: nothing
  send(*a, "127.0.0.2");  // to the 1.4 one
  ASSERT_TRUE(run_until([&] { return !lines.empty(); }));
  run_until([] { return false; }, 50ms);
  EXPECT_EQ(lines, std::vector<std::string>{"detector14 message from " + a->uuid() + " op ping"});
}

}  // namespace
}  // namespace cluster::test
