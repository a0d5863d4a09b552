#include <gtest/gtest.h>

#include "cluster/tcl.hpp"
#include "vectors.hpp"

#include <Poco/JSON/Array.h>

using namespace cluster::tcl;

namespace {

std::vector<std::string> parsed(std::string_view s) {
  std::vector<std::string> out;
  std::string err;
  EXPECT_TRUE(parse_list(s, out, &err)) << s << ": " << err;
  return out;
}

void round_trip(const std::vector<std::string>& elems) {
  const std::string s = format_list(elems);
  EXPECT_EQ(parsed(s), elems) << "formatted as: " << s;
}

}  // namespace

TEST(Tcl, FormatsPlainAndQuotedElements) {
  EXPECT_EQ(format_list({"a", "b"}), "a b");
  EXPECT_EQ(format_list({"a b", "", "c"}), "{a b} {} c");
  EXPECT_EQ(format_dict({{"t", "port 40123"}, {"u", "path /tmp/x.sock"}}),
            "t {port 40123} u {path /tmp/x.sock}");
  EXPECT_EQ(quote("a{b"), "a\\{b");   // unbalanced: backslashes, not braces
  EXPECT_EQ(quote("x\\"), "x\\\\");  // trailing backslash cannot sit before a closing brace
  EXPECT_EQ(quote("#c"), "{#c}");
}

TEST(Tcl, ParsesTclSyntax) {
  EXPECT_EQ(parsed("  a\tb\n c  "), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(parsed("{a {b c}} d"), (std::vector<std::string>{"a {b c}", "d"}));
  EXPECT_EQ(parsed("\"x y\" z"), (std::vector<std::string>{"x y", "z"}));
  EXPECT_EQ(parsed("a\\ b c"), (std::vector<std::string>{"a b", "c"}));
  EXPECT_EQ(parsed("\\u00e9 \\x41 \\101 \\n"), (std::vector<std::string>{"\xc3\xa9", "A", "A", "\n"}));
  EXPECT_EQ(parsed("{a\\}b}"), (std::vector<std::string>{"a\\}b"}));  // braces keep backslashes
  EXPECT_TRUE(parsed("").empty());
  EXPECT_TRUE(parsed("   ").empty());
}

TEST(Tcl, RejectsMalformedLists) {
  std::vector<std::string> out;
  std::string err;
  EXPECT_FALSE(parse_list("{a b", out, &err));
  EXPECT_NE(err.find("unmatched open brace"), std::string::npos);
  EXPECT_FALSE(parse_list("\"a b", out, &err));
  EXPECT_FALSE(parse_list("{a}b", out, &err));
  EXPECT_NE(err.find("instead of space"), std::string::npos);
  Dict d;
  EXPECT_FALSE(parse_dict("a b c", d, &err));
  EXPECT_NE(err.find("missing value"), std::string::npos);
}

TEST(Tcl, RoundTripsQuotingCases) {
  round_trip({"a b", "c", "  d  "});                      // spaces (vector list_spaces)
  round_trip({"", "x", ""});                              // empty elements
  round_trip({"{", "}", "a{b", "}{", "{a}", "{{}}"});     // braces, balanced and not
  round_trip({"\\", "a\\", "\\{", "x\\ny", "back\\\\slash"});  // backslashes
  round_trip({"caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80"});  // unicode
  round_trip({"$x", "[cmd]", "a;b", "\"q\"", "#hash", "tab\tnl\ncr\r"});
  round_trip({std::string("nul\0x", 5)});
}

TEST(Tcl, RoundTripsEveryListInTheVectors) {
  int lists = 0;
  for (const auto& line : cluster::test::read_jsonl("bpacket.jsonl")) {
    if (!line->has("fields")) continue;
    auto fields = line->getArray("fields");
    for (unsigned i = 0; i < fields->size(); ++i) {
      auto pair = fields->getArray(i);
      if (!pair->isArray(1)) continue;
      std::vector<std::string> elems;
      auto arr = pair->getArray(1);
      for (unsigned k = 0; k < arr->size(); ++k) elems.push_back(arr->getElement<std::string>(k));
      round_trip(elems);
      ++lists;
    }
  }
  EXPECT_GT(lists, 10);
}

TEST(Tcl, DictKeepsFirstPositionLastValue) {
  Dict d;
  ASSERT_TRUE(parse_dict("t {port 1} u {path /x} t {port 2}", d));
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].first, "t");
  EXPECT_EQ(d[0].second, "port 2");
  EXPECT_EQ(*dict_get(d, "u"), "path /x");
  EXPECT_EQ(dict_get(d, "z"), nullptr);
  dict_set(d, "z", "1");
  EXPECT_EQ(format_dict(d), "t {port 2} u {path /x} z 1");
}
