// clusterctl's commands in-process: argument checks, output shapes and exit codes, against a
// control server on members of the in-memory network.
#include <gtest/gtest.h>

#include <sstream>

#include "app_fixture.hpp"
#include "cli.hpp"
#include "ctl_output.hpp"
#include "interrupt.hpp"

using namespace clusterapp;
using namespace clusterapp::test;
using namespace std::chrono_literals;

namespace {

struct CtlRun {
  int rc;
  std::string out, err;
};

CtlRun ctl(std::vector<std::string> args, const clusterctl::BackendFactory& factory = clusterctl::default_backend) {
  std::istringstream in;
  std::ostringstream out, err;
  const int rc = clusterctl::run(args, in, out, err, factory);
  return {rc, out.str(), err.str()};
}

class Clusterctl : public ControlFixture {
 protected:
  void SetUp() override {
    a = member({"asker"});
    b = member({"worker", "b"});
    c = member({"worker", "c"});
    ASSERT_TRUE(run_until([&] { return a->known_services() == 2 && b->known_services() == 2 && c->known_services() == 2; }));
    answer_with(*b, "b");
    serve(*a);
  }
  void TearDown() override {
    clusterctl::set_interrupted(false);
    ControlFixture::TearDown();
  }
  CtlRun run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--socket", path});
    return in_client([&] { return ctl(args); });
  }
  std::unique_ptr<cluster::Cluster> a, b, c;
};

}  // namespace

TEST(ClusterctlUsage, BadCommandLinesExit2WithOneLine) {
  const auto expect_usage = [](std::vector<std::string> args, const std::string& message) {
    CtlRun r = ctl(args);
    EXPECT_EQ(r.rc, 2) << r.err;
    EXPECT_EQ(r.err, "clusterctl: " + message + "\n");
    EXPECT_EQ(r.out, "");
  };
  expect_usage({"fly"}, "unknown command 'fly' (see clusterctl --help)");
  expect_usage({"members", "--bogus"}, "members: unknown option --bogus");
  expect_usage({"members", "extra"}, "members: unexpected argument 'extra'");
  expect_usage({"send", "--data", "x"}, "send: send needs --resolve TAG...");
  expect_usage({"send", "--resolve", "x"}, "send: send needs --data DATA");
  expect_usage({"send", "--resolve", "--data", "x"}, "send: --resolve needs at least one value");
  expect_usage({"query", "--resolve", "x"}, "query: query needs --query TEXT");
  expect_usage({"query", "--resolve", "x", "--query", "q", "--timeout", "abc"},
               "query: --timeout wants a number from 1 to 3600000, not 'abc'");
  expect_usage({"query", "--resolve", "x", "--query", "q", "--timeout", "0"},
               "query: --timeout wants a number from 1 to 3600000, not '0'");
  expect_usage({"tags", "drop", "x"}, "tags: unknown tags action 'drop' (add, remove or replace)");
  expect_usage({"tags", "add"}, "tags: tags add needs at least one TAG");
  expect_usage({"channel", "leave"}, "channel: channel leave needs one channel number");
  expect_usage({"channel", "join", "-1"}, "channel: --channel wants a number from 0 to 18446744073709551615, not '-1'");
  expect_usage({"--socket", "/x", "--join", "y.ini", "members"}, "members: --socket and --join exclude each other");
  expect_usage({"--settle", "5", "members"}, "members: --settle only goes with --join");
  expect_usage({"members", "--socket"}, "members: --socket needs a value");
  // A key typed without "install" is not echoed; keyring changes belong to a daemon.
  expect_usage({"keys", "3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhs="},
               "keys: unknown keys action (list, install, use or remove)");
  expect_usage({"keys", "use"}, "keys: keys use needs a KEY id (or the key)");
  expect_usage({"keys", "list", "x"}, "keys: keys list takes no KEY");
  expect_usage({"--join", "y.ini", "keys", "install", "k"},
               "keys: keys install changes a daemon's keyring: use --socket, not --join");
  expect_usage({"keygen", "x"}, "keygen takes no arguments");
  CtlRun none = ctl({});
  EXPECT_EQ(none.rc, 2);
  EXPECT_NE(none.err.find("usage: clusterctl"), std::string::npos);
}

TEST(ClusterctlUsage, HelpForEveryCommand) {
  CtlRun top = ctl({"--help"});
  EXPECT_EQ(top.rc, 0);
  for (const char* cmd : {"members", "send", "query", "watch", "tags", "channel", "status", "packet"})
    EXPECT_NE(top.out.find(std::string("  ") + cmd), std::string::npos) << cmd;
  for (const char* cmd : {"members", "send", "query", "watch", "tags", "channel", "status", "packet"}) {
    CtlRun r = ctl({cmd, "--help"});
    EXPECT_EQ(r.rc, 0) << cmd;
    EXPECT_NE(r.out.find("usage: clusterctl"), std::string::npos) << cmd;
  }
  EXPECT_NE(ctl({"members", "--help"}).out.find("MILLISECONDS AGO"), std::string::npos);
  EXPECT_EQ(ctl({"help", "query"}).out, ctl({"query", "--help"}).out);
}

TEST(ClusterctlUsage, NoDaemonExits3) {
  TempDir dir;
  CtlRun r = ctl({"--socket", dir / "none.sock", "members"});
  EXPECT_EQ(r.rc, 3);
  EXPECT_EQ(r.err, "clusterctl: cannot connect to " + (dir / "none.sock") + ": No such file or directory (is clusterd running?)\n");
  r = ctl({"--join", dir / "missing.ini", "--settle", "0", "members"});
  EXPECT_EQ(r.rc, 3);
  EXPECT_EQ(r.err, "clusterctl: " + (dir / "missing.ini") + ": cannot read file\n");
}

TEST_F(Clusterctl, MembersTableAndJson) {
  CtlRun r = run({"members"});
  ASSERT_EQ(r.rc, 0) << r.err;
  std::istringstream lines(r.out);
  std::string header, row1, row2, extra;
  std::getline(lines, header);
  std::getline(lines, row1);
  std::getline(lines, row2);
  EXPECT_FALSE(std::getline(lines, extra));
  EXPECT_EQ(header.substr(0, 4), "UUID");
  for (const char* col : {"IP", "FOUND BY", "LOCAL", "LAST SEEN", "PROTOCOLS", "TAGS"}) EXPECT_NE(header.find(col), std::string::npos);
  const std::string brow = row1.find(b->uuid()) == 0 ? row1 : row2;
  EXPECT_EQ(brow.rfind(b->uuid(), 0), 0u) << r.out;
  EXPECT_NE(brow.find("127.0.0.1"), std::string::npos);
  EXPECT_NE(brow.find("yes"), std::string::npos);
  EXPECT_NE(brow.find("worker b"), std::string::npos);

  r = run({"members", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  ASSERT_EQ(r.out.front(), '[');
  JsonPtr wrapped = parse_object("{\"m\":" + r.out + "}");
  JsonArrayPtr list = wrapped->getArray("m");
  ASSERT_EQ(list->size(), 2u);
  std::vector<std::string> names;
  list->getObject(0)->getNames(names);
  EXPECT_EQ(names, (std::vector<std::string>{"uuid", "sid", "hid", "ip", "tags", "protocols", "props", "local", "found_by", "last_seen"}));
}

TEST_F(Clusterctl, SendReportsReach) {
  CtlRun r = run({"send", "--resolve", "worker", "--data", "hello", "--channel", "0"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "reached 2 of 2 members\n");
  r = run({"send", "--resolve", "nobody", "--data", "x"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "clusterctl: no member matches nobody\n");
}

TEST_F(Clusterctl, QueryTextJsonAndExitCodes) {
  CtlRun r = run({"query", "--resolve", "b", "--query", "get role"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, b->uuid() + " response b:get role\n");

  r = run({"query", "--resolve", "worker", "--query", "x", "--json", "--timeout", "2000"});
  EXPECT_EQ(r.rc, 0) << r.err;  // b responded; c answered an error
  JsonPtr o = parse_object(r.out);
  std::vector<std::string> names;
  o->getNames(names);
  EXPECT_EQ(names, (std::vector<std::string>{"id", "results", "timed_out", "remaining"}));
  EXPECT_EQ(o->getArray("results")->size(), 2u);
  EXPECT_FALSE(o->getValue<bool>("timed_out"));
  EXPECT_EQ(o->getValue<Poco::UInt64>("remaining"), 0u);

  r = run({"query", "--resolve", "c", "--query", "x"});
  EXPECT_EQ(r.rc, 1) << "only error answers";
  EXPECT_EQ(r.out, c->uuid() + " error no query handler\n");

  r = run({"query", "--resolve", "nobody", "--query", "x"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "clusterctl: no member matches nobody\n");
}

TEST_F(Clusterctl, QueryOverChosenProtocols) {
  CtlRun r = run({"query", "--resolve", "b", "--query", "x", "--protocols", "t"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, b->uuid() + " response b:x\n");
  // b offers no "u": it is asked over nothing and answers an error at once, not at the timeout.
  const auto t0 = std::chrono::steady_clock::now();
  r = run({"query", "--resolve", "b", "--query", "x", "--protocols", "u", "--timeout", "5000"});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_EQ(r.out.rfind(b->uuid() + " error cannot reach " + b->uuid(), 0), 0u) << r.out;
}

TEST_F(Clusterctl, TopPrintsFramesWithRatesAndTheMembers) {
  CtlRun r = run({"top", "--count", "2", "--interval", "150"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto second = r.out.find("\n\n" + a->uuid() + "  members 2");
  ASSERT_NE(second, std::string::npos) << r.out;  // two frames, an empty line between them
  EXPECT_EQ(r.out.rfind(a->uuid() + "  members 2  received -  sent -  dropped -  send failures -\n\n", 0), 0u)
      << r.out;  // the first frame has no rates yet
  const std::string frame2 = r.out.substr(second + 2);
  EXPECT_NE(frame2.find("  received "), std::string::npos);
  EXPECT_NE(frame2.find("/s  sent "), std::string::npos) << frame2;
  EXPECT_NE(frame2.find("UUID"), std::string::npos) << frame2;
  EXPECT_NE(frame2.find(b->uuid()), std::string::npos) << frame2;
  EXPECT_NE(frame2.find(c->uuid()), std::string::npos) << frame2;
  r = run({"top", "--interval", "5"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "clusterctl: top: --interval wants a number from 100 to 60000, not '5'\n");
}

// `clusterctl top | head`: once the output fails, top ends (exit 0) instead of polling on.
TEST_F(Clusterctl, TopEndsWhenItsReaderGoes) {
  CtlRun r = in_client([&] {  // no --count: without the fix it would never return
    std::istringstream in;
    std::ostream gone(nullptr);  // fails every write, like a pipe whose reader closed it
    std::ostringstream err;
    const int rc = clusterctl::run({"--socket", path, "top", "--interval", "100"}, in, gone, err,
                                   clusterctl::default_backend);
    return CtlRun{rc, "", err.str()};
  });
  EXPECT_EQ(r.rc, 0) << r.err;
}

TEST_F(Clusterctl, TagsChannelAndStatus) {
  CtlRun r = run({"tags"});
  EXPECT_EQ(r.out, "asker\n");
  r = run({"tags", "add", "x", "two words"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, "asker x {two words}\n");
  r = run({"tags", "replace"});
  EXPECT_EQ(r.out, "\n");
  r = run({"channel", "join", "12"});
  EXPECT_EQ(r.out, "0 1 2 12\n");
  r = run({"channel", "leave", "2"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "clusterctl: channel: channels 0, 1 and 2 cannot be left\n");
  r = run({"status", "--json"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(parse_object(r.out)->getValue<std::string>("uuid"), a->uuid());
  r = run({"status"});
  EXPECT_EQ(r.out.rfind("uuid       " + a->uuid() + "\n", 0), 0u) << r.out;
}

TEST_F(Clusterctl, WatchPrintsUntilInterrupted) {
  auto f = std::async(std::launch::async, [&] { return ctl({"--socket", path, "watch"}); });
  ASSERT_TRUE(run_until([&] { return server->connections() == 1; }));
  run_until([] { return false; }, 100ms);  // the watch request is read
  auto d = member({"late"});
  ASSERT_TRUE(run_until([&] { return a->known_services() == 3; }));
  d->leave();
  ASSERT_TRUE(run_until([&] { return a->known_services() == 2; }));
  run_until([] { return false; }, 300ms);
  clusterctl::set_interrupted(true);
  ASSERT_TRUE(run_until([&] { return f.wait_for(0ms) == std::future_status::ready; }));
  CtlRun r = f.get();
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "discovered " + d->uuid() + " ip 127.0.0.1 tags {late} local\n" +
                       "lost " + d->uuid() + " (left) ip 127.0.0.1 tags {late}\n");
}

TEST(ClusterctlOutput, Lines) {
  EXPECT_EQ(clusterctl::one_line("a\nb\tc\x01\x7f"), "a\\nb\\tc\\x01\\x7f");
  EXPECT_EQ(clusterctl::answer_line(parse_object(R"({"uuid":"u@h","event":"error","data":"bad\nthing"})")), "u@h error bad\\nthing");
  EXPECT_EQ(clusterctl::event_line(parse_object(R"({"event":"event","uuid":"u@h","channel":5,"protocol":"t","data":"x"})")),
            "event u@h channel 5: x");
  EXPECT_EQ(clusterctl::event_line(parse_object(R"({"event":"tags","uuid":"u@h","tags":["a","b c"]})")), "tags u@h {a {b c}}");
  EXPECT_EQ(clusterctl::event_line(parse_object(R"({"event":"lost","uuid":"u@h","ip":"","tags":[],"reason":"expired"})")),
            "lost u@h (expired) ip - tags {}");
  std::ostringstream table;
  JsonPtr m = parse_object(
      R"({"members":[{"uuid":"s@h","sid":"s","hid":"h","ip":"10.0.0.2","tags":["x"],"protocols":["t","c"],)"
      R"("props":{},"local":false,"found_by":"seeds","last_seen":1500}]})");
  clusterctl::print_members(table, m->getArray("members"));
  EXPECT_EQ(table.str(),
            "UUID  IP        FOUND BY  LOCAL  LAST SEEN  PROTOCOLS  TAGS\n"
            "s@h   10.0.0.2  seeds     no     1.5s       t c        x\n");
}
