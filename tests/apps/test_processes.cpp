// clusterd and clusterctl as processes over the real plugins, inside a private network
// namespace (ctest runs this suite through tests/plugins/netns-run).
#include <sys/stat.h>

#include <csignal>
#include <fstream>
#include <iterator>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include "daemon_fixture.hpp"
#include "netns.hpp"

using namespace clusterapp;
using namespace clusterapp::test;
using namespace std::chrono_literals;

namespace {

class Processes : public DaemonFixture {
 protected:
  void SetUp() override {
    if (!test_support::in_loopback_only_netns()) GTEST_SKIP() << "needs a private network namespace: run through tests/plugins/netns-run";
    DaemonFixture::SetUp();
  }
  /// Two daemons that know each other: a {alpha common}, b {beta common}.
  void pair() {
    pa = daemon(node("a", "alpha common"));
    pb = daemon(node("b", "beta common"));
    ua = ready(sock("a"));
    ub = ready(sock("b"));
    ASSERT_FALSE(ua.empty()) << pa->err();
    ASSERT_FALSE(ub.empty()) << pb->err();
    ASSERT_TRUE(eventually([&] { return members(sock("a")) == std::vector<std::string>{ub}; }));
    ASSERT_TRUE(eventually([&] { return members(sock("b")) == std::vector<std::string>{ua}; }));
  }
  std::unique_ptr<Process> pa, pb;
  std::string ua, ub;
};

}  // namespace

TEST_F(Processes, MembersSendQueryAndTags) {
  pair();
  Ran r = ctl({"--socket", sock("a"), "members"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("\n" + ub + "  127.0.0.1  multicast  yes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("beta common"), std::string::npos) << r.out;

  r = ctl({"--socket", sock("a"), "send", "--resolve", "beta", "--data", "hello"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "reached 1 of 1 member\n");
  r = ctl({"--socket", sock("a"), "send", "--resolve", "nobody", "--data", "hello"});
  EXPECT_EQ(r.rc, 1);

  r = ctl({"--socket", sock("a"), "query", "--resolve", "beta", "--query", "get role", "--timeout", "3000"});
  if (have_kv()) {
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.out, ub + " response b\n");
  } else {
    EXPECT_EQ(r.rc, 1);
    EXPECT_EQ(r.out, ub + " error no query handler\n");
  }

  r = ctl({"--socket", sock("a"), "tags", "add", "gamma"});
  EXPECT_EQ(r.out, "alpha common gamma\n");
  EXPECT_TRUE(eventually([&] {
    Ran q = ctl({"--socket", sock("b"), "members", "--json"});
    return q.out.find(R"("tags":["alpha","common","gamma"])") != std::string::npos;
  }));
  r = ctl({"--socket", sock("a"), "channel", "join", "40"});
  EXPECT_EQ(r.out, "0 1 2 40\n");
}

// A hook-set plugin that is loaded but not attached does nothing: the join says so, with the
// fix. And [logging] level alone lets the library's info messages into clusterd's log.
TEST_F(Processes, IdleHookSetPluginIsWarnedAboutAndLibraryMessagesFollowTheLoggingLevel) {
  const std::string f = write("idle.ini", "[cluster]\nheartbeat = 200ms\nttl = 2s\nport = " + std::to_string(port) +
                                              "\nprotocols = t c\n[plugins]\nload = udp-multicast tcp log\n"
                                              "[control]\nsocket = " + sock("idle") + "\n[logging]\nfile = " +
                                              (dir / "idle.log") + "\n");
  auto p = daemon(f);
  ASSERT_FALSE(ready(sock("idle")).empty()) << p->err();
  const std::string log = read_file(dir / "idle.log");
  EXPECT_NE(log.find("Warning clusterd: plugin 'log' (" + plugin_dir() + "/cluster-log.so) is loaded but does nothing: "
                     "its hook set 'log' is not attached. Add it to [plugins] hooks in " + f +
                     " (hooks = log), or remove the plugin from [plugins] load"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("Information clusterd: [t] tcp: listening on "), std::string::npos) << log;
}

TEST_F(Processes, JoinModeQueriesTheDaemonsAndLeaves) {
  pair();
  const std::string ctl_ini = node("ctl", "operator", "", false, false);
  Ran r = ctl({"--join", ctl_ini, "--settle", "1000", "query", "--resolve", "common", "--query", "get role", "--json"});
  JsonPtr o = parse_object(r.out);
  JsonArrayPtr results = o->getArray("results");
  ASSERT_EQ(results->size(), 2u) << r.out << r.err;
  std::map<std::string, std::pair<std::string, std::string>> by;
  for (unsigned i = 0; i < 2; ++i) {
    JsonPtr x = results->getObject(i);
    by[x->getValue<std::string>("uuid")] = {x->getValue<std::string>("event"), x->getValue<std::string>("data")};
  }
  if (have_kv()) {
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(by[ua], std::make_pair(std::string("response"), std::string("a")));
    EXPECT_EQ(by[ub], std::make_pair(std::string("response"), std::string("b")));
  } else {
    EXPECT_EQ(r.rc, 1);
    EXPECT_EQ(by[ua], std::make_pair(std::string("error"), std::string("no query handler")));
  }
  EXPECT_FALSE(o->getValue<bool>("timed_out"));
  // It left gracefully: the daemons drop it at once (reason "left"), not after the ttl.
  EXPECT_TRUE(eventually([&] { return members(sock("a")).size() == 1; }, 1500ms));
  EXPECT_NE(read_file(dir / "a.log").find(" (left) ip 127.0.0.1 tags {operator}"), std::string::npos) << read_file(dir / "a.log");

  r = ctl({"--join", ctl_ini, "--settle", "800", "members", "--json"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find(ua), std::string::npos);
  EXPECT_NE(r.out.find(ub), std::string::npos);
}

TEST_F(Processes, WatchStreamsUntilInterrupted) {
  pair();
  Process w({CLUSTERCTL_BIN, "--socket", sock("b"), "watch", "--json"}, env(), dir / "w.out", dir / "w.err");
  ASSERT_TRUE(eventually([&] {
    ctl({"--socket", sock("a"), "send", "--resolve", "beta", "--data", "probe"});
    std::this_thread::sleep_for(100ms);
    return w.out().find("\"data\":\"probe\"") != std::string::npos;
  }));
  ctl({"--socket", sock("a"), "tags", "replace", "renamed"});
  auto pc = daemon(node("c", "gamma"));
  const std::string uc = ready(sock("c"));
  ASSERT_TRUE(eventually([&] { return w.out().find(R"({"event":"discovered","uuid":")" + uc) != std::string::npos; }));
  pc->signal(SIGTERM);
  ASSERT_EQ(pc->wait(5000ms), 0);
  ASSERT_TRUE(eventually([&] { return w.out().find(R"({"event":"lost","uuid":")" + uc) != std::string::npos; }));
  EXPECT_NE(w.out().find(R"({"event":"tags","uuid":")" + ua + R"(","tags":["renamed"]})"), std::string::npos) << w.out();
  EXPECT_NE(w.out().find(R"({"event":"event","uuid":")" + ua + R"(","channel":0,"protocol":)"), std::string::npos);
  w.signal(SIGINT);
  EXPECT_EQ(w.wait(3000ms), 0) << w.err();

  // A reader that goes away (`watch | head -n 1`) ends the watch.
  Process head({"/bin/sh", "-c", std::string(CLUSTERCTL_BIN) + " --socket " + sock("b") + " watch | head -n 1"}, env(),
               dir / "h.out", dir / "h.err");
  EXPECT_TRUE(eventually([&] {
    ctl({"--socket", sock("a"), "send", "--resolve", "beta", "--data", "more"});
    return !head.running();
  }));
  EXPECT_EQ(head.out().rfind("event " + ua + " channel 0: ", 0), 0u) << head.out() << head.err();

  // A watcher of a daemon that stops: exit 3.
  Process w2({CLUSTERCTL_BIN, "--socket", sock("b"), "watch"}, env(), dir / "w2.out", dir / "w2.err");
  std::this_thread::sleep_for(300ms);
  pb->signal(SIGTERM);
  EXPECT_EQ(pb->wait(5000ms), 0);
  EXPECT_EQ(w2.wait(3000ms), 3);
  EXPECT_EQ(w2.err(), "clusterctl: the daemon closed the connection\n");
}

TEST_F(Processes, StopsGracefullyAndCleansUp) {
  pair();
  const std::string nested = dir / "run/sub/d.sock";
  const std::string conf = node("d", "delta", "[control]\nsocket = " + nested + "\n", false);
  auto pd = daemon(conf, {"--pidfile", dir / "d.pid"});
  const std::string ud = ready(nested);
  ASSERT_FALSE(ud.empty()) << pd->err();
  EXPECT_EQ(read_file(dir / "d.pid"), std::to_string(pd->pid()) + "\n");
  EXPECT_EQ(mode_of(nested), 0600u);
  EXPECT_EQ(mode_of(dir / "run"), 0700u);
  EXPECT_EQ(mode_of(dir / "run/sub"), 0700u);
  ASSERT_TRUE(eventually([&] { return members(sock("a")).size() == 2; }));

  pd->signal(SIGTERM);
  EXPECT_EQ(pd->wait(5000ms), 0) << pd->err();
  EXPECT_FALSE(exists(nested)) << "socket removed";
  EXPECT_FALSE(exists(dir / "d.pid")) << "pid file removed";
  // The others dropped it at once: it said goodbye.
  EXPECT_TRUE(eventually([&] { return members(sock("a")).size() == 1; }, 1000ms));
  const std::string log = read_file(dir / "d.log");
  EXPECT_NE(log.find("Information clusterd: joined as " + ud), std::string::npos) << log;
  EXPECT_NE(log.find("Information clusterd: discovered " + ua + " ip 127.0.0.1 tags {alpha common} local"), std::string::npos) << log;
  EXPECT_NE(log.find("clusterd: leaving"), std::string::npos);
  EXPECT_NE(read_file(dir / "a.log").find("clusterd: lost " + ud + " (left) ip 127.0.0.1 tags {delta}"), std::string::npos);

  // SIGINT works the same way.
  pb->signal(SIGINT);
  EXPECT_EQ(pb->wait(5000ms), 0);
  EXPECT_FALSE(exists(sock("b")));
}

TEST_F(Processes, DaemonModeWritesThePidAndDetaches) {
  const std::string conf = node("a", "alpha");
  Ran r = clusterd({"--daemon", "--pidfile", dir / "a.pid", "--config", conf});
  EXPECT_EQ(r.rc, 0) << r.err;
  ASSERT_TRUE(eventually([&] { return !read_file(dir / "a.pid").empty(); })) << read_file(dir / "a.log");
  const pid_t pid = static_cast<pid_t>(std::stoi(read_file(dir / "a.pid")));
  struct Reaper {  // the daemon is not our child: kill it by pid if the test fails midway
    pid_t pid;
    ~Reaper() { ::kill(pid, SIGKILL); }
  } reaper{pid};
  EXPECT_EQ(::kill(pid, 0), 0);
  EXPECT_EQ(mode_of(dir / "a.pid"), 0644u);
  EXPECT_FALSE(ready(sock("a")).empty()) << read_file(dir / "a.log");
  EXPECT_EQ(mode_of(sock("a")), 0600u);

  // A second daemon on the same socket fails before detaching.
  r = clusterd({"--daemon", "--config", conf});
  EXPECT_EQ(r.rc, 73);
  EXPECT_EQ(r.err, "clusterd: " + sock("a") + ": another daemon is serving this socket\n");

  ::kill(pid, SIGTERM);
  EXPECT_TRUE(eventually([&] { return ::kill(pid, 0) != 0; }, 5000ms));
  EXPECT_FALSE(exists(sock("a")));
  EXPECT_FALSE(exists(dir / "a.pid"));
  EXPECT_NE(read_file(dir / "a.log").find("clusterd: left"), std::string::npos);
}

TEST_F(Processes, BusySocketExits73AndAStaleOneIsReplaced) {
  const std::string conf = node("a", "alpha");
  auto first = daemon(conf);
  ASSERT_FALSE(ready(sock("a")).empty()) << first->err();
  Ran r = clusterd({"--config", conf});
  EXPECT_EQ(r.rc, 73);
  EXPECT_EQ(r.err, "clusterd: " + sock("a") + ": another daemon is serving this socket\n");
  EXPECT_FALSE(ready(sock("a")).empty()) << "the first one still serves";

  // Killed hard, the first leaves its socket file behind: the next daemon replaces it.
  first->signal(SIGKILL);
  first->wait(3000ms);
  ASSERT_TRUE(exists(sock("a")));
  auto second = daemon(conf);
  EXPECT_FALSE(ready(sock("a")).empty()) << second->err();
  second->signal(SIGTERM);
  EXPECT_EQ(second->wait(5000ms), 0);
}

TEST_F(Processes, SeveralDaemonsOnOneHost) {
  auto p1 = daemon(node("one", "x"));
  auto p2 = daemon(node("two", "x"));
  auto p3 = daemon(node("three", "x"));
  const std::string u1 = ready(sock("one"));
  ASSERT_FALSE(u1.empty());
  ASSERT_FALSE(ready(sock("two")).empty());
  ASSERT_FALSE(ready(sock("three")).empty());
  EXPECT_TRUE(eventually([&] { return members(sock("one")).size() == 2 && members(sock("three")).size() == 2; }));
  Ran r = ctl({"--socket", sock("two"), "send", "--resolve", "x", "--data", "all"});
  EXPECT_EQ(r.out, "reached 2 of 2 members\n");
}

// No usable multicast (a fresh namespace: lo down, no route): clusterd must not start and log
// "Network is unreachable" every heartbeat forever, but fail at join, exit 69 (docs/cli.md).
TEST_F(Processes, NoMulticastRouteFailsJoinWithExit69) {
  const std::string conf = node("a", "alpha");
  Ran r = run_process({"/usr/bin/unshare", "--net", CLUSTERD_BIN, "--config", conf}, env(), dir.path(), 10000ms);
  EXPECT_EQ(r.rc, 69) << r.err;
  EXPECT_NE(r.err.find("clusterd: cannot join: protocol 'c' failed to start: udp-multicast: cannot send to "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("Network is unreachable"), std::string::npos) << r.err;
  EXPECT_FALSE(exists(sock("a"))) << "the control socket is removed when the join fails";
}

// The keyring through the control socket: clusterctl keygen, keys list/install/use/remove on
// two daemons sealed with the encrypt plugin; each step keeps them talking, the refusals exit 1
// with the reason, and the keyring files follow.
TEST_F(Processes, KeysRotateThroughClusterctl) {
  Ran gen = ctl({"keygen"});
  ASSERT_EQ(gen.rc, 0) << gen.err;
  ASSERT_EQ(gen.out.size(), 45u) << gen.out;  // 44 base64 characters for 32 bytes, and a newline
  const std::string fresh = gen.out.substr(0, 44);
  const std::string first = "3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhs=";
  const auto sealed = [&](const std::string& name, const std::string& tags) {
    const std::string keyring = write(name + ".keyring", first + "\n");
    ::chmod(keyring.c_str(), 0600);
    return write(name + ".ini", "[cluster]\nheartbeat = 200ms\nttl = 2s\nport = " + std::to_string(port) +
                                    "\nprotocols = t c\ntags = " + tags + "\nsealer = encrypt\n"
                                    "[plugins]\nload = udp-multicast tcp encrypt\n"
                                    "[encrypt]\nkeyring = " + keyring + "\n"
                                    "[control]\nsocket = " + sock(name) + "\n");
  };
  pa = daemon(sealed("a", "alpha"));
  pb = daemon(sealed("b", "beta"));
  ua = ready(sock("a"));
  ub = ready(sock("b"));
  ASSERT_FALSE(ua.empty()) << pa->err();
  ASSERT_FALSE(ub.empty()) << pb->err();
  ASSERT_TRUE(eventually([&] { return members(sock("a")) == std::vector<std::string>{ub}; }));
  const auto keys = [&](const std::string& who, std::vector<std::string> args) {
    args.insert(args.begin(), {"--socket", sock(who), "keys"});
    return ctl(args);
  };
  Ran r = keys("a", {"--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto list = parse_object(r.out)->getArray("keys");
  ASSERT_EQ(list->size(), 1u);
  const std::string old_id = list->getObject(0)->getValue<std::string>("id");
  EXPECT_EQ(old_id.size(), 16u);
  for (const char* who : {"a", "b"}) {
    r = keys(who, {"install", fresh});
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.out.find(fresh), std::string::npos) << "a key was printed";
  }
  r = keys("a", {});
  const std::string new_id = r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1, 16);
  ASSERT_NE(new_id, old_id) << r.out;
  for (const char* who : {"a", "b"}) ASSERT_EQ(keys(who, {"use", new_id}).rc, 0);
  r = keys("a", {"remove", new_id});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("primary"), std::string::npos) << r.err;
  for (const char* who : {"a", "b"}) ASSERT_EQ(keys(who, {"remove", old_id}).rc, 0);
  r = keys("a", {});
  EXPECT_EQ(r.out.rfind(new_id + " primary opened ", 0), 0u) << r.out;
  EXPECT_EQ(r.out.find(old_id), std::string::npos) << r.out;
  std::ifstream file(dir / "a.keyring");
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find(fresh + "\n"), std::string::npos) << text;  // under a comment header
  EXPECT_EQ(text.find(first), std::string::npos) << text;
  // Still one cluster: a query goes through with the new key alone.
  r = ctl({"--socket", sock("a"), "query", "--resolve", "beta", "--query", "x", "--timeout", "3000"});
  EXPECT_NE(r.out.find(ub), std::string::npos) << r.out << r.err;
  EXPECT_EQ(members(sock("a")), std::vector<std::string>{ub});
  // A daemon without a sealer says so.
  auto pc = daemon(node("c", "gamma"));
  ASSERT_FALSE(ready(sock("c")).empty()) << pc->err();
  r = keys("c", {});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("no sealer"), std::string::npos) << r.err;
}

namespace {

/// GET http://127.0.0.1:port/path: the body ("" when it failed), the status in `status`.
std::string http_get(int port, const std::string& path, int* status = nullptr) {
  try {
    Poco::Net::HTTPClientSession s("127.0.0.1", static_cast<Poco::UInt16>(port));
    s.setTimeout(Poco::Timespan(3, 0));
    Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, path, Poco::Net::HTTPMessage::HTTP_1_1);
    s.sendRequest(req);
    Poco::Net::HTTPResponse res;
    std::istream& in = s.receiveResponse(res);
    if (status != nullptr) *status = static_cast<int>(res.getStatus());
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } catch (const Poco::Exception&) {
    return {};
  }
}

}  // namespace

// [metrics] listen on three daemons; Debian's prometheus scrapes them on loopback, and a PromQL
// query through its HTTP API sums what they report: each knows the two others. promtool finds
// the exposition clean.
TEST_F(Processes, PrometheusScrapesThreeMembers) {
  if (::access("/usr/bin/prometheus", X_OK) != 0 || ::access("/usr/bin/promtool", X_OK) != 0)
    GTEST_SKIP() << "prometheus is not installed (scripts/setup-deps installs it)";
  const int base = 19400 + static_cast<int>(::getpid() % 50) * 10;
  std::vector<std::unique_ptr<Process>> daemons;
  for (int i = 0; i < 3; ++i) {
    const std::string name = "m" + std::to_string(i);
    daemons.push_back(daemon(node(name, "metrics", "[metrics]\nlisten = 127.0.0.1:" + std::to_string(base + i) + "\n")));
  }
  for (std::size_t i = 0; i < 3; ++i) ASSERT_FALSE(ready(sock("m" + std::to_string(i))).empty()) << daemons[i]->err();
  ASSERT_TRUE(eventually([&] {
    for (int i = 0; i < 3; ++i)
      if (members(sock("m" + std::to_string(i))).size() != 2) return false;
    return true;
  }));
  int status = 0;
  const std::string text = http_get(base, "/metrics", &status);
  ASSERT_EQ(status, 200);
  EXPECT_NE(text.find("cluster_members{host=\"local\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cluster_discovered_total{how=\"multicast\"} 2\n"), std::string::npos) << text;
  http_get(base, "/nothing", &status);
  EXPECT_EQ(status, 404);
  const std::string scraped = write("scraped.txt", text);
  Ran check = run_process({"/bin/sh", "-c", "promtool check metrics < " + scraped}, env(), dir.path());
  EXPECT_EQ(check.rc, 0) << check.out << check.err;

  const int prom_port = base + 5;
  const std::string yml = write("prometheus.yml", "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: cluster\n"
                                                  "    static_configs:\n      - targets: ['127.0.0.1:" +
                                                      std::to_string(base) + "', '127.0.0.1:" + std::to_string(base + 1) +
                                                      "', '127.0.0.1:" + std::to_string(base + 2) + "']\n");
  auto prom = std::make_unique<Process>(
      std::vector<std::string>{"/usr/bin/prometheus", "--config.file=" + yml, "--storage.tsdb.path=" + (dir / "tsdb"),
                               "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
      env(), dir / "prom.out", dir / "prom.err");
  std::string answer;
  const bool summed = eventually(
      [&] {
        answer = http_get(prom_port, "/api/v1/query?query=sum(cluster_members)");
        return answer.find("\"value\":[") != std::string::npos && answer.find(",\"6\"]") != std::string::npos;
      },
      std::chrono::milliseconds(20000));
  EXPECT_TRUE(summed) << answer << "\n" << prom->err();
}

// A listen address another daemon holds stops clusterd with exit 73 (the socket is not shared
// through SO_REUSEPORT); [metrics] and [http] naming one address in two spellings get one
// server (two would split the connections between them, and half the requests would 404).
TEST_F(Processes, HttpPortInUseExits73AndOneAddressTwoSpellingsIsOneServer) {
  const std::string web = std::to_string(19500 + static_cast<int>(::getpid() % 50) * 2);
  auto first = daemon(node("a", "alpha", "[metrics]\nlisten = 127.0.0.1:" + web + "\n[http]\nlisten = localhost:" + web + "\n"));
  ASSERT_FALSE(ready(sock("a")).empty()) << first->err();
  for (int i = 0; i < 8; ++i) {
    int status = 0;
    http_get(std::stoi(web), "/metrics", &status);
    EXPECT_EQ(status, 200) << "request " << i;
    http_get(std::stoi(web), "/", &status);
    EXPECT_EQ(status, 200) << "request " << i;
  }
  Ran r = clusterd({"--config", node("b", "beta", "[metrics]\nlisten = 127.0.0.1:" + web + "\n")});
  EXPECT_EQ(r.rc, 73) << r.err;
  EXPECT_NE(r.err.find("listen = 127.0.0.1:" + web + ": "), std::string::npos) << r.err;
  first->signal(SIGTERM);
  EXPECT_EQ(first->wait(5000ms), 0);
}

// The HTTP endpoints are a module (apps/clusterd/http_module.hpp): an idle daemon with both off
// does not map it, nor Poco::Net (1.1 MiB resident); one with [metrics] on maps both.
TEST_F(Processes, TheHttpModuleIsMappedOnlyWhenAnEndpointIsOn) {
  const auto maps = [](const Process& p) { return read_file("/proc/" + std::to_string(p.pid()) + "/maps"); };
  auto plain = daemon(node("plain", "plain"));
  ASSERT_FALSE(ready(sock("plain")).empty()) << plain->err();
  EXPECT_EQ(maps(*plain).find("clusterd-http.so"), std::string::npos);
  EXPECT_EQ(maps(*plain).find("libPocoNet"), std::string::npos);
  auto served = daemon(node("served", "served", "[metrics]\nlisten = 127.0.0.1:0\n"));
  ASSERT_FALSE(ready(sock("served")).empty()) << served->err();
  EXPECT_NE(maps(*served).find("/clusterd-http.so"), std::string::npos);
  EXPECT_NE(maps(*served).find("libPocoNet"), std::string::npos);
  for (auto* p : {&plain, &served}) {
    (*p)->signal(SIGTERM);
    EXPECT_EQ((*p)->wait(5000ms), 0) << (*p)->err();
  }
}

// [http] listen: Debian's chromium (headless) loads the status page of a live daemon; a member
// joins and leaves, and the page's DOM shows both (its row, then a "lost" event and no row). A
// screenshot of the page is kept as status-page.png in the test's working folder.
TEST_F(Processes, StatusPageShowsAJoinAndALeave) {
  const char* chromium = "/usr/bin/chromium";
  if (::access(chromium, X_OK) != 0) GTEST_SKIP() << "chromium is not installed (scripts/setup-deps installs it)";
  const int web_port = 19600 + static_cast<int>(::getpid() % 50) * 4;
  const std::string url = "http://127.0.0.1:" + std::to_string(web_port) + "/";
  auto pw = daemon(node("web", "web", "[http]\nlisten = 127.0.0.1:" + std::to_string(web_port) + "\n"));
  ASSERT_FALSE(ready(sock("web")).empty()) << pw->err();
  const auto dom = [&] {
    Ran r = run_process({chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--dump-dom", url}, env(),
                        dir.path(), std::chrono::milliseconds(30000));
    EXPECT_EQ(r.rc, 0) << r.err;
    return r.out;
  };
  auto pj = daemon(node("joiner", "joiner"));
  const std::string uj = ready(sock("joiner"));
  ASSERT_FALSE(uj.empty()) << pj->err();
  ASSERT_TRUE(eventually([&] { return members(sock("web")).size() == 1; }));
  std::string page = dom();
  EXPECT_NE(page.find("<tr data-uuid=\"" + uj + "\">"), std::string::npos) << page;
  EXPECT_NE(page.find("class=\"discovered\" data-uuid=\"" + uj + "\""), std::string::npos) << page;
  Ran shot = run_process({chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,700",
                          "--screenshot=" + (std::filesystem::current_path() / "status-page.png").string(), url},
                         env(), dir.path(), std::chrono::milliseconds(30000));
  EXPECT_EQ(shot.rc, 0) << shot.err;

  ::kill(pj->pid(), SIGTERM);  // a graceful leave
  ASSERT_TRUE(eventually([&] { return members(sock("web")).empty(); }));
  page = dom();
  EXPECT_EQ(page.find("<tr data-uuid=\"" + uj + "\">"), std::string::npos) << page;
  EXPECT_NE(page.find("class=\"lost\" data-uuid=\"" + uj + "\""), std::string::npos) << page;
  EXPECT_NE(page.find("lost " + uj + " (left)"), std::string::npos) << page;
}
