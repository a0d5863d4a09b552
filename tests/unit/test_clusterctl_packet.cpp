// `clusterctl packet encode|decode` through its command function (the binary is a thin main).
#include <gtest/gtest.h>

#include <sstream>

#include "packet_command.hpp"

namespace {

struct Run {
  int rc;
  std::string out, err;
};

Run run(std::vector<std::string> args, const std::string& input = "") {
  std::istringstream in(input);
  std::ostringstream out, err;
  const int rc = clusterctl::run_packet(args, in, out, err);
  return {rc, out.str(), err.str()};
}

constexpr const char* kHeartbeat =
    "c08d460408586b346d5039717a031130323a30303a30303a30303a30303a3031010102000702017401630a0e7420"
    "7b706f72742034303132337d05000c0205616c70686104626574610000";

}  // namespace

TEST(ClusterctlPacket, DecodesHexArgumentAsJson) {
  auto r = run({"packet", "decode", "--json", kHeartbeat});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "{\"fields\": [[\"sid\", \"Xk4mP9qz\"], [\"hid\", \"02:00:00:00:00:01\"], [\"type\", 1], "
            "[\"channel\", 0], [\"protocols\", [\"t\", \"c\"]], [\"data\", \"t {port 40123}\"], "
            "[\"known\", 0], [\"tags\", [\"alpha\", \"beta\"]]]}\n");
}

TEST(ClusterctlPacket, EncodeIsTheInverseOfDecode) {
  auto d = run({"packet", "decode", "--json"}, kHeartbeat);
  ASSERT_EQ(d.rc, 0);
  auto e = run({"packet", "encode"}, d.out);
  ASSERT_EQ(e.rc, 0) << e.err;
  EXPECT_EQ(e.out, std::string(kHeartbeat) + "\n");
  auto b = run({"packet", "encode", "--binary"}, d.out);
  ASSERT_EQ(b.rc, 0);
  auto d2 = run({"packet", "decode", "--json"}, b.out);  // raw bytes on stdin
  EXPECT_EQ(d2.out, d.out);
}

TEST(ClusterctlPacket, SeveralPacketsGiveOneObjectPerLine) {
  auto r = run({"packet", "decode", "--json"}, "c08d0501010401410000 c08d0501020401420000\n");
  ASSERT_EQ(r.rc, 0);
  EXPECT_EQ(r.out,
            "{\"fields\": [[\"type\", 1], [\"sid\", \"A\"]]}\n"
            "{\"fields\": [[\"type\", 2], [\"sid\", \"B\"]]}\n");
}

TEST(ClusterctlPacket, HumanOutputNamesTheType) {
  auto r = run({"packet", "decode", kHeartbeat});
  ASSERT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("type       = 1 (heartbeat)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("protocols  = t c"), std::string::npos) << r.out;
}

TEST(ClusterctlPacket, BadInputIsOneLineAndNonZero) {
  for (const auto& [args, input, needle] : std::vector<std::tuple<std::vector<std::string>, std::string, std::string>>{
           {{"packet", "decode", "zz"}, "", "neither hex"},
           {{"packet", "decode", "c08d02"}, "", "no intact packet"},
           {{"packet", "decode", "c08d0210010000"}, "", "unknown field id 16"},
           {{"packet", "encode"}, "{\"fields\": [[\"nope\", 1]]}", "unknown field 'nope'"},
           {{"packet", "encode"}, "{\"fields\": [[\"type\", -1]]}", "negative"},
           {{"packet", "encode"}, "{\"fields\": [[\"type\", \"1\"]]}", "expected a number"},
           {{"packet", "encode"}, "not json", "invalid JSON"},
           {{"packet", "encode"}, "", "no JSON object"},
       }) {
    auto r = run(args, input);
    EXPECT_EQ(r.rc, 1) << needle;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_EQ(run({"packet", "frobnicate"}).rc, 2);
  EXPECT_EQ(run({"packet", "decode", "--bogus"}).rc, 2);
}

TEST(ClusterctlPacket, EncodesBigNumbersBytesAndTclStringLists) {
  auto r = run({"packet", "encode"},
               "{\"fields\": [[\"timestamp\", 18446744073709551615], [\"hid\", {\"bytes_hex\": \"fffe\"}], "
               "[\"tags\", \"one two three\"], [\"raw\", \"00ff\"], [\"keepalive\", true]]}");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "c08d2506ffffffffffffffffff01" "0302fffe" "0c03036f6e650374776f057468726565"
            "0b0200ff" "0d01" "0000\n");
}
