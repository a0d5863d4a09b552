// The pieces the discoveries without multicast share (plugins/common/contact_discovery.hpp) and
// the seeds plugin's configuration: member lists on the wire, where a listed member is reached,
// which member a contact point is, the seeds list syntax, and conf/seeds.ini. Their behaviour
// between hosts is tested in tests/reliability/test_discovery.cpp.
#include <gtest/gtest.h>

#include "contact_discovery.hpp"
#include "protocol_harness.hpp"
#include "seed_list.hpp"

namespace cluster::test {
namespace {

using plugins::ListedMember;

TEST(MemberList, RoundTripsAndSkipsBadEntries) {
  const std::vector<ListedMember> in = {
      {"a1@h1", "10.0.0.1", false, {{"t", {{"port", "7400"}}}, {"u", {{"path", "/tmp/x y.sock"}}}}},
      {"b2@h2", "", true, {{"t", {{"port", "7401"}, {"host", "203.0.113.9"}}}}},
  };
  const std::string raw = plugins::encode_member_list(in);
  std::vector<ListedMember> out;
  ASSERT_TRUE(plugins::decode_member_list(raw, out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].uuid, "a1@h1");
  EXPECT_EQ(out[0].ip, "10.0.0.1");
  EXPECT_FALSE(out[0].local);
  EXPECT_EQ(out[0].props, in[0].props);
  EXPECT_TRUE(out[1].local);
  EXPECT_EQ(out[1].props, in[1].props);

  // Entries of the wrong shape, an empty uuid or a control character are skipped; the rest
  // stand. Text that is not a list at all is refused.
  out.clear();
  ASSERT_TRUE(plugins::decode_member_list("{x 1} {{} 10.0.0.1 0 {}} {\"a\nb\" 1.2.3.4 0 {}} {ok@h 1.2.3.4 0 {t {port 1}}}",
                                          out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].uuid, "ok@h");
  out.clear();
  EXPECT_FALSE(plugins::decode_member_list("{unbalanced", out));
}

TEST(MemberList, ContactPointsFollowTheSenderAndTheAdvertisedHost) {
  ServiceInfo sender;
  sender.ip = "192.0.2.10";
  sender.local = false;
  // On the sender's host: reached at the sender's address (its own view said "local").
  ListedMember near{"n@h", "127.0.0.1", true, {{"c", {}}, {"t", {{"port", "7400"}}}, {"u", {{"path", "/p"}}}}};
  auto at = plugins::contact_points_of(near, sender);
  ASSERT_EQ(at.size(), 2u);  // c has no props: nothing to contact
  EXPECT_EQ(at[0].protocol, "t");
  EXPECT_EQ(at[0].ip, "192.0.2.10");
  EXPECT_FALSE(at[0].local);
  EXPECT_EQ(at[1].protocol, "u");
  // Elsewhere: its own address, unless it advertises another.
  ListedMember far{"f@h", "198.51.100.7", false, {{"t", {{"port", "7400"}}}}};
  EXPECT_EQ(plugins::contact_points_of(far, sender).at(0).ip, "198.51.100.7");
  far.props[0].second.emplace_back("host", "203.0.113.9");
  EXPECT_EQ(plugins::contact_points_of(far, sender).at(0).ip, "203.0.113.9");
}

TEST(MemberList, AContactPointIsTheMemberWithThoseProps) {
  ServiceInfo m;
  m.ip = "10.0.0.5";
  m.props = {{"t", {{"port", "7400"}}}};
  sdk::ContactPoint c{"t", "10.0.0.5", {{"port", "7400"}}, false};
  EXPECT_TRUE(plugins::is_at(c, m));
  c.props = {{"port", "7401"}};
  EXPECT_FALSE(plugins::is_at(c, m));
  c.props = {{"port", "7400"}};
  c.ip = "10.0.0.6";
  EXPECT_FALSE(plugins::is_at(c, m));
  m.props[0].second.emplace_back("host", "10.0.0.6");  // behind NAT: the advertised address
  EXPECT_TRUE(plugins::is_at(c, m));
  c.protocol = "u";
  EXPECT_FALSE(plugins::is_at(c, m));
}

TEST(SeedList, ParsesAddressesNamesAndIpv6) {
  std::vector<plugins::Seed> s;
  ASSERT_EQ(plugins::parse_seed_list("10.0.0.1:7400, seed.example.org:7401 [fd00::3]:7402,[::1]:1", s), "");
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].host, "10.0.0.1");
  EXPECT_TRUE(s[0].numeric);
  EXPECT_EQ(s[1].host, "seed.example.org");
  EXPECT_FALSE(s[1].numeric);
  EXPECT_EQ(s[1].port, 7401);
  EXPECT_EQ(s[2].host, "fd00::3");
  EXPECT_TRUE(s[2].numeric);
  EXPECT_EQ(s[3].port, 1);
}

TEST(SeedList, RefusesWhatItCannotUseWithTheFix) {
  const auto error = [](const std::string& text) {
    std::vector<plugins::Seed> s;
    return plugins::parse_seed_list(text, s);
  };
  EXPECT_EQ(error(""), "no seed: list host:port entries (names, IPv4, [IPv6])");
  EXPECT_EQ(error("10.0.0.1"), "'10.0.0.1' has no port: write host:port, [IPv6]:port");
  EXPECT_EQ(error("fd00::3:7400"), "'fd00::3:7400': an IPv6 address goes in brackets: [fd00::3]:port");
  EXPECT_EQ(error("[fd00::3]"), "'[fd00::3]': write [IPv6]:port");
  EXPECT_EQ(error("[name]:1"), "'[name]:1': 'name' is not an IPv6 address");
  EXPECT_EQ(error("h:0"), "'h:0': the port must be 1-65535");
  EXPECT_EQ(error("h:65536"), "'h:65536': the port must be 1-65535");
}

TEST(SeedsPlugin, TheSampleLoadsAndABadListIsRefusedAtLoad) {
  const IniFile ini = IniFile::load(std::string(CLUSTER_CONF_DIR) + "/seeds.ini");
  PluginManager pm;
  const PluginInfo info = pm.load(plugin_path("seeds"), ini.section("seeds"));
  EXPECT_EQ(info.discoveries, std::vector<std::string>{"seeds"});

  const IniFile bad = IniFile::parse("[seeds]\nseeds = 10.0.0.1\n", "node.ini");
  PluginManager pm2;
  try {
    pm2.load(plugin_path("seeds"), bad.section("seeds"));
    FAIL() << "a seed without a port was accepted";
  } catch (const PluginError& e) {
    EXPECT_NE(std::string(e.what()).find("[seeds] seeds: '10.0.0.1' has no port"), std::string::npos) << e.what();
  }
}

// conf/dns.ini and conf/etcd.ini: each loads, registers its discovery, documents every key of
// the schema with its default (except the ones a sample must fill in); a bad value fails the
// load with the fix.
TEST(DiscoverySamples, DocumentEveryKeyWithItsDefault) {
  for (const std::string plugin : {"seeds", "dns", "etcd"}) {
    const IniFile ini = IniFile::load(std::string(CLUSTER_CONF_DIR) + "/" + plugin + ".ini");
    const IniSection* section = ini.section(plugin);
    ASSERT_NE(section, nullptr) << plugin;
    PluginManager pm;
    EXPECT_EQ(pm.load(plugin_path(plugin), section).discoveries, std::vector<std::string>{plugin});
    const auto& schema = pm.discovery_config(plugin).values();
    EXPECT_EQ(section->values.size(), schema.size()) << plugin;
    for (const auto& [key, value] : schema) {
      const IniValue* v = section->find(key);
      ASSERT_NE(v, nullptr) << plugin << ".ini does not document '" << key << "'";
      if (key == "seeds" || key == "name") continue;  // required: the sample shows an example
      EXPECT_EQ(v->value, value) << v->where << ": '" << key << "' is not the default";
    }
  }
}

// conf/swim.ini (the swim failure detector, docs/failure-detection.md): loads, registers the
// detector, documents every key with its default; bad values fail the load with the fix.
TEST(SwimPlugin, TheSampleDocumentsEveryKeyAndBadValuesAreRefused) {
  const IniFile ini = IniFile::load(std::string(CLUSTER_CONF_DIR) + "/swim.ini");
  const IniSection* section = ini.section("swim");
  ASSERT_NE(section, nullptr);
  PluginManager pm;
  EXPECT_EQ(pm.load(plugin_path("swim"), section).failure_detectors, std::vector<std::string>{"swim"});
  const auto& schema = pm.failure_detector_config("swim").values();
  EXPECT_EQ(section->values.size(), schema.size());
  for (const auto& [key, value] : schema) {
    const IniValue* v = section->find(key);
    ASSERT_NE(v, nullptr) << "swim.ini does not document '" << key << "'";
    EXPECT_EQ(v->value, value) << v->where << ": '" << key << "' is not the default";
  }
  const auto error = [](const std::string& text) -> std::string {
    const IniFile bad = IniFile::parse(text, "node.ini");
    PluginManager p;
    try {
      p.load(plugin_path("swim"), bad.section("swim"));
    } catch (const PluginError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(error("[swim]\n"), "");
  EXPECT_NE(error("[swim]\nprobe_interval_ms = 5\n").find("out of range"), std::string::npos);
  EXPECT_NE(error("[swim]\nindirect_checks = 17\n").find("out of range"), std::string::npos);
  EXPECT_NE(error("[swim]\nprobe_timeout_ms = 500\n").find("must be below probe_interval_ms"), std::string::npos);
  EXPECT_NE(error("[swim]\nprotocol = c\n").find("multicast"), std::string::npos);
  EXPECT_NE(error("[swim]\nprotocol =\n").find("[swim] protocol"), std::string::npos);
  EXPECT_NE(error("[swim]\nprobe_every = 1\n"), "");
}

TEST(DiscoverySamples, BadValuesFailTheLoadWithTheFix) {
  const auto error = [](const std::string& plugin, const std::string& text) -> std::string {
    const IniFile ini = IniFile::parse(text, "node.ini");
    PluginManager pm;
    try {
      pm.load(plugin_path(plugin), ini.section(plugin));
    } catch (const PluginError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error("dns", "[dns]\n").find("[dns] name is required"), std::string::npos);
  EXPECT_NE(error("dns", "[dns]\nname = members.example.org\n").find("[dns] port is required with A/AAAA"),
            std::string::npos);
  EXPECT_NE(error("dns", "[dns]\nname = _c._tcp.x\nrecord = mx\n").find("use srv, a or auto"), std::string::npos);
  EXPECT_NE(error("dns", "[dns]\nname = _c._tcp.x\nserver = [::1\n").find("[dns] server: "), std::string::npos);
  EXPECT_NE(error("etcd", "[etcd]\nendpoints = https://e:2379\n").find("[etcd] endpoints: "), std::string::npos);
  EXPECT_NE(error("etcd", "[etcd]\nttl_s = 1\n").find("out of range"), std::string::npos);
  EXPECT_EQ(error("etcd", "[etcd]\n"), "");  // every default works
}

}  // namespace
}  // namespace cluster::test
