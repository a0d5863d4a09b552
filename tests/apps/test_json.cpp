// The control protocol's JSON helpers and the member shape.
#include <gtest/gtest.h>

#include "json_text.hpp"
#include "member_json.hpp"

using namespace clusterapp;

TEST(AppJson, CompactLinesKeepInsertionOrder) {
  JsonPtr o = object();
  o->set("z", 1);
  o->set("a", std::string("x\"y\n"));
  o->set("list", string_array({"p", "q"}));
  EXPECT_EQ(to_line(o), R"({"z":1,"a":"x\"y\n","list":["p","q"]})");
  EXPECT_EQ(to_line(ok_object()), R"({"ok":true})");
  EXPECT_EQ(to_line(error_object("bad")), R"({"ok":false,"error":"bad"})");
}

TEST(AppJson, InvalidUtf8BecomesLatin1CodePoints) {
  EXPECT_EQ(utf8_safe("plain"), "plain");
  EXPECT_EQ(utf8_safe("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(utf8_safe("\xff"), "\xc3\xbf");
  EXPECT_EQ(utf8_safe("a\xc3"), "a\xc3\x83");              // truncated sequence
  EXPECT_EQ(utf8_safe("\xed\xa0\x80"), "\xc3\xad\xc2\xa0\xc2\x80");  // a surrogate
  EXPECT_EQ(utf8_safe("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");
}

TEST(AppJson, ParsesObjectsAndKeepsTheirOrder) {
  JsonPtr o = parse_object(R"({"b":1,"a":"x","c":[1,2]})");
  std::vector<std::string> names;
  o->getNames(names);
  EXPECT_EQ(names, (std::vector<std::string>{"b", "a", "c"}));
  EXPECT_THROW(parse_object("{bad"), RequestError);
  EXPECT_THROW(parse_object("[1,2]"), RequestError);
  EXPECT_THROW(parse_object("\"text\""), RequestError);
}

TEST(AppJson, FieldAccessNamesTheField) {
  JsonPtr o = parse_object(R"({"s":"x","n":5,"neg":-1,"f":1.5,"b":true,"list":["a","b"],"mixed":["a",1]})");
  EXPECT_EQ(get_string(o, "s"), "x");
  EXPECT_EQ(get_string(o, "missing", "d"), "d");
  EXPECT_EQ(get_uint(o, "n", 0), 5u);
  EXPECT_EQ(get_uint(o, "missing", 7), 7u);
  EXPECT_TRUE(get_bool(o, "b", false));
  EXPECT_EQ(get_strings(o, "list"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(get_strings(o, "missing").empty());
  const auto message = [&](auto fn) {
    try {
      fn();
    } catch (const RequestError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([&] { get_string(o, "missing"); }), "'missing' is missing");
  EXPECT_EQ(message([&] { get_string(o, "n"); }), "'n' must be a string");
  EXPECT_EQ(message([&] { get_uint(o, "neg", 0); }), "'neg' must be a non-negative integer");
  EXPECT_EQ(message([&] { get_uint(o, "f", 0); }), "'f' must be a non-negative integer");
  EXPECT_EQ(message([&] { get_uint(o, "s", 0); }), "'s' must be a non-negative integer");
  EXPECT_EQ(message([&] { get_uint(o, "b", 0); }), "'b' must be a non-negative integer");
  EXPECT_EQ(message([&] { get_strings(o, "mixed"); }), "'mixed' must be an array of strings");
  EXPECT_EQ(message([&] { get_strings(o, "s"); }), "'s' must be an array of strings");
  EXPECT_EQ(message([&] { get_bool(o, "s", false); }), "'s' must be true or false");
}

TEST(AppJson, MemberShapeIsExactlyAsDocumented) {
  cluster::ServiceInfo i;
  i.sid = "Xk4mP9qz";
  i.hid = "02:00:00:00:00:01";
  i.uuid = i.sid + "@" + i.hid;
  i.ip = "127.0.0.1";
  i.local = true;
  i.found_by = "seeds";
  i.tags = {"alpha", "two words"};
  i.protocols = {"t", "u", "c"};
  i.props = {{"t", {{"port", "40123"}}}, {"u", {{"path", "/tmp/x.sock"}}}, {"c", {}}};
  const auto now = std::chrono::steady_clock::now();
  i.last_seen = now - std::chrono::milliseconds(1234);
  EXPECT_EQ(to_line(member_json(i, now)),
            R"({"uuid":"Xk4mP9qz@02:00:00:00:00:01","sid":"Xk4mP9qz","hid":"02:00:00:00:00:01",)"
            R"("ip":"127.0.0.1","tags":["alpha","two words"],"protocols":["t","u","c"],)"
            R"("props":{"t":{"port":"40123"},"u":{"path":"/tmp/x.sock"},"c":{}},"local":true,"found_by":"seeds",)"
            R"("last_seen":1234})");
}
