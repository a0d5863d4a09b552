#include <gtest/gtest.h>

#include <limits>

#include "cluster/bpacket/varint.hpp"
#include "cluster/text.hpp"

using namespace cluster::bpacket;

namespace {

std::string enc(std::uint64_t v) {
  std::string s;
  append_varint(s, v);
  return cluster::to_hex(s);
}

Status dec(const std::string& hex, std::uint64_t& v, std::size_t& used) {
  const std::string b = *cluster::from_hex(hex);
  const auto* p = reinterpret_cast<const std::uint8_t*>(b.data());
  const auto* start = p;
  Status s = read_varint(p, p + b.size(), v);
  used = static_cast<std::size_t>(p - start);
  return s;
}

}  // namespace

TEST(Varint, EncodesBoundaries) {
  EXPECT_EQ(enc(0), "00");
  EXPECT_EQ(enc(127), "7f");
  EXPECT_EQ(enc(128), "8001");
  EXPECT_EQ(enc(300), "ac02");
  EXPECT_EQ(enc(1ULL << 32), "8080808010");
  EXPECT_EQ(enc((1ULL << 63) - 1), "ffffffffffffffff7f");
  EXPECT_EQ(enc(std::numeric_limits<std::uint64_t>::max()), "ffffffffffffffffff01");
}

TEST(Varint, SizeMatchesEncoding) {
  for (std::uint64_t v : {0ULL, 127ULL, 128ULL, 16383ULL, 16384ULL, 1ULL << 32, ~0ULL})
    EXPECT_EQ(varint_size(v) * 2, enc(v).size()) << v;
}

TEST(Varint, RoundTripsBoundaries) {
  for (std::uint64_t v : {0ULL, 1ULL, 127ULL, 128ULL, 255ULL, 16383ULL, 16384ULL, 1ULL << 32,
                          (1ULL << 63) - 1, 1ULL << 63, ~0ULL}) {
    std::uint64_t got = 1234;
    std::size_t used = 0;
    ASSERT_TRUE(dec(enc(v), got, used)) << v;
    EXPECT_EQ(got, v);
    EXPECT_EQ(used, varint_size(v));
  }
}

TEST(Varint, RejectsOverflow) {
  std::uint64_t v = 0;
  std::size_t used = 0;
  EXPECT_EQ(dec("80808080808080808002", v, used).code(), Errc::varint_overflow);  // 2^64
  EXPECT_EQ(dec("ffffffffffffffffff81", v, used).code(), Errc::varint_overflow);
  EXPECT_EQ(dec("ffffffffffffffffffff01", v, used).code(), Errc::varint_overflow);
  EXPECT_EQ(used, 0u);  // nothing consumed on error
}

TEST(Varint, RejectsTruncation) {
  std::uint64_t v = 0;
  std::size_t used = 0;
  EXPECT_EQ(dec("", v, used).code(), Errc::truncated_varint);
  EXPECT_EQ(dec("80", v, used).code(), Errc::truncated_varint);
  EXPECT_EQ(dec("ffffff", v, used).code(), Errc::truncated_varint);
}

TEST(Varint, AcceptsNonCanonical) {
  std::uint64_t v = 9;
  std::size_t used = 0;
  ASSERT_TRUE(dec("8000", v, used));
  EXPECT_EQ(v, 0u);
  EXPECT_EQ(used, 2u);
}
