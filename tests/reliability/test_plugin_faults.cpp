// Plugin faults: a plugin that is missing, one whose init fails, one whose send throws.
//
// What is documented (docs/plugin-guide.md, docs/cli.md): Cluster::join(NodeConfig) treats
// every plugin named in [plugins] load as required, so a missing or refusing plugin is a
// configuration error (a PluginError naming the file and the reason; clusterd exits 78). A
// host that embeds the library and wants to go on without a broken plugin loads the plugins
// itself with PluginManager, catches each PluginError and joins with the protocols it has
// (cluster_probe --skip-failed-plugins does exactly that). A protocol whose send fails is
// skipped for the peer's next protocol. An exception must not leave a plugin's noexcept
// methods: if it does, std::terminate ends that process (and only that one).
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "harness.hpp"

namespace rel {
namespace {

const std::string kFixtures = CLUSTER_FIXTURE_PLUGIN_DIR;
const std::string kInitFails = kFixtures + "/cluster-fixture-init_fails.so";
const std::string kSendThrows = kFixtures + "/cluster-fixture-send_throws.so";

class PluginFaults : public ReliabilityTest {
 protected:
  /// Starts a member whose join must fail; returns its stderr once it exited.
  std::string failed_join(const std::string& name, MemberOptions o, int& status) {
    Member& m = spawn(name, std::move(o));
    m.expect_failure = true;
    EXPECT_TRUE(m.proc->wait_exit(scaled(milliseconds(10000)))) << name << " did not exit";
    status = m.proc->status();
    EXPECT_FALSE(m.proc->find_prefix("joined ").has_value()) << name << " joined";
    for (const char* marker : {"Sanitizer", "runtime error:"})
      EXPECT_EQ(stderr_count(m, marker), 0u) << name << "'s stderr mentions \"" << marker << "\"";
    std::ifstream err(dir_ + "/" + name + ".err");
    std::stringstream text;
    text << err.rdbuf();
    return text.str();
  }

  /// An event from `a` to `b`; returns b's "event" line ("" when none came).
  std::string event(Member& a, Member& b, const std::string& data) {
    const std::size_t from = b.proc->lines().size();
    EXPECT_EQ(a.proc->command("send " + b.sid + " " + data, {"sent "}), "sent 1") << a.name << " -> " << b.name;
    const auto ev = await_line(b, "event " + a.uuid + " ", scaled(milliseconds(3000)), from);
    return ev ? ev->text : std::string();
  }

  std::string query(Member& a, Member& b, const std::string& q) {
    return a.proc->command("query " + b.sid + " " + q + " 3000", {"answers ", "timeout ", "stuck "});
  }
};

bool exited_with(int status, int code) { return WIFEXITED(status) && WEXITSTATUS(status) == code; }

// The documented default: a plugin named in [plugins] load that is missing or refuses to
// initialise fails the join with a PluginError naming it; the process exits 1, it does not crash.
TEST_F(PluginFaults, MissingOrRefusingPluginIsAClearJoinError) {
  MemberOptions missing;
  missing.load = "udp-multicast tcp unix nosuch";
  int status = 0;
  std::string err = failed_join("missing", missing, status);
  EXPECT_TRUE(exited_with(status, 1)) << "wait status " << status;
  EXPECT_NE(err.find("cluster-nosuch.so: file missing"), std::string::npos) << err;

  MemberOptions refusing;
  refusing.load = "udp-multicast tcp unix " + kInitFails;
  err = failed_join("refusing", refusing, status);
  EXPECT_TRUE(exited_with(status, 1)) << "wait status " << status;
  EXPECT_NE(err.find(kInitFails + ": init failed: no licence"), std::string::npos) << err;
}

// A host that tolerates broken plugins keeps serving with the rest: H loads a missing plugin,
// one whose init fails and one whose send throws (caught at its boundary), and lists their
// protocols first. P runs the throwing transport too (so senders try it first both ways); N
// runs only the stock ones.
TEST_F(PluginFaults, HostKeepsServingWithTheRemainingPlugins) {
  MemberOptions oh;
  oh.load = "udp-multicast tcp unix nosuch " + kInitFails + " " + kSendThrows;
  oh.protocols = "fxsend fxinit u t c";
  oh.args = {"--skip-failed-plugins"};
  MemberOptions op;
  op.load = "udp-multicast tcp unix " + kSendThrows;
  op.protocols = "fxsend t c";
  Member& h = spawn("host", oh);
  Member& p = spawn("peer", op);
  Member& n = spawn("plain");
  std::vector<Member*> all{&h, &p, &n};
  ASSERT_TRUE(await_joined(all));
  EXPECT_TRUE(h.proc->find_prefix("plugin-failed nosuch plugin ").has_value());
  const auto nosuch = h.proc->find_prefix("plugin-failed nosuch ");
  ASSERT_TRUE(nosuch.has_value());
  EXPECT_NE(nosuch->text.find("cluster-nosuch.so: file missing"), std::string::npos) << nosuch->text;
  const auto init = h.proc->find_prefix("plugin-failed " + kInitFails + " ");
  ASSERT_TRUE(init.has_value());
  EXPECT_NE(init->text.find("init failed: no licence"), std::string::npos) << init->text;
  EXPECT_TRUE(h.proc->find_prefix("protocol-skipped fxinit").has_value());
  EXPECT_FALSE(h.proc->find_prefix("protocol-skipped fxsend").has_value());

  auto others = [&](Member* m) {
    std::set<std::string> s;
    for (Member* x : all)
      if (x != m) s.insert(x->uuid);
    return s;
  };
  ASSERT_TRUE(await_discovered(all, others, scaled(milliseconds(5000)))) << "no mesh";
  for (Member* m : all) ASSERT_EQ(m->proc->command("answer", {"answering"}), "answering");
  ASSERT_EQ(await_peer_prop(h, p, "fxsend", "fault"), "send");
  ASSERT_EQ(await_peer_prop(p, h, "fxsend", "fault"), "send");
  ASSERT_FALSE(await_peer_prop(h, p, "t", "port").empty());
  ASSERT_FALSE(await_peer_prop(p, h, "t", "port").empty());
  ASSERT_FALSE(await_peer_prop(h, n, "u", "path").empty());
  ASSERT_FALSE(await_peer_prop(n, h, "u", "path").empty());

  // Both ways between H and P: fxsend is tried first, fails, and t carries the packet.
  auto kh = counters(h);
  auto kp = counters(p);
  EXPECT_EQ(event(h, p, "h-to-p"), "event " + h.uuid + " t h-to-p");
  EXPECT_EQ(event(p, h, "p-to-h"), "event " + p.uuid + " t p-to-h");
  EXPECT_EQ(query(h, p, "hq"), "answers 1 " + p.uuid + "=" + p.sid + ":hq");
  EXPECT_EQ(query(p, h, "pq"), "answers 1 " + h.uuid + "=" + h.sid + ":pq");
  auto kh2 = counters(h);
  auto kp2 = counters(p);
  EXPECT_GE(kh2["send_failures"] - kh["send_failures"], 2u) << "H never tried the throwing transport";
  EXPECT_GE(kp2["send_failures"] - kp["send_failures"], 2u) << "P never tried the throwing transport";
  EXPECT_EQ(kh2["unreachable"], 0u);
  EXPECT_EQ(kp2["unreachable"], 0u);
  std::cout << "[ info     ] send failures over fxsend: host " << kh2["send_failures"] << ", peer "
            << kp2["send_failures"] << "; nobody unreachable\n";
  // H and the plain member: u, untouched by the broken plugins.
  EXPECT_EQ(event(h, n, "h-to-n"), "event " + h.uuid + " u h-to-n");
  EXPECT_EQ(event(n, h, "n-to-h"), "event " + n.uuid + " u n-to-h");
  EXPECT_EQ(query(n, h, "nq"), "answers 1 " + h.uuid + "=" + h.sid + ":nq");
  for (Member* m : all) EXPECT_EQ(m->count_prefix("lost "), 0u) << m->name;
  // TearDown: all three leave and exit 0, nothing from a sanitizer.
}

// The limit of the contract: a send() that lets an exception escape (the methods are noexcept)
// ends its process through std::terminate, at the first direct send over it. Here that is A's
// answer to B's discovery, the moment B (which runs the same transport) joins. The cluster goes
// on without A: the others expire it and keep talking.
TEST_F(PluginFaults, ExceptionEscapingSendEndsOnlyThatMember) {
  MemberOptions oa;
  oa.load = "udp-multicast tcp unix " + kSendThrows;
  oa.protocols = "fxsend u t c";
  oa.extra_ini = "\n[send_throws]\nmode = escape\n";
  MemberOptions ob = oa;
  ob.extra_ini.clear();  // catches
  Member& a = spawn("escaping", oa);
  Member& c = spawn("plain");
  a.expect_failure = true;
  ASSERT_TRUE(await_joined({&a, &c}));
  ASSERT_TRUE(await_discovered({&a, &c}, [&](Member* m) { return std::set<std::string>{m == &a ? c.uuid : a.uuid}; },
                               scaled(milliseconds(5000))))
      << "no mesh";
  // A and C talk directly (C does not run fxsend): A is fine so far.
  ASSERT_EQ(c.proc->command("answer", {"answering"}), "answering");
  ASSERT_EQ(a.proc->command("query " + c.sid + " before 3000", {"answers ", "timeout ", "stuck "}),
            "answers 1 " + c.uuid + "=" + c.sid + ":before");
  ASSERT_TRUE(a.proc->alive());

  const auto t_join = Clock::now();
  Member& b = spawn("catching", ob);
  ASSERT_TRUE(a.proc->wait_exit(scaled(milliseconds(5000)))) << "the escaping member did not die";
  const int st = a.proc->status();
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT) << "expected std::terminate (SIGABRT), wait status " << st;
  EXPECT_GE(stderr_count(a, "terminate called"), 1u) << "no std::terminate message";
  EXPECT_GE(stderr_count(a, "fxsend: injected fault sending to "), 1u);
  std::cout << "[ info     ] the escaping member died " << ms_between(t_join, Clock::now())
            << " ms after a member running the same transport was started (wait status " << st << ")\n";

  // The others go on: B and C meet, C expires A within its ttl, B and C answer each other.
  ASSERT_TRUE(await_joined({&b}));
  ASSERT_TRUE(await_discovered({&b, &c}, [&](Member* m) { return std::set<std::string>{m == &b ? c.uuid : b.uuid}; },
                               scaled(milliseconds(5000))));
  ASSERT_EQ(b.proc->command("answer", {"answering"}), "answering");
  const MemberOptions o;
  const auto lost = await_line(c, "lost " + a.uuid + " ", o.ttl + o.heartbeat * 2 + scaled(milliseconds(2000)));
  EXPECT_TRUE(lost.has_value()) << "c did not notice the dead member";
  EXPECT_EQ(query(b, c, "still"), "answers 1 " + c.uuid + "=" + c.sid + ":still");
  EXPECT_EQ(query(c, b, "here"), "answers 1 " + b.uuid + "=" + b.sid + ":here");
  EXPECT_EQ(event(c, b, "on"), "event " + c.uuid + " u on");
}

}  // namespace
}  // namespace rel
