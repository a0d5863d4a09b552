// The swim failure detector on lossy, slow links (docs/failure-detection.md): one member per
// host, frames dropped at random and delayed 50 +- 20 ms by the hub (network.hpp). Heartbeats
// stay slow (1 s, ttl 10 s: ten in a row lost is 1e-7 at 20 %) so only swim can notice a crash
// within seconds; swim must do so without declaring a live member lost.
//
// Fast (CI): 5 members at 20 % loss for 60 s: no false lost, a member paused (SIGSTOP) for 1.5 s
// is suspected, refutes and is not lost, a killed one is lost at every survivor. Full
// (CLUSTER_RELIABILITY_FULL=1): 20 members at 0, 10, 20 and 30 % loss, 10 minutes each. The
// comparison with Serf and the detection-time percentiles are tests/bench/failure_compare's.
#include <signal.h>

#include <algorithm>
#include <iostream>

#include "harness.hpp"

namespace rel {
namespace {

class FailureDetection : public ReliabilityTest {
 protected:
  void make_hosts(int n, double loss) {
    if (run_shell("command -v ip >/dev/null 2>&1") != 0) GTEST_SKIP() << "no 'ip' (iproute2)";
    Impairment imp;
    imp.loss = loss;
    imp.delay = milliseconds(50);
    imp.jitter = milliseconds(20);
    imp.hub = true;
    const std::string err = network().build(n, imp, seed_);
    if (!err.empty() && network().cannot_create()) GTEST_SKIP() << err;
    ASSERT_EQ(err, "") << "building the hosts failed";
    std::cout << "[ info     ] " << network().describe() << "\n";
  }

  Member& swim_member(std::size_t host, const std::string& detector = "swim") {
    MemberOptions o;
    o.remote = 1;
    o.interface = "eth0";
    o.wrapper = network().wrapper(host);
    o.heartbeat = milliseconds(1000);
    o.ttl = milliseconds(10000);
    o.protocols = "t c d";
    o.load = "udp-multicast tcp udp swim";
    o.tcp_connect_timeout_ms = 1000;
    o.cluster_ini = "failure_detector = " + detector + "\n";
    return spawn("h" + std::to_string(host), o);
  }

  /// For await_discovered: each member of `ms` should know all the others.
  static std::function<std::set<std::string>(Member*)> everyone_else(const std::vector<Member*>& ms) {
    return [ms](Member* m) {
      std::set<std::string> out;
      for (Member* o : ms)
        if (o != m) out.insert(o->uuid);
      return out;
    };
  }

  /// "lost <uuid> <reason>" lines of `m` from line `from` on, as uuid -> reason.
  static std::map<std::string, std::string> losses(const Member& m, std::size_t from = 0) {
    std::map<std::string, std::string> out;
    const auto& lines = m.proc->lines();
    for (std::size_t i = from; i < lines.size(); ++i) {
      const auto w = words(lines[i].text);
      if (w.size() >= 2 && w[0] == "lost") out.emplace(w[1], lines[i].text);
    }
    return out;
  }

  /// Runs `n` members at `loss` for `steady`; pauses one for 1.5 s in the middle (fast mode
  /// only checks it is suspected and not lost), then kills one and waits for every survivor
  /// to report it.
  void run(int n, double loss, milliseconds steady) {
    ASSERT_NO_FATAL_FAILURE(make_hosts(n, loss));
    std::vector<Member*> ms;
    for (int h = 0; h < n; ++h) ms.push_back(&swim_member(static_cast<std::size_t>(h)));
    ASSERT_TRUE(await_joined(ms));
    ASSERT_TRUE(await_discovered(ms, everyone_else(ms), scaled(milliseconds(30000))))
        << "the members did not all discover each other";
    // Every member learns the others speak swim (their props) before the clock starts.
    for (Member* m : ms)
      for (Member* o : ms)
        if (o != m) {
          ASSERT_EQ(await_peer_prop(*m, *o, "swim", "v", scaled(milliseconds(10000))), "1") << m->name;
        }

    const auto start = Clock::now();
    std::vector<std::size_t> from;
    for (Member* m : ms) from.push_back(m->proc->lines().size());

    // A pause of 1.5 s, half-way: Lifeguard's case of a member that is slow, not dead.
    Member& paused = *ms[1];
    wait_until(procs(ms), [] { return false; }, start + steady / 2);
    auto before = counters(paused);
    paused.proc->signal(SIGSTOP);
    wait_until(procs(ms), [] { return false; }, Clock::now() + milliseconds(1500));
    paused.proc->signal(SIGCONT);
    wait_until(procs(ms), [] { return false; }, start + steady);

    unsigned long long suspicions = 0;
    for (Member* m : ms)
      if (m != &paused) suspicions += counters(*m)["suspicions"];
    auto after = counters(paused);
    std::cout << "[ swim     ] " << n << " members, " << loss * 100 << " % loss, " << steady.count() / 1000
              << " s: suspicions by the others " << suspicions << ", refutations by the paused one "
              << after["refutations"] - before["refutations"] << ", probes_failed at it "
              << after["probes_failed"] << "\n";
    for (std::size_t i = 0; i < ms.size(); ++i)
      EXPECT_EQ(losses(*ms[i], from[i]), (std::map<std::string, std::string>{}))
          << ms[i]->name << " lost a live member (" << loss * 100 << " % loss)";
    EXPECT_GT(suspicions, 0u) << "nobody suspected the paused member";
    EXPECT_GT(after["refutations"], before["refutations"]) << "the paused member did not refute";

    // kill -9: every survivor reports it, through swim (the ttl is 10 s).
    Member& victim = *ms[2];
    for (std::size_t i = 0; i < ms.size(); ++i) from[i] = ms[i]->proc->lines().size();
    const auto killed_at = Clock::now();
    victim.proc->kill9();
    long long slowest = 0;
    for (std::size_t i = 0; i < ms.size(); ++i) {
      if (ms[i] == &victim) continue;
      const auto line = await_line(*ms[i], "lost " + victim.uuid, scaled(milliseconds(9000)), from[i]);
      ASSERT_TRUE(line.has_value()) << ms[i]->name << " did not report the killed member within 9 s";
      EXPECT_NE(line->text.find("swim"), std::string::npos) << "not swim's verdict: " << line->text;
      slowest = std::max(slowest, ms_between(killed_at, line->at));
    }
    std::cout << "[ swim     ] kill -9 reported by all " << ms.size() - 1 << " survivors after " << slowest << " ms\n";
    victim.expect_failure = true;
  }
};

TEST_F(FailureDetection, SwimDoesNotFlapUnderLossAndNoticesACrash) {
  if (full_mode()) {
    for (double loss : {0.0, 0.10, 0.20, 0.30}) {
      ASSERT_NO_FATAL_FAILURE(run(20, loss, milliseconds(600000)));
      quit_all_and_check();
      members_.clear();
      network_.reset();
    }
  } else {
    run(5, 0.20, milliseconds(60000));
  }
}

// A member on the default ttl detector among swim members: they keep it under the ttl rule
// (it advertises no swim), it never gets a swim packet, and nobody loses anybody.
TEST_F(FailureDetection, TtlMembersAmongSwimMembersStayUnderTheTtlRule) {
  ASSERT_NO_FATAL_FAILURE(make_hosts(3, 0.0));
  std::vector<Member*> ms{&swim_member(0), &swim_member(1), &swim_member(2, "ttl")};
  ASSERT_TRUE(await_joined(ms));
  ASSERT_TRUE(await_discovered(ms, everyone_else(ms), scaled(milliseconds(20000))));
  wait_until(procs(ms), [] { return false; }, Clock::now() + milliseconds(5000));
  for (Member* m : ms) EXPECT_EQ(losses(*m), (std::map<std::string, std::string>{})) << m->name;
  EXPECT_GT(counters(*ms[0])["probes_sent"], 0u) << "the swim members do not probe each other";
  EXPECT_EQ(counters(*ms[2])["probes_sent"], 0u);
  // Killed, the ttl member is lost by the ttl rule (10 s), not by swim.
  const std::size_t from = ms[0]->proc->lines().size();
  ms[2]->proc->kill9();
  ms[2]->expect_failure = true;
  const auto line = await_line(*ms[0], "lost " + ms[2]->uuid, scaled(milliseconds(16000)), from);
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(line->text.find("swim"), std::string::npos) << line->text;
}

}  // namespace
}  // namespace rel
