// The SDK's header-only helpers plugins use instead of their own copies: cluster/sdk/text.hpp
// (strict integers, control characters, printable text; its Tcl functions are the core's and are
// tested through cluster/tcl.hpp in test_tcl.cpp) and cluster/sdk/boundary.hpp (exceptions into
// Results, log lines, fallbacks and init errors).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "cluster/sdk/boundary.hpp"
#include "cluster/sdk/text.hpp"
#include "cluster/tcl.hpp"
#include "cluster/text.hpp"

namespace {

namespace text = cluster::sdk::text;
namespace sdk = cluster::sdk;
using ::testing::HasSubstr;

TEST(SdkText, ParseIntIsStrict) {
  EXPECT_EQ(text::parse_int("0"), 0);
  EXPECT_EQ(text::parse_int("-0"), 0);
  EXPECT_EQ(text::parse_int("+42"), 42);
  EXPECT_EQ(text::parse_int("-17"), -17);
  EXPECT_EQ(text::parse_int("007"), 7);
  EXPECT_EQ(text::parse_int("9223372036854775807"), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(text::parse_int("-9223372036854775808"), std::numeric_limits<std::int64_t>::min());
  for (const char* bad : {"", "-", "+", " 1", "1 ", "0x10", "12k", "1.5", "--1", "+-1", "9223372036854775808",
                          "-9223372036854775809", "99999999999999999999"})
    EXPECT_FALSE(text::parse_int(bad).has_value()) << "'" << bad << "'";
}

TEST(SdkText, ParseIntKeepsToItsRange) {
  EXPECT_EQ(text::parse_int("0", 0, 10), 0);
  EXPECT_EQ(text::parse_int("10", 0, 10), 10);
  EXPECT_FALSE(text::parse_int("11", 0, 10).has_value());
  EXPECT_FALSE(text::parse_int("-1", 0, 10).has_value());
}

TEST(SdkText, ParseUintTakesDigitsOnly) {
  EXPECT_EQ(text::parse_uint("18446744073709551615"), std::numeric_limits<std::uint64_t>::max());
  EXPECT_FALSE(text::parse_uint("18446744073709551616").has_value());
  EXPECT_EQ(text::parse_uint("65535", 65535), 65535u);
  EXPECT_FALSE(text::parse_uint("65536", 65535).has_value());
  EXPECT_FALSE(text::parse_uint("655350", 65535).has_value());
  EXPECT_EQ(text::parse_uint("0", 0), 0u);
  EXPECT_FALSE(text::parse_uint("1", 0).has_value());
  for (const char* bad : {"", "+1", "-1", "1 ", "8o"}) EXPECT_FALSE(text::parse_uint(bad).has_value()) << bad;
}

TEST(SdkText, ControlCharacters) {
  EXPECT_FALSE(text::has_control("plain text, ünïcode"));
  EXPECT_TRUE(text::has_control("a\nb"));
  EXPECT_TRUE(text::has_control(std::string("a\0b", 3)));
  EXPECT_TRUE(text::has_control("\x7f"));
  EXPECT_EQ(text::escape_controls("a\nb\t\x1b[2J"), "a\\x0ab\\x09\\x1b[2J");
  EXPECT_EQ(text::escape_controls("a\nb\tc\r\x01", text::Escape::mnemonics), "a\\nb\\tc\\r\\x01");
  EXPECT_EQ(text::escape_controls("grüß"), "grüß");  // valid UTF-8 passes
  // Not UTF-8: every high byte is escaped (a lone 0x9b is CSI on some terminals).
  EXPECT_EQ(text::escape_controls("a\x9b" "2J"), "a\\x9b2J");
  // The core's names are the same functions.
  EXPECT_EQ(cluster::escape_controls("x\x01\xff"), text::escape_controls("x\x01\xff"));
  EXPECT_EQ(cluster::has_control("\x1f"), text::has_control("\x1f"));
}

TEST(SdkText, PrintableCutsAtACharacterBoundary) {
  EXPECT_EQ(text::printable("short"), "short");
  EXPECT_EQ(text::printable("abcdef", 4), "abcd... (6 bytes)");
  // "é" is two bytes: a cut after 3 bytes would split the second one; it backs up instead.
  EXPECT_EQ(text::printable("ééé", 3), "é... (6 bytes)");
  EXPECT_EQ(text::printable("a\nb", 10), "a\\x0ab");
}

TEST(SdkText, TclQuotingRoundTripsAndMatchesTheCore) {
  const std::vector<std::string> elements = {"", "plain", "two words", "{", "}", "a{b", "#x", "\\", "tab\there",
                                             "new\nline", "x}{y", "\"q\"", "$v", "[cmd]", "semi;colon"};
  const std::string list = text::tcl_list(elements);
  EXPECT_EQ(list, cluster::tcl::format_list(elements));
  std::vector<std::string> back;
  std::string error;
  ASSERT_TRUE(text::parse_tcl_list(list, back, &error)) << error;
  EXPECT_EQ(back, elements);
  EXPECT_FALSE(text::parse_tcl_list("{a", back, &error));
  EXPECT_EQ(error, "unmatched open brace in list");
  EXPECT_FALSE(text::parse_tcl_list("{a}b", back, &error));
  EXPECT_EQ(error, "list element in braces followed by \"b\" instead of space");
  text::Dict d;
  ASSERT_TRUE(text::parse_tcl_dict("port 1 path {/tmp/a b} port 2", d));
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(*text::dict_get(d, "port"), "2");  // first position, last value
  EXPECT_EQ(text::tcl_dict(d), "port 2 path {/tmp/a b}");
  EXPECT_FALSE(text::parse_tcl_dict("a b c", d, &error));
  EXPECT_EQ(error, "missing value to go with key");
}

struct LogHost {
  void log(sdk::LogLevel level, std::string_view message) noexcept {
    levels.push_back(level);
    lines.emplace_back(message);
  }
  std::vector<sdk::LogLevel> levels;
  std::vector<std::string> lines;
};

TEST(SdkBoundary, GuardTurnsAnExceptionIntoAFailedResult) {
  const auto ok = [] { return sdk::Result::success(); };
  static_assert(noexcept(sdk::guard("x", ok)), "the adapter is the noexcept boundary");
  EXPECT_TRUE(sdk::guard("tcp: start", [] { return sdk::Result::success(); }));
  const sdk::Result mine = sdk::guard("tcp: start", [] { return sdk::Result::failure("port taken"); });
  EXPECT_EQ(mine.message(), "port taken");
  const sdk::Result thrown =
      sdk::guard("tcp: start", []() -> sdk::Result { throw std::runtime_error("no descriptors"); });
  EXPECT_FALSE(thrown);
  EXPECT_EQ(thrown.message(), "tcp: start: no descriptors");
  const sdk::Result odd = sdk::guard("tcp: send", []() -> sdk::Result { throw 42; });
  EXPECT_EQ(odd.message(), "tcp: send: unknown exception");
}

TEST(SdkBoundary, GuardLogLogsAtErrorLevel) {
  LogHost host;
  EXPECT_TRUE(sdk::guard_log(host, "unix: check", [] {}));
  EXPECT_TRUE(host.lines.empty());
  EXPECT_FALSE(sdk::guard_log(host, "unix: check", [] { throw std::bad_alloc(); }));
  ASSERT_EQ(host.lines.size(), 1u);
  EXPECT_EQ(host.levels[0], sdk::LogLevel::error);
  EXPECT_THAT(host.lines[0], HasSubstr("unix: check: "));
  EXPECT_THAT(host.lines[0], HasSubstr("bad_alloc"));
}

TEST(SdkBoundary, GuardOrFallsBack) {
  EXPECT_EQ(sdk::guard_or(-1, [] { return 7; }), 7);
  EXPECT_EQ(sdk::guard_or(-1, []() -> int { throw std::logic_error("x"); }), -1);
  const cluster::Dict none = sdk::guard_or(cluster::Dict{}, []() -> cluster::Dict { throw std::bad_alloc(); });
  EXPECT_TRUE(none.empty());
}

TEST(SdkBoundary, GuardInitSetsTheError) {
  std::string error;
  EXPECT_TRUE(sdk::guard_init("kv", error, [] { return sdk::Result::success(); }));
  EXPECT_EQ(error, "");
  EXPECT_FALSE(sdk::guard_init("kv", error, [] { return sdk::Result::failure("[kv] bad"); }));
  EXPECT_EQ(error, "[kv] bad");
  EXPECT_FALSE(sdk::guard_init("kv", error, []() -> sdk::Result { throw std::runtime_error("boom"); }));
  EXPECT_EQ(error, "kv: init: boom");
}

struct Made : sdk::HookSet {
  Made(sdk::HookSetHost& /*host*/, std::string a, int b) : a_(std::move(a)), b_(b) {}
  sdk::Result attach(cluster::HookRegistry&) noexcept override { return sdk::Result::failure(a_ + std::to_string(b_)); }
  std::string a_;
  int b_;
};

TEST(SdkBoundary, FactoriesHandOnTheirArguments) {
  const sdk::HookSetFactory f = sdk::hook_set_factory<Made>(std::string("parsed "), 3);
  struct Registry final : cluster::HookRegistry {
    cluster::HookId add(cluster::HookPoint, std::string, cluster::HookFn, int, std::string) noexcept override { return 1; }
    bool remove(cluster::HookId) noexcept override { return true; }
  } registry;
  // The factory only hands the host on; Made ignores it.
  struct Host final : sdk::HookSetHost {
    sdk::EventLoop& loop() noexcept override { std::abort(); }
    void log(sdk::LogLevel, std::string_view) noexcept override {}
    const sdk::ClusterSettings& settings() const noexcept override { return settings_; }
    const sdk::PluginConfig& config() const noexcept override { return config_; }
    void encode(const cluster::Payload&, std::string&) const noexcept override {}
    sdk::ClusterSettings settings_;
    sdk::PluginConfig config_;
  } host;
  for (int i = 0; i < 2; ++i) {  // each call makes a fresh object from the same copied arguments
    auto made = f(host);
    ASSERT_NE(made, nullptr);
    EXPECT_EQ(made->attach(registry).message(), "parsed 3");
  }
}

}  // namespace
