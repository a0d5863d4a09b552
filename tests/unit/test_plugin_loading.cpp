// The plugin loader (PluginManager) against the fixture plugins of tests/fixtures/plugins: one
// test per PluginErrc, each checking the code, that the message names the plugin path and that
// the manager still works afterwards; config validation; factories that throw; the lifetime of
// libraries (reverse unload order, objects keeping their library loaded, no UNIQUE symbols).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cluster/event_loop.hpp"
#include "cluster/ini.hpp"
#include "cluster/plugin_manager.hpp"
#include "cluster/tcl.hpp"

#ifndef CLUSTER_FIXTURE_PLUGIN_DIR
#error "CLUSTER_FIXTURE_PLUGIN_DIR must name the directory of the fixture plugins"
#endif

using namespace cluster;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

std::string fixture(const std::string& name) {
  return std::string(CLUSTER_FIXTURE_PLUGIN_DIR) + "/cluster-fixture-" + name + ".so";
}

/// What fixture plugins appended to CLUSTER_FIXTURE_LOG ("shutdown:good unload:good ").
std::string fixture_log() {
  const char* s = std::getenv("CLUSTER_FIXTURE_LOG");
  return s != nullptr ? s : "";
}

/// Whether the file is mapped into this process (i.e. its library is loaded).
bool mapped(const std::string& path) {
  const std::string real = std::filesystem::canonical(path).string();
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line))
    if (line.size() >= real.size() && line.compare(line.size() - real.size(), real.size(), real) == 0) return true;
  return false;
}

class FakeProtocolHost final : public sdk::ProtocolHost {
 public:
  // The config is copied: the host may outlive the manager that validated it.
  FakeProtocolHost(EventLoop& loop, sdk::PluginConfig config) : loop_(loop), config_(std::move(config)) {}
  sdk::EventLoop& loop() noexcept override { return loop_; }
  void log(sdk::LogLevel, std::string_view message) noexcept override { logged.emplace_back(message); }
  const sdk::ClusterSettings& settings() const noexcept override { return settings_; }
  const sdk::PluginConfig& config() const noexcept override { return config_; }
  void received(std::string_view, const sdk::Origin&) noexcept override {}
  void connection_closed(sdk::ConnectionId) noexcept override {}
  void props_changed() noexcept override {}
  std::vector<std::string> logged;

 private:
  EventLoop& loop_;
  sdk::ClusterSettings settings_;
  sdk::PluginConfig config_;
};

class FakeHookSetHost final : public sdk::HookSetHost {
 public:
  explicit FakeHookSetHost(EventLoop& loop) : loop_(loop) {}
  sdk::EventLoop& loop() noexcept override { return loop_; }
  void log(sdk::LogLevel, std::string_view) noexcept override {}
  const sdk::ClusterSettings& settings() const noexcept override { return settings_; }
  const sdk::PluginConfig& config() const noexcept override { return config_; }
  void encode(const Payload&, std::string&) const noexcept override {}

 private:
  EventLoop& loop_;
  sdk::ClusterSettings settings_;
  sdk::PluginConfig config_;
};

class FakeRegistry final : public HookRegistry {
 public:
  HookId add(HookPoint, std::string name, HookFn, int, std::string) noexcept override {
    names.push_back(std::move(name));
    return names.size();
  }
  bool remove(HookId) noexcept override { return true; }
  std::vector<std::string> names;
};

class PluginLoading : public ::testing::Test {
 protected:
  void SetUp() override { ::unsetenv("CLUSTER_FIXTURE_LOG"); }

  /// Loads `path` expecting PluginError `code` that names the path; returns what().
  std::string expect_error(const std::string& path, PluginErrc code, const IniSection* section = nullptr) {
    try {
      pm.load(path, section);
    } catch (const PluginError& e) {
      EXPECT_EQ(e.code(), code) << e.what();
      EXPECT_EQ(e.path(), path);
      EXPECT_THAT(e.what(), HasSubstr(path));
      EXPECT_THAT(e.what(), HasSubstr(std::string(plugin_errc_name(code))));
      return e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not a PluginError: " << e.what();
      return {};
    }
    ADD_FAILURE() << path << " loaded, expected " << plugin_errc_name(code);
    return {};
  }

  /// The manager survived: the good fixture loads (unless it already is) and creates "fx".
  void expect_still_works() {
    if (!pm.has_protocol("fx")) {
      ASSERT_NO_THROW(pm.load(fixture("good")));
    }
    FakeProtocolHost host(loop, pm.protocol_config("fx"));
    auto p = pm.create_protocol("fx", host);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->id(), "fx");
    EXPECT_TRUE(p->start());
    p->stop();
  }

  EventLoop loop;
  PluginManager pm;
};

TEST_F(PluginLoading, FixturesWereBuilt) {
  for (const char* name : {"good", "good2", "duplicate", "duplicate_hooks", "abi_major", "abi_minor", "bad_size",
                           "build_key", "not_a_plugin", "init_fails", "throws_in_factory", "missing_dep", "not_elf",
                           "ranged", "bad_range", "v1_1"})
    EXPECT_TRUE(std::filesystem::exists(fixture(name))) << fixture(name);
  EXPECT_TRUE(std::filesystem::exists(std::string(CLUSTER_FIXTURE_PLUGIN_DIR) + "/deps/libfixture_dep.so"));
}

TEST_F(PluginLoading, GoodPluginRegistersProtocolAndHookSet) {
  const PluginInfo& info = pm.load(fixture("good"));
  EXPECT_EQ(info.name, "good");
  EXPECT_EQ(info.version, "1.0.0");
  EXPECT_EQ(info.path, fixture("good"));
  EXPECT_EQ(info.protocols, std::vector<std::string>{"fx"});
  EXPECT_EQ(info.hook_sets, std::vector<std::string>{"fxhooks"});
  ASSERT_EQ(pm.plugins().size(), 1u);
  EXPECT_TRUE(pm.has_protocol("fx"));
  EXPECT_TRUE(pm.has_hook_set("fxhooks"));

  // Defaults fill every schema key.
  EXPECT_EQ(pm.protocol_config("fx").get("level"), "1");
  EXPECT_EQ(pm.protocol_config("fx").get("loud"), "false");
  FakeProtocolHost host(loop, pm.protocol_config("fx"));
  auto p = pm.create_protocol("fx", host);
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(p->start());
  EXPECT_EQ(p->props(), (Dict{{"level", "1"}, {"loud", "0"}, {"started", "1"}}));
  p->stop();

  FakeHookSetHost hhost(loop);
  auto hs = pm.create_hook_set("fxhooks", hhost);
  ASSERT_NE(hs, nullptr);
  FakeRegistry reg;
  EXPECT_TRUE(hs->attach(reg));
  EXPECT_EQ(reg.names, std::vector<std::string>{"fxhooks.event"});
}

TEST_F(PluginLoading, ConfigValuesReachThePlugin) {
  const IniFile ini = IniFile::parse("[good]\nlevel = -5\nloud = yes\n", "node.ini");
  pm.load(fixture("good"), ini.section("good"));
  EXPECT_EQ(pm.protocol_config("fx").section(), "good");
  EXPECT_EQ(pm.hook_set_config("fxhooks").get("level"), "-5");
  FakeProtocolHost host(loop, pm.protocol_config("fx"));
  auto p = pm.create_protocol("fx", host);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->props(), (Dict{{"level", "-5"}, {"loud", "1"}, {"started", "0"}}));
}

// ---- one test per error code ----

TEST_F(PluginLoading, FileMissing) {
  const std::string path = fixture("does_not_exist");
  const std::string msg = expect_error(path, PluginErrc::file_missing);
  EXPECT_THAT(msg, HasSubstr("no such file"));
  expect_still_works();
}

TEST_F(PluginLoading, OpenFailedForATextFile) {
  const std::string msg = expect_error(fixture("not_elf"), PluginErrc::open_failed);
  EXPECT_THAT(msg, AnyOf(HasSubstr("invalid ELF header"), HasSubstr("file too short")));
  expect_still_works();
}

TEST_F(PluginLoading, OpenFailedForAMissingDependencyNamesTheLibrary) {
  const std::string msg = expect_error(fixture("missing_dep"), PluginErrc::open_failed);
  EXPECT_THAT(msg, HasSubstr("libfixture_dep.so"));
  EXPECT_THAT(msg, HasSubstr("cannot open shared object file"));
  expect_still_works();
}

TEST_F(PluginLoading, NotAPlugin) {
  const std::string msg = expect_error(fixture("not_a_plugin"), PluginErrc::not_a_plugin);
  EXPECT_THAT(msg, HasSubstr(sdk::kEntrySymbol));
  expect_still_works();
}

TEST_F(PluginLoading, AbiMismatchOtherMajor) {
  const std::string msg = expect_error(fixture("abi_major"), PluginErrc::abi_mismatch);
  EXPECT_THAT(msg, HasSubstr("ABI 99.0"));
  expect_still_works();
}

TEST_F(PluginLoading, AbiMismatchNewerMinor) {
  const std::string msg = expect_error(fixture("abi_minor"), PluginErrc::abi_mismatch);
  EXPECT_THAT(msg, HasSubstr("ABI " + std::to_string(sdk::kAbiMajor) + "." + std::to_string(sdk::kAbiMinor + 1)));
  expect_still_works();
}

TEST_F(PluginLoading, AbiMismatchDescriptorSize) {
  const std::string msg = expect_error(fixture("bad_size"), PluginErrc::abi_mismatch);
  EXPECT_THAT(msg, HasSubstr("descriptor size " + std::to_string(sizeof(sdk::PluginDescriptor) + 8)));
  expect_still_works();
}

// SDK 1.2 appended config_ranges to the descriptor: a plugin built against 1.0/1.1 has the
// shorter descriptor, and the host must neither refuse it nor read past its end (the fixture
// puts a bogus range pointer and count right behind it).
TEST_F(PluginLoading, DescriptorOfSdk11SizeStillLoads) {
  static_assert(sdk::kDescriptorSizeV1_1 < sizeof(sdk::PluginDescriptor), "1.2 appended fields");
  const IniFile ini = IniFile::parse("[v1_1]\nlevel = 99\n", "node.ini");
  const PluginInfo info = pm.load(fixture("v1_1"), ini.section("v1_1"));
  EXPECT_EQ(info.name, "v1_1");
  ASSERT_TRUE(pm.has_protocol("fx11"));
  // No ranges: any integer is fine, as it was for 1.1 plugins.
  FakeProtocolHost host(loop, pm.protocol_config("fx11"));
  auto p = pm.create_protocol("fx11", host);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(cluster::tcl::format_dict(p->props()), "level 99 loud 0 started 0");
  expect_still_works();
}

TEST_F(PluginLoading, ConfigRangeRefusesAnOutOfRangeValueBeforeInit) {
  for (const char* value : {"11", "-1", "99999999999999999999"}) {
    const IniFile ini = IniFile::parse(std::string("[ranged]\nloud = on\nlevel = ") + value + "\n", "node.ini");
    const std::string msg = expect_error(fixture("ranged"), PluginErrc::bad_config, ini.section("ranged"));
    if (std::string(value) == "99999999999999999999") {
      EXPECT_THAT(msg, HasSubstr("node.ini:3: [ranged] level = '99999999999999999999' is not an integer"));
    } else {
      EXPECT_THAT(msg, HasSubstr(std::string("node.ini:3: [ranged] level = '") + value + "' is out of range (0..10)"));
    }
    EXPECT_FALSE(pm.has_protocol("fxr"));
    // Refused before init: the plugin never ran, so it was never shut down either.
    EXPECT_THAT(fixture_log(), Not(HasSubstr("shutdown:ranged")));
  }
  // Both ends are inside, and the default (1) needs no section.
  for (const char* value : {"0", "10", "+10"}) {
    PluginManager m;
    const IniFile ini = IniFile::parse(std::string("[ranged]\nlevel = ") + value + "\n", "node.ini");
    EXPECT_NO_THROW(m.load(fixture("ranged"), ini.section("ranged"))) << value;
  }
  PluginManager m;
  ASSERT_NO_THROW(m.load(fixture("ranged")));
  EXPECT_EQ(m.protocol_config("fxr").get_int("level"), 1);
  expect_still_works();
}

TEST_F(PluginLoading, ConfigRangeForANonIntegerKeyIsRefused) {
  const std::string msg = expect_error(fixture("bad_range"), PluginErrc::bad_config);
  EXPECT_THAT(msg, HasSubstr("range for 'loud', which is no integer key"));
  expect_still_works();
}

TEST_F(PluginLoading, BuildMismatch) {
  const std::string msg = expect_error(fixture("build_key"), PluginErrc::build_mismatch);
  EXPECT_THAT(msg, HasSubstr("sdk1,libstdc++0,cxx11abi=0"));
  EXPECT_THAT(msg, HasSubstr(CLUSTER_SDK_BUILD_KEY));
  expect_still_works();
}

TEST_F(PluginLoading, DuplicateProtocolId) {
  pm.load(fixture("good"));
  const std::string msg = expect_error(fixture("duplicate"), PluginErrc::duplicate);
  EXPECT_THAT(msg, HasSubstr("'fx'"));
  // Nothing of the refused plugin stays registered, and it was shut down.
  EXPECT_FALSE(pm.has_hook_set("duphooks"));
  EXPECT_EQ(pm.plugins().size(), 1u);
  EXPECT_THAT(fixture_log(), HasSubstr("shutdown:duplicate"));
  expect_still_works();
}

TEST_F(PluginLoading, DuplicateHookSetName) {
  pm.load(fixture("good"));
  const std::string msg = expect_error(fixture("duplicate_hooks"), PluginErrc::duplicate);
  EXPECT_THAT(msg, HasSubstr("'fxhooks'"));
  EXPECT_FALSE(pm.has_protocol("fx3"));
  EXPECT_EQ(pm.plugins().size(), 1u);
  expect_still_works();
}

TEST_F(PluginLoading, DuplicatePluginName) {
  pm.load(fixture("good"));
  const std::string msg = expect_error(fixture("good"), PluginErrc::duplicate);
  EXPECT_THAT(msg, HasSubstr("already loaded"));
  expect_still_works();
}

TEST_F(PluginLoading, InitFailedWithThePluginsMessage) {
  const std::string msg = expect_error(fixture("init_fails"), PluginErrc::init_failed);
  EXPECT_THAT(msg, HasSubstr("no licence"));
  EXPECT_FALSE(pm.has_protocol("fxinit"));  // registered before refusing: not kept
  EXPECT_TRUE(pm.plugins().empty());
  expect_still_works();
}

TEST_F(PluginLoading, BadConfigUnknownKey) {
  const IniFile ini = IniFile::parse("[good]\nlevel = 2\nvolume = 11\n", "node.ini");
  const std::string msg = expect_error(fixture("good"), PluginErrc::bad_config, ini.section("good"));
  EXPECT_THAT(msg, HasSubstr("node.ini:3"));
  EXPECT_THAT(msg, HasSubstr("unknown key 'volume'"));
  EXPECT_THAT(msg, HasSubstr("level, loud"));
  EXPECT_FALSE(pm.has_protocol("fx"));
  expect_still_works();
}

TEST_F(PluginLoading, BadConfigNonInteger) {
  const IniFile ini = IniFile::parse("; levels\n[good]\n\nlevel = high\n", "node.ini");
  const std::string msg = expect_error(fixture("good"), PluginErrc::bad_config, ini.section("good"));
  EXPECT_THAT(msg, HasSubstr("node.ini:4"));
  EXPECT_THAT(msg, HasSubstr("'high' is not an integer"));
  expect_still_works();
}

TEST_F(PluginLoading, BadConfigNonBoolean) {
  const IniFile ini = IniFile::parse("[good]\nloud = very\n", "node.ini");
  const std::string msg = expect_error(fixture("good"), PluginErrc::bad_config, ini.section("good"));
  EXPECT_THAT(msg, HasSubstr("node.ini:2"));
  EXPECT_THAT(msg, HasSubstr("not a boolean"));
  expect_still_works();
}

// ---- factories and lifetime ----

TEST_F(PluginLoading, ThrowingFactoriesGiveNullNotACrash) {
  pm.load(fixture("throws_in_factory"));
  FakeProtocolHost host(loop, pm.protocol_config("fxthrow"));
  EXPECT_EQ(pm.create_protocol("fxthrow", host), nullptr);
  FakeHookSetHost hhost(loop);
  EXPECT_EQ(pm.create_hook_set("fxthrowhooks", hhost), nullptr);
  expect_still_works();
}

TEST_F(PluginLoading, UnknownIdIsOutOfRange) {
  FakeProtocolHost host(loop, {});
  EXPECT_THROW(pm.create_protocol("nope", host), std::out_of_range);
}

TEST(PluginLifetime, ManagerUnloadsInReverseLoadOrder) {
  ::unsetenv("CLUSTER_FIXTURE_LOG");
  EventLoop loop;
  auto pm = std::make_unique<PluginManager>();
  pm->load(fixture("good"));
  pm->load(fixture("good2"));
  {
    FakeProtocolHost h1(loop, pm->protocol_config("fx"));
    FakeProtocolHost h2(loop, pm->protocol_config("fx2"));
    FakeHookSetHost hh(loop);
    auto p1 = pm->create_protocol("fx", h1);
    auto p2 = pm->create_protocol("fx2", h2);
    auto s1 = pm->create_hook_set("fxhooks", hh);
    auto s2 = pm->create_hook_set("fxhooks2", hh);
    ASSERT_TRUE(p1 && p2 && s1 && s2);
    EXPECT_TRUE(p1->start());
    EXPECT_TRUE(p2->start());
  }  // every object released before the manager goes
  EXPECT_TRUE(mapped(fixture("good")));
  EXPECT_TRUE(mapped(fixture("good2")));
  EXPECT_EQ(fixture_log(), "");
  pm.reset();
  const std::string log = fixture_log();
  const auto at = [&](const char* what) {
    const auto pos = log.find(what);
    EXPECT_NE(pos, std::string::npos) << what << " missing from: " << log;
    return pos;
  };
  EXPECT_LT(at("shutdown:good2 "), at("shutdown:good "));
  EXPECT_LT(at("unload:good2 "), at("unload:good "));
  EXPECT_LT(at("shutdown:good2 "), at("unload:good2 "));
  EXPECT_LT(at("shutdown:good "), at("unload:good "));
  // Really unloaded (no STB_GNU_UNIQUE symbol pins them).
  EXPECT_FALSE(mapped(fixture("good")));
  EXPECT_FALSE(mapped(fixture("good2")));
}

TEST(PluginLifetime, ObjectKeepsItsLibraryLoadedAfterTheManagerIsGone) {
  ::unsetenv("CLUSTER_FIXTURE_LOG");
  EventLoop loop;
  auto pm = std::make_unique<PluginManager>();
  pm->load(fixture("good"));
  FakeProtocolHost host(loop, pm->protocol_config("fx"));
  FakeHookSetHost hhost(loop);
  std::shared_ptr<sdk::Protocol> p = pm->create_protocol("fx", host);
  std::shared_ptr<sdk::HookSet> hs = pm->create_hook_set("fxhooks", hhost);
  ASSERT_TRUE(p && hs);
  pm.reset();
  EXPECT_TRUE(mapped(fixture("good")));
  EXPECT_THAT(fixture_log(), Not(HasSubstr("unload:good")));
  // Plugin code still runs: virtual calls into the library.
  EXPECT_EQ(p->id(), "fx");
  EXPECT_TRUE(p->start());
  EXPECT_EQ(p->props(), (Dict{{"level", "1"}, {"loud", "0"}, {"started", "1"}}));
  p->stop();
  FakeRegistry reg;
  EXPECT_TRUE(hs->attach(reg));
  p.reset();
  EXPECT_TRUE(mapped(fixture("good")));  // the hook set still holds it
  hs.reset();
  EXPECT_THAT(fixture_log(), HasSubstr("unload:good"));
  EXPECT_FALSE(mapped(fixture("good")));
}

TEST(PluginLifetime, GoodFixtureHasNoUniqueSymbols) {
  if (std::system("command -v readelf >/dev/null 2>&1") != 0) GTEST_SKIP() << "readelf not installed";
  const std::string cmd = "readelf -sW --dyn-syms '" + fixture("good") + "' 2>&1";
  FILE* f = ::popen(cmd.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  ASSERT_EQ(::pclose(f), 0) << out;
  ASSERT_THAT(out, HasSubstr("cluster_plugin_descriptor"));
  std::size_t unique = 0;
  for (std::size_t pos = 0; (pos = out.find("UNIQUE", pos)) != std::string::npos; pos += 6) ++unique;
  EXPECT_EQ(unique, 0u) << out;
}

}  // namespace
