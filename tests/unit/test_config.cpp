// The ini reader and the [cluster]/[plugins] sections: values, defaults, and file:line errors.
#include <gtest/gtest.h>

#include <cstdlib>

#include "cluster/cluster.hpp"
#include "cluster/options.hpp"
#include "cluster/plugin_manager.hpp"

using namespace cluster;
using namespace std::chrono_literals;

namespace {

std::string error_of(const std::string& text) {
  try {
    NodeConfig::from_ini(IniFile::parse(text, "node.ini"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Ini, ParsesSectionsKeysAndComments) {
  auto f = IniFile::parse(
      "; comment\n# another\n[Cluster]\nTTL = 3 ; inline comment\ntags = a b # hash comment\n"
      "address=230.1.2.3\nurl = http://x/#frag\n",
      "t.ini");
  const IniSection* s = f.section("cluster");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->find("ttl")->value, "3");
  EXPECT_EQ(s->find("ttl")->where, "t.ini:4");
  EXPECT_EQ(s->find("tags")->value, "a b");
  EXPECT_EQ(s->find("address")->value, "230.1.2.3");
  EXPECT_EQ(s->find("url")->value, "http://x/#frag");  // '#' inside a word is not a comment
}

TEST(Ini, ReportsFileAndLine) {
  EXPECT_EQ(error_of("[cluster]\nbogus line\n"), "node.ini:2: expected 'key = value', got 'bogus line'");
  EXPECT_EQ(error_of("ttl = 3\n"), "node.ini:1: key 'ttl' outside any [section]");
  EXPECT_EQ(error_of("[cluster]\nttl = 3\nttl = 4\n"), "node.ini:3: key 'ttl' in [cluster] already set at node.ini:2");
  EXPECT_EQ(error_of("[cluster]\n[cluster]\n"), "node.ini:2: section [cluster] given twice");
  EXPECT_EQ(error_of("[cluster\n"), "node.ini:1: section header without closing ']'");
  EXPECT_THROW(IniFile::load("/nonexistent/node.ini"), ConfigError);
}

// A value quoted in an error comes from the file: a terminal escape in it must not reach the
// operator's terminal (hardening finding 6).
TEST(Ini, ErrorsEscapeControlCharactersOfTheFile) {
  const std::string e = error_of("[cluster]\nttl = \x1b[2J\x1b]0;pwned\x07\n");
  EXPECT_NE(e.find("\\x1b[2J\\x1b]0;pwned\\x07"), std::string::npos) << e;
  EXPECT_EQ(e.find('\x1b'), std::string::npos) << e;
  const std::string latin1 = error_of("[cluster]\nttl = \x9b" "31m\n");  // C1 CSI, not UTF-8
  EXPECT_NE(latin1.find("\\x9b31m"), std::string::npos) << latin1;
}

TEST(Options, DefaultsMatchTheReference) {
  const Options o = Options::from_ini(IniFile::parse("", "x"));
  EXPECT_EQ(o.address, "230.230.230.230");
  EXPECT_EQ(o.port, 23000);
  EXPECT_EQ(o.remote, 0u);
  EXPECT_EQ(o.ttl, 600s);
  EXPECT_EQ(o.heartbeat, 0ms);  // random 110-140 s at join
  EXPECT_EQ(o.protocols, (std::vector<std::string>{"t", "c"}));
  EXPECT_TRUE(o.channels.empty());
  EXPECT_EQ(o.discovery, "multicast");
  EXPECT_EQ(o.failure_detector, "ttl");
}

TEST(Options, ParsesEveryKey) {
  const Options o = Options::from_ini(IniFile::parse(
      "[cluster]\naddress = 239.1.2.3\nport = 24000\nremote = 1\nttl = 3\nheartbeat = 1s\n"
      "protocols = u, t\nchannels = 5 9\ntags = web eu\nhid = aa:bb\ninterface = eth1\n"
      "discovery = file-peers\nfailure_detector = swim\nping_delay = 2m\nping_grace = 100\nping_recent = 1s\n"
      "max_multicast_packet = 1400\n",
      "x"));
  EXPECT_EQ(o.address, "239.1.2.3");
  EXPECT_EQ(o.port, 24000);
  EXPECT_EQ(o.remote, 1u);
  EXPECT_EQ(o.ttl, 3s);
  EXPECT_EQ(o.heartbeat, 1s);
  EXPECT_EQ(o.protocols, (std::vector<std::string>{"u", "t"}));
  EXPECT_EQ(o.channels, (std::vector<std::uint64_t>{5, 9}));
  EXPECT_EQ(o.tags, (std::vector<std::string>{"web", "eu"}));
  EXPECT_EQ(o.hid, "aa:bb");
  EXPECT_EQ(o.interface, "eth1");
  EXPECT_EQ(o.discovery, "file-peers");
  EXPECT_EQ(o.failure_detector, "swim");
  EXPECT_EQ(o.ping_delay, 2min);
  EXPECT_EQ(o.ping_grace, 100ms);
  EXPECT_EQ(o.max_multicast_packet, 1400u);
}

TEST(Options, RejectsBadValuesWithLocation) {
  // Documented once and never enforced: refused with the fix rather than silently ignored.
  EXPECT_EQ(error_of("[cluster]\ndiscovery_interval = 30s\n"),
            "node.ini:2: [cluster] discovery_interval is no longer a setting (it was never enforced: discoveries "
            "go out at start and on request); remove the line");
  EXPECT_EQ(error_of("[cluster]\ndiscovery = a, a\n"), "node.ini:2: [cluster] discovery = 'a, a': lists 'a' twice");
  EXPECT_EQ(error_of("[cluster]\nadvertise = a b\n"),
            "node.ini:2: [cluster] advertise = 'a b': needs one address or host name");
  EXPECT_EQ(error_of("[cluster]\nttl = 0 seconds\n"),
            "node.ini:2: [cluster] ttl = '0 seconds': unknown unit ' seconds' (use ms, s or m)");
  EXPECT_EQ(error_of("[cluster]\naddress = 10.0.0.1\n"),
            "node.ini:2: [cluster] address = '10.0.0.1': not a multicast address (224.0.0.0/4)");
  EXPECT_EQ(error_of("[cluster]\nport = 70000\n"), "node.ini:2: [cluster] port = '70000': must be at most 65535");
  EXPECT_EQ(error_of("[cluster]\nremote = -1\n"), "node.ini:2: [cluster] remote = '-1': not a non-negative integer");
  EXPECT_EQ(error_of("[cluster]\nprotocols =\n"), "node.ini:2: [cluster] protocols = '': needs at least one protocol id");
  EXPECT_NE(error_of("[cluster]\nttl = 0\n").find("must be positive"), std::string::npos);
  EXPECT_NE(error_of("[cluster]\nchannels = 1 x\n").find("not a non-negative integer"), std::string::npos);
  EXPECT_NE(error_of("[cluster]\ncolour = blue\n").find("node.ini:2: unknown key 'colour' in [cluster] (known: "),
            std::string::npos);
  EXPECT_EQ(error_of("[plugins]\nlaod = tcp\n"), "node.ini:2: unknown key 'laod' in [plugins] (known: path, load, hooks)");
}

TEST(NodeConfig, PluginPathsAndResolution) {
  auto c = NodeConfig::from_ini(IniFile::parse("[plugins]\npath = plugins /opt/p\nload = tcp ./x.so\n", "/etc/cl/node.ini"));
  ASSERT_GE(c.plugin_paths.size(), 2u);
  EXPECT_EQ(c.plugin_paths[c.plugin_paths.size() - 2], "/etc/cl/plugins");  // relative to the file
  EXPECT_EQ(c.plugin_paths.back(), "/opt/p");
  EXPECT_EQ(c.load, (std::vector<std::string>{"tcp", "./x.so"}));
  EXPECT_EQ(c.resolve_plugin("./x.so"), "./x.so");
  EXPECT_EQ(c.resolve_plugin("tcp"), "/etc/cl/plugins/cluster-tcp.so");  // not found: first folder
  ::setenv("CLUSTER_PLUGIN_PATH", "/env/a:/env/b", 1);
  auto e = NodeConfig::from_ini(IniFile::parse("", "n.ini"));
  ::unsetenv("CLUSTER_PLUGIN_PATH");
  ASSERT_GE(e.plugin_paths.size(), 3u);
  EXPECT_EQ(e.plugin_paths[0], "/env/a");
  EXPECT_EQ(e.plugin_paths[1], "/env/b");
}

TEST(NodeConfig, JoinReportsMissingPluginsAndStraySections) {
  auto missing = NodeConfig::from_ini(IniFile::parse("[plugins]\npath = /nonexistent\nload = tcp\n", "n.ini"));
  try {
    Cluster::join(missing);
    FAIL() << "joined without plugins";
  } catch (const PluginError& e) {
    EXPECT_EQ(e.code(), PluginErrc::file_missing);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/cluster-tcp.so"), std::string::npos);
  }
  auto stray = NodeConfig::from_ini(IniFile::parse("[plugins]\nload =\n[tpc]\nport = 1\n", "n.ini"));
  try {
    Cluster::join(stray);
    FAIL() << "accepted a stray section";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "n.ini:3: section [tpc] belongs to no loaded plugin (loaded: none)");
  }
}

TEST(PluginConfigValidation, DefaultsTypesAndUnknownKeys) {
  static const sdk::ConfigKey keys[] = {{"port", sdk::ConfigType::integer, "0", "listen port"},
                                        {"nodelay", sdk::ConfigType::boolean, "true", "TCP_NODELAY"},
                                        {"bind", sdk::ConfigType::string, "0.0.0.0", "address"}};
  auto f = IniFile::parse("[tcp]\nport = 4000\n", "p.ini");
  auto cfg = validate_section("tcp", f.section("tcp"), keys, 3);
  EXPECT_EQ(cfg.get_int("port"), 4000);
  EXPECT_TRUE(cfg.get_bool("nodelay"));
  EXPECT_EQ(cfg.get("bind"), "0.0.0.0");
  auto bad_int = IniFile::parse("[tcp]\n\nport = 4k\n", "p.ini");
  EXPECT_THROW(
      {
        try {
          validate_section("tcp", bad_int.section("tcp"), keys, 3);
        } catch (const ConfigError& e) {
          EXPECT_EQ(std::string(e.what()), "p.ini:3: [tcp] port = '4k' is not an integer");
          throw;
        }
      },
      ConfigError);
  auto unknown = IniFile::parse("[tcp]\nprot = 1\n", "p.ini");
  EXPECT_THROW(validate_section("tcp", unknown.section("tcp"), keys, 3), ConfigError);
  auto bad_bool = IniFile::parse("[tcp]\nnodelay = maybe\n", "p.ini");
  EXPECT_THROW(validate_section("tcp", bad_bool.section("tcp"), keys, 3), ConfigError);
}

// The node samples in conf/ parse, name only known keys, and their plugins accept their
// sections (joining is not tried here: lan.ini would multicast beyond loopback).
TEST(ConfSamples, NodeFilesLoadAndTheirPluginsAcceptThem) {
  for (const char* name : {"cluster.ini", "lan.ini", "secure.ini"}) {
    SCOPED_TRACE(name);
    const NodeConfig node = NodeConfig::load_file(std::string(CLUSTER_HOOK_CONF_DIR) + "/" + name);
    ASSERT_FALSE(node.load.empty());
    PluginManager pm;
    for (const auto& plugin : node.load) {
      const std::string path = std::string(CLUSTER_HOOK_PLUGIN_DIR) + "/cluster-" + plugin + ".so";
      if (plugin == "auth") {
        // secure.ini ships without a secret on purpose: the plugin refuses until one is set.
        EXPECT_THROW(pm.load(path, node.ini, plugin), PluginError);
        continue;
      }
      EXPECT_NO_THROW(pm.load(path, node.ini, plugin));
    }
    for (const auto& hooks : node.hook_sets) {
      if (hooks != "auth") {
        EXPECT_TRUE(pm.has_hook_set(hooks)) << hooks;
      }
    }
  }
  EXPECT_EQ(Options::from_ini(IniFile::load(std::string(CLUSTER_HOOK_CONF_DIR) + "/lan.ini")).remote, 1u);
}

TEST(Options, StreamLimits) {
  const Options d = Options::from_ini(IniFile::parse("", "x"));
  EXPECT_EQ(d.max_packet, 1u << 20);
  EXPECT_EQ(d.max_buffered, 16u << 20);
  EXPECT_EQ(d.partial_timeout, 15s);
  const Options o = Options::from_ini(
      IniFile::parse("[cluster]\nmax_packet = 65536\nmax_buffered = 262144\npartial_timeout = 500ms\n", "x"));
  EXPECT_EQ(o.max_packet, 65536u);
  EXPECT_EQ(o.max_buffered, 262144u);
  EXPECT_EQ(o.partial_timeout, 500ms);
  EXPECT_EQ(error_of("[cluster]\nmax_packet = 1000\n"),
            "node.ini:2: [cluster] max_packet = '1000': must be at least 65536 (a datagram can be that large)");
  EXPECT_EQ(error_of("[cluster]\nmax_packet = 1048576\nmax_buffered = 1048576\n"),
            "node.ini:3: [cluster] max_buffered (1048576) must be at least 4 * max_packet (4194304)");
  EXPECT_EQ(error_of("[cluster]\nmax_packet = 16777216\n"),
            "node.ini:2: [cluster] max_buffered (16777216) must be at least 4 * max_packet (67108864)");
  EXPECT_NE(error_of("[cluster]\npartial_timeout = 0\n").find("must be positive"), std::string::npos);
}

TEST(Options, SendQueue) {
  const Options d = Options::from_ini(IniFile::parse("", "x"));
  EXPECT_EQ(d.send_queue_limit, 65536u);
  EXPECT_EQ(d.send_queue_full, SendQueueFull::block);
  EXPECT_EQ(d.send_queue_block_ms, 1000ms);
  const Options o = Options::from_ini(IniFile::parse(
      "[cluster]\nsend_queue_limit = 8\nsend_queue_full = drop_oldest\nsend_queue_block_ms = 0\n", "x"));
  EXPECT_EQ(o.send_queue_limit, 8u);
  EXPECT_EQ(o.send_queue_full, SendQueueFull::drop_oldest);
  EXPECT_EQ(o.send_queue_block_ms, 0ms);
  EXPECT_EQ(Options::from_ini(IniFile::parse("[cluster]\nsend_queue_full = fail\n", "x")).send_queue_full,
            SendQueueFull::fail);
  EXPECT_EQ(Options::from_ini(IniFile::parse("[cluster]\nsend_queue_block_ms = 2s\n", "x")).send_queue_block_ms, 2000ms);
  EXPECT_EQ(error_of("[cluster]\nsend_queue_limit = 0\n"), "node.ini:2: [cluster] send_queue_limit = '0': must be at least 1");
  EXPECT_EQ(error_of("[cluster]\nsend_queue_full = wait\n"),
            "node.ini:2: [cluster] send_queue_full = 'wait': not a policy (block, fail, drop_oldest)");
  EXPECT_NE(error_of("[cluster]\nsend_queue_block_ms = soon\n").find("not a duration"), std::string::npos);
}

// [cluster] address may be an IPv4 or an IPv6 multicast group (docs/transports.md).
TEST(OptionsIpv6, AcceptsAnIpv6MulticastGroup) {
  for (const char* group : {"ff15::c1:5", "ff02::1:2", "ff0e::1"}) {
    const NodeConfig c = NodeConfig::from_ini(IniFile::parse(std::string("[cluster]\naddress = ") + group + "\n", "n"));
    EXPECT_EQ(c.options.address, group);
  }
}

TEST(OptionsIpv6, RefusesWhatIsNoMulticastGroup) {
  EXPECT_EQ(error_of("[cluster]\naddress = fd00::1\n"),
            "node.ini:2: [cluster] address = 'fd00::1': not a multicast address (ff00::/8)");
  EXPECT_EQ(error_of("[cluster]\naddress = ff15::1%eth0\n"),
            "node.ini:2: [cluster] address = 'ff15::1%eth0': not an IPv4 or IPv6 address");
  EXPECT_EQ(error_of("[cluster]\naddress = group.example\n"),
            "node.ini:2: [cluster] address = 'group.example': not an IPv4 or IPv6 address");
  EXPECT_EQ(error_of("[cluster]\naddress = 10.0.0.1\n"),
            "node.ini:2: [cluster] address = '10.0.0.1': not a multicast address (224.0.0.0/4)");
}
