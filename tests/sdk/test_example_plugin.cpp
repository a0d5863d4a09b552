// The SDK's example plugin (plugin-sdk/examples/echo-protocol, protocol "e"), built out of tree
// against the installed SDK package, used by two real Cluster members in this process.
// scripts/check-sdk builds it and runs this binary with CLUSTER_EXAMPLE_PLUGIN=<cluster-echo.so>.
// Multicast ("c", heartbeats and discovery) is the in-memory stand-in of the unit tests.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "cluster/cluster.hpp"
#include "cluster/ini.hpp"
#include "memory_network.hpp"

using namespace cluster;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

namespace {

class ExamplePlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* path = std::getenv("CLUSTER_EXAMPLE_PLUGIN");
    if (path == nullptr || *path == '\0')
      GTEST_SKIP() << "CLUSTER_EXAMPLE_PLUGIN is not set: run scripts/check-sdk, which builds "
                      "plugin-sdk/examples/echo-protocol against the installed SDK and sets it";
    plugin_ = path;
  }

  template <class Pred>
  bool run_until(Pred pred, std::chrono::milliseconds limit = 5000ms) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < end) loop.run_once(5ms);
    return pred();
  }

  static Options fast() {
    Options o;
    o.heartbeat = 100ms;
    o.ttl = 2s;
    o.hid = "02:00:00:00:00:0e";
    o.protocols = {"e", "c"};
    return o;
  }

  std::string plugin_;
  EventLoop loop;
  test::MemoryNetwork net{loop};
};

TEST_F(ExamplePlugin, LoadsWithItsConfig) {
  auto plugins = net.plugins_for("127.0.0.1");
  const IniFile ini = IniFile::parse("[echo]\ngreeting = hi\n", "echo.ini");
  const PluginInfo& info = plugins->load(plugin_, ini.section("echo"));
  EXPECT_EQ(info.name, "echo");
  EXPECT_EQ(info.protocols, std::vector<std::string>{"e"});
  EXPECT_TRUE(info.hook_sets.empty());
  EXPECT_EQ(plugins->protocol_config("e").get("greeting"), "hi");
}

TEST_F(ExamplePlugin, DefaultGreetingAndUnknownKeysRefused) {
  {
    PluginManager pm;
    pm.load(plugin_);
    EXPECT_EQ(pm.protocol_config("e").get("greeting"), "hello");
  }
  PluginManager pm;
  const IniFile ini = IniFile::parse("[echo]\ngreting = hi\n", "echo.ini");
  try {
    pm.load(plugin_, ini.section("echo"));
    FAIL() << "a misspelt key was accepted";
  } catch (const PluginError& e) {
    EXPECT_EQ(e.code(), PluginErrc::bad_config);
    EXPECT_THAT(e.what(), HasSubstr("echo.ini:2: unknown key 'greting'"));
  }
}

TEST_F(ExamplePlugin, EventTravelsOverProtocolE) {
  auto plugins = net.plugins_for("127.0.0.1");
  const IniFile ini = IniFile::parse("[echo]\ngreeting = hi\n", "echo.ini");
  plugins->load(plugin_, ini.section("echo"));

  auto a = Cluster::join(fast(), plugins, loop);
  auto b = Cluster::join(fast(), plugins, loop);
  std::vector<std::pair<std::string, std::string>> got;  // (protocol, data) of events at b
  b->hook(HookPoint::event, "record", [&](HookContext& c) {
    got.emplace_back(std::string(c.protocol), c.payload != nullptr && c.payload->data.has() ? *c.payload->data : "");
    return Verdict::pass;
  });
  const auto knows = [](const Cluster& x, const Cluster& y) { return !x.resolve({y.sid()}).empty(); };
  ASSERT_TRUE(run_until([&] { return knows(*a, *b) && knows(*b, *a); })) << "no discovery over c";

  // b advertised its UDP port for "e" in its heartbeat; a knows it.
  const auto peers = a->resolve({b->sid()});
  ASSERT_EQ(peers.size(), 1u);
  const ServiceInfo info = peers[0]->info();
  const Dict* props = info.props_for("e");
  ASSERT_NE(props, nullptr);
  ASSERT_EQ(props->size(), 1u);
  EXPECT_EQ(props->front().first, "port");
  const int port = std::stoi(props->front().second);
  EXPECT_GT(port, 0);
  EXPECT_LT(port, 65536);
  EXPECT_THAT(peers[0]->props(), HasSubstr("e {port " + props->front().second + "}"));
  EXPECT_EQ(info.protocols, (std::vector<std::string>{"e", "c"}));

  const int directs_before = net.directs;
  EXPECT_EQ(a->send(peers, "over e"), 1u);
  ASSERT_TRUE(run_until([&] { return !got.empty(); })) << "the event never arrived";
  EXPECT_EQ(got.front(), (std::pair<std::string, std::string>{"e", "over e"}));
  EXPECT_EQ(net.directs, directs_before);  // the in-memory network carried no direct packet
  EXPECT_EQ(a->counters().send_failures, 0u);

  // ...and the other way round.
  got.clear();
  std::vector<std::string> at_a;
  a->hook(HookPoint::event, "record", [&](HookContext& c) {
    at_a.emplace_back(c.protocol);
    return Verdict::pass;
  });
  EXPECT_EQ(b->send(b->resolve({a->sid()}), "back"), 1u);
  ASSERT_TRUE(run_until([&] { return !at_a.empty(); }));
  EXPECT_EQ(at_a.front(), "e");

  a->leave();
  b->leave();
}

}  // namespace
