// The command layer (clusterapp::execute, Watch) against members on the in-memory network: what
// the daemon's control socket and `clusterctl --join` both run.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "app_fixture.hpp"
#include "commands.hpp"
#include "watch.hpp"

using namespace clusterapp;
using namespace std::chrono_literals;
using cluster::HookContext;
using cluster::HookPoint;
using cluster::Verdict;

namespace {

std::string array_line(const JsonArrayPtr& a) {
  std::ostringstream out;
  a->stringify(out);
  return out.str();
}

std::vector<std::string> keys(const JsonPtr& o) {
  std::vector<std::string> names;
  o->getNames(names);
  return names;
}

class Commands : public clusterapp::test::MemoryCluster {
 protected:
  // Runs a request on `c` (this thread is the loop thread) and waits for its answer.
  JsonPtr call(cluster::Cluster& on, const std::string& json) {
    JsonPtr answer;
    execute(on, parse_object(json), [&](JsonPtr r) {
      EXPECT_TRUE(answer.isNull()) << "answered twice";
      answer = r;
    });
    EXPECT_TRUE(run_until([&] { return !answer.isNull(); }, 5000ms)) << json;
    return answer;
  }
  std::string error_of(cluster::Cluster& on, const std::string& json) {
    JsonPtr r = call(on, json);
    EXPECT_FALSE(r->getValue<bool>("ok")) << to_line(r);
    return r->optValue<std::string>("error", "");
  }
  void trio() {
    a = member({"asker"});
    b = member({"worker", "b"});
    c = member({"worker", "c"});
    ASSERT_TRUE(run_until([&] { return a->known_services() == 2 && b->known_services() == 2 && c->known_services() == 2; }));
  }
  std::unique_ptr<cluster::Cluster> a, b, c;
};

}  // namespace

TEST_F(Commands, MembersListsEveryKnownMemberInTheDocumentedShape) {
  trio();
  JsonPtr r = call(*a, R"({"cmd":"members"})");
  ASSERT_TRUE(r->getValue<bool>("ok"));
  EXPECT_EQ(keys(r), (std::vector<std::string>{"ok", "members"}));
  JsonArrayPtr list = r->getArray("members");
  ASSERT_EQ(list->size(), 2u);
  std::vector<std::string> uuids;
  for (unsigned i = 0; i < list->size(); ++i) {
    JsonPtr m = list->getObject(i);
    EXPECT_EQ(keys(m), (std::vector<std::string>{"uuid", "sid", "hid", "ip", "tags", "protocols", "props", "local", "found_by", "last_seen"}));
    uuids.push_back(m->getValue<std::string>("uuid"));
    EXPECT_EQ(m->getValue<std::string>("uuid"), m->getValue<std::string>("sid") + "@" + m->getValue<std::string>("hid"));
    EXPECT_EQ(m->getValue<std::string>("ip"), "127.0.0.1");
    EXPECT_TRUE(m->getValue<bool>("local"));
    EXPECT_GE(m->getValue<Poco::Int64>("last_seen"), 0);
    EXPECT_LT(m->getValue<Poco::Int64>("last_seen"), 1000);
    EXPECT_EQ(array_line(m->getArray("protocols")), R"(["t","c"])");
    JsonPtr props = m->getObject("props");
    ASSERT_FALSE(props.isNull());
    ASSERT_FALSE(props->getObject("t").isNull()) << to_line(props);
    EXPECT_FALSE(props->getObject("t")->getValue<std::string>("port").empty());
  }
  EXPECT_TRUE(std::is_sorted(uuids.begin(), uuids.end()));
  EXPECT_NE(std::find(uuids.begin(), uuids.end(), b->uuid()), uuids.end());
  EXPECT_NE(std::find(uuids.begin(), uuids.end(), c->uuid()), uuids.end());
  EXPECT_EQ(std::find(uuids.begin(), uuids.end(), a->uuid()), uuids.end()) << "we are not our own member";
}

TEST_F(Commands, SendReachesTheResolvedMembers) {
  trio();
  std::vector<std::string> got;
  b->hook(HookPoint::event, "got", [&](HookContext& ctx) {
    got.push_back(std::to_string(ctx.channel) + ":" + ctx.payload->data.value_or(""));
    return Verdict::pass;
  });
  b->subscribe(9);
  JsonPtr r = call(*a, R"({"cmd":"send","resolve":["b"],"data":"hello","channel":9})");
  EXPECT_EQ(to_line(r), R"({"ok":true,"matched":1,"reached":1})");
  ASSERT_TRUE(run_until([&] { return !got.empty(); }));
  EXPECT_EQ(got, (std::vector<std::string>{"9:hello"}));

  EXPECT_EQ(to_line(call(*a, R"({"cmd":"send","resolve":["worker"],"data":"x"})")), R"({"ok":true,"matched":2,"reached":2})");
  EXPECT_EQ(to_line(call(*a, R"({"cmd":"send","resolve":["nobody"],"data":"x"})")), R"({"ok":true,"matched":0,"reached":0})");
  EXPECT_EQ(error_of(*a, R"({"cmd":"send","resolve":["b"]})"), "'data' is missing");
  EXPECT_EQ(error_of(*a, R"({"cmd":"send","resolve":[],"data":"x"})"), "'resolve' needs at least one term");
  EXPECT_EQ(error_of(*a, R"({"cmd":"send","data":"x"})"), "'resolve' needs at least one term");
  EXPECT_EQ(error_of(*a, R"({"cmd":"send","resolve":["b"],"data":"x","channel":-3})"), "'channel' must be a non-negative integer");
}

TEST_F(Commands, QueryCollectsAnswersInTheDocumentedShape) {
  trio();
  answer_with(*b, "b");
  answer_with(*c, "c");
  JsonPtr r = call(*a, R"({"cmd":"query","resolve":["worker"],"query":"version","timeout":3000})");
  ASSERT_TRUE(r->getValue<bool>("ok")) << to_line(r);
  EXPECT_EQ(keys(r), (std::vector<std::string>{"ok", "id", "results", "timed_out", "remaining"}));
  EXPECT_FALSE(r->getValue<std::string>("id").empty());
  EXPECT_FALSE(r->getValue<bool>("timed_out"));
  EXPECT_EQ(r->getValue<Poco::UInt64>("remaining"), 0u);
  JsonArrayPtr results = r->getArray("results");
  ASSERT_EQ(results->size(), 2u);
  std::map<std::string, std::string> by_uuid;
  for (unsigned i = 0; i < results->size(); ++i) {
    JsonPtr x = results->getObject(i);
    EXPECT_EQ(keys(x), (std::vector<std::string>{"uuid", "event", "data"}));
    EXPECT_EQ(x->getValue<std::string>("event"), "response");
    by_uuid[x->getValue<std::string>("uuid")] = x->getValue<std::string>("data");
  }
  EXPECT_EQ(by_uuid[b->uuid()], "b:version");
  EXPECT_EQ(by_uuid[c->uuid()], "c:version");
}

TEST_F(Commands, QueryReportsErrorAnswersTimeoutsAndNoMatch) {
  trio();
  answer_with(*b, "b");  // c has no query hook: it answers an error
  JsonPtr r = call(*a, R"({"cmd":"query","resolve":["c"],"query":"x"})");
  ASSERT_EQ(r->getArray("results")->size(), 1u);
  EXPECT_EQ(to_line(r->getArray("results")->getObject(0)),
            R"({"uuid":")" + c->uuid() + R"(","event":"error","data":"no query handler"})");

  // b never sends its response: the query times out with one member remaining.
  b->hook(HookPoint::evaluate_send, "mute", [](HookContext& ctx) {
    return ctx.payload->is(cluster::PayloadType::response) ? Verdict::drop : Verdict::pass;
  });
  const auto t0 = std::chrono::steady_clock::now();
  r = call(*a, R"({"cmd":"query","resolve":["worker"],"query":"x","timeout":300})");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 290ms);
  EXPECT_TRUE(r->getValue<bool>("timed_out"));
  EXPECT_EQ(r->getValue<Poco::UInt64>("remaining"), 1u);
  EXPECT_EQ(r->getArray("results")->size(), 1u);  // c's error

  r = call(*a, R"({"cmd":"query","resolve":["nobody"],"query":"x"})");
  EXPECT_EQ(r->getArray("results")->size(), 0u);
  EXPECT_FALSE(r->getValue<bool>("timed_out"));
  EXPECT_EQ(r->getValue<Poco::UInt64>("remaining"), 0u);

  EXPECT_EQ(error_of(*a, R"({"cmd":"query","resolve":["b"]})"), "'query' is missing");
  EXPECT_EQ(error_of(*a, R"({"cmd":"query","resolve":["b"],"query":"x","timeout":0})"), "'timeout' must be 1..3600000 ms");
  EXPECT_EQ(error_of(*a, R"({"cmd":"query","resolve":"b","query":"x"})"), "'resolve' must be an array of strings");
}

TEST_F(Commands, TagsAreShownAndChanged) {
  trio();
  EXPECT_EQ(to_line(call(*a, R"({"cmd":"tags"})")), R"({"ok":true,"tags":["asker"]})");
  EXPECT_EQ(to_line(call(*a, R"({"cmd":"tags","action":"add","tags":["x","y"]})")), R"({"ok":true,"tags":["asker","x","y"]})");
  EXPECT_EQ(to_line(call(*a, R"({"cmd":"tags","action":"remove","tags":["asker"]})")), R"({"ok":true,"tags":["x","y"]})");
  EXPECT_EQ(to_line(call(*a, R"({"cmd":"tags","action":"replace","tags":["z"]})")), R"({"ok":true,"tags":["z"]})");
  ASSERT_TRUE(run_until([&] { return b->resolve({"z"}).size() == 1; })) << "members hear of the change";
  EXPECT_EQ(to_line(call(*a, R"({"cmd":"tags","action":"replace"})")), R"({"ok":true,"tags":[]})");
  EXPECT_EQ(error_of(*a, R"({"cmd":"tags","action":"add"})"), "tags add needs at least one tag");
  EXPECT_EQ(error_of(*a, R"({"cmd":"tags","action":"drop","tags":["x"]})"), "unknown tags action 'drop' (add, remove or replace)");
  EXPECT_EQ(error_of(*a, R"({"cmd":"tags","tags":["x"]})"), "'tags' needs an action (add, remove or replace)");
  // Refused, tags unchanged: a control character (escaped in the message), too large a heartbeat.
  EXPECT_EQ(error_of(*a, R"({"cmd":"tags","action":"add","tags":["bad\u001b[2J"]})"),
            "tags refused: tag 'bad\\x1b[2J' holds a control character");
  std::string many = R"({"cmd":"tags","action":"replace","tags":[)";
  for (int i = 0; i < 400; ++i) many += (i ? ",\"" : "\"") + std::string("a-rather-long-tag-number-") + std::to_string(i) + "\"";
  many += "]}";
  EXPECT_NE(error_of(*a, many).find("over max_multicast_packet (4096)"), std::string::npos);
  EXPECT_EQ(to_line(call(*a, R"({"cmd":"tags"})")), R"({"ok":true,"tags":[]})");
}

TEST_F(Commands, ChannelsAreJoinedAndLeft) {
  a = member({"a"});
  EXPECT_EQ(to_line(call(*a, R"({"cmd":"channel"})")), R"({"ok":true,"channels":[0,1,2]})");
  EXPECT_EQ(to_line(call(*a, R"({"cmd":"channel","action":"join","channel":7})")), R"({"ok":true,"channels":[0,1,2,7]})");
  EXPECT_EQ(to_line(call(*a, R"({"cmd":"channel","action":"leave","channel":7})")), R"({"ok":true,"channels":[0,1,2]})");
  EXPECT_EQ(error_of(*a, R"({"cmd":"channel","action":"leave","channel":1})"), "channels 0, 1 and 2 cannot be left");
  EXPECT_EQ(error_of(*a, R"({"cmd":"channel","action":"leave","channel":9})"), "not listening to channel 9");
  EXPECT_EQ(error_of(*a, R"({"cmd":"channel","action":"join"})"), "'channel' is missing");
  EXPECT_EQ(error_of(*a, R"({"cmd":"channel","action":"hop","channel":3})"), "unknown channel action 'hop' (join or leave)");
}

TEST_F(Commands, StatusAndBadRequests) {
  trio();
  JsonPtr s = call(*a, R"({"cmd":"status"})");
  EXPECT_EQ(keys(s), (std::vector<std::string>{"ok", "uuid", "sid", "hid", "tags", "protocols", "channels", "members", "counters"}));
  EXPECT_EQ(s->getValue<std::string>("uuid"), a->uuid());
  EXPECT_EQ(s->getValue<Poco::UInt64>("members"), 2u);
  EXPECT_GT(s->getObject("counters")->getValue<Poco::UInt64>("received"), 0u);
  EXPECT_EQ(s->getObject("counters")->getValue<Poco::UInt64>("send_queue_paused"), 0u);  // flow control
  EXPECT_EQ(error_of(*a, R"({"cmd":"fly"})"), "unknown command 'fly'");
  EXPECT_EQ(error_of(*a, R"({"command":"members"})"), "'cmd' is missing");
  EXPECT_EQ(error_of(*a, R"({"cmd":5})"), "'cmd' must be a string");
  EXPECT_EQ(error_of(*a, R"({"cmd":"watch"})"), "'watch' is a stream: only the control connection serves it");
}

TEST_F(Commands, WatchFeedsDiscoveredEventTagsAndLost) {
  trio();
  std::vector<JsonPtr> events;
  auto feed = std::make_unique<Watch>(*a, [&](JsonPtr e) { events.push_back(e); });
  const auto count = [&](const std::string& kind) {
    return std::count_if(events.begin(), events.end(), [&](const JsonPtr& e) { return e->getValue<std::string>("event") == kind; });
  };
  auto d = member({"late"});
  ASSERT_TRUE(run_until([&] { return count("discovered") == 1; }));
  JsonPtr disc = events.back();
  EXPECT_EQ(to_line(disc), R"({"event":"discovered","uuid":")" + d->uuid() + R"(","ip":"127.0.0.1","tags":["late"],"local":true})");

  call(*b, R"({"cmd":"send","resolve":["asker"],"data":"ping","channel":0})");
  ASSERT_TRUE(run_until([&] { return count("event") == 1; }));
  auto ev = *std::find_if(events.begin(), events.end(), [](const JsonPtr& e) { return e->getValue<std::string>("event") == "event"; });
  EXPECT_EQ(keys(ev), (std::vector<std::string>{"event", "uuid", "channel", "protocol", "data"}));
  EXPECT_EQ(ev->getValue<std::string>("uuid"), b->uuid());
  EXPECT_EQ(ev->getValue<std::string>("data"), "ping");

  d->tags_append({"later"});
  ASSERT_TRUE(run_until([&] { return count("tags") == 1; }));

  d->leave();
  ASSERT_TRUE(run_until([&] { return count("lost") == 1; }));
  EXPECT_EQ(to_line(events.back()), R"({"event":"lost","uuid":")" + d->uuid() + R"(","ip":"127.0.0.1","tags":["late","later"],"reason":"left"})");

  feed.reset();  // no more events
  const auto before = events.size();
  d.reset();
  auto e = member({"another"});
  ASSERT_TRUE(run_until([&] { return a->known_services() == 3; }));
  EXPECT_EQ(events.size(), before);
}
