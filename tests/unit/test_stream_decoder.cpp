// The framing stream: chunks split anywhere, several packets per chunk, junk, damage.
#include <gtest/gtest.h>

#include <random>

#include "cluster/bpacket/frame.hpp"
#include "cluster/bpacket/varint.hpp"
#include "cluster/text.hpp"
#include "vectors.hpp"

using namespace cluster::bpacket;

namespace {

std::vector<std::string> golden_packets() {
  std::vector<std::string> out;
  for (const auto& line : cluster::test::read_jsonl("bpacket.jsonl"))
    if (!line->has("frames")) out.push_back(*cluster::from_hex(line->getValue<std::string>("hex")));
  return out;
}

std::vector<std::string> feed_all(StreamDecoder& s, const std::vector<std::string>& chunks) {
  std::vector<std::string> out;
  for (const auto& c : chunks) s.feed(c, [&](const Frame& f) { out.emplace_back(f.packet); });
  return out;
}

}  // namespace

TEST(Stream, EveryVectorSplitAtEveryPosition) {
  for (const auto& pkt : golden_packets()) {
    const std::size_t step = pkt.size() > 400 ? 97 : 1;  // the 18 KB vectors: sample the splits
    for (std::size_t cut = 0; cut <= pkt.size(); cut += step) {
      StreamDecoder s;
      auto got = feed_all(s, {pkt.substr(0, cut), pkt.substr(cut)});
      ASSERT_EQ(got.size(), 1u) << "cut " << cut;
      EXPECT_EQ(got[0], pkt);
      EXPECT_EQ(s.buffered(), 0u);
    }
  }
}

TEST(Stream, ByteByByteAcrossManyPackets) {
  std::string all;
  const auto pkts = golden_packets();
  for (const auto& p : pkts) all += p;
  StreamDecoder s;
  std::vector<std::string> got;
  for (char c : all) s.feed(std::string_view(&c, 1), [&](const Frame& f) { got.emplace_back(f.packet); });
  EXPECT_EQ(got, pkts);
  EXPECT_EQ(s.skipped(), 0u);
}

TEST(Stream, SeveralPacketsPerChunkWithJunkBetween) {
  const auto pkts = golden_packets();
  std::string all = "\xff\x00junk";
  all.push_back(static_cast<char>(0xC0));  // a lone header byte that is not a header
  for (const auto& p : pkts) all += p + std::string("\xc0\x00\x8d zz", 6);
  std::mt19937 rng(42);
  for (int round = 0; round < 20; ++round) {
    StreamDecoder s;
    std::vector<std::string> chunks;
    for (std::size_t i = 0; i < all.size();) {
      const std::size_t n = std::uniform_int_distribution<std::size_t>(1, 300)(rng);
      chunks.push_back(all.substr(i, n));
      i += n;
    }
    EXPECT_EQ(feed_all(s, chunks), pkts) << "round " << round;
    EXPECT_GT(s.skipped(), 0u);
  }
}

TEST(Stream, ResyncsAfterDamagedPacketInTheMiddle) {
  const std::string a = *cluster::from_hex("c08d0501010401410000");
  const std::string b = *cluster::from_hex("c08d0501020401420000");
  std::string damaged = a;
  damaged[damaged.size() - 1] = 'X';  // bad footer
  std::string truncated_claim = *cluster::from_hex("c08d05010304");  // cut short, then b
  StreamDecoder s;
  auto got = feed_all(s, {a + damaged + b, truncated_claim, b + a});
  // The damaged packet is dropped; the cut-short one is swallowed only until its claim is
  // disproved by the footer position, then the stream resyncs and finds b and a again.
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0], a);
  EXPECT_EQ(got[1], b);
  EXPECT_EQ(got[2], b);
  EXPECT_EQ(got[3], a);
  EXPECT_EQ(s.buffered(), 0u);
}

TEST(Stream, OversizeClaimIsSkippedNotBuffered) {
  StreamDecoder s(100);
  std::string big = *cluster::from_hex("c08d") + std::string("\xe8\x07", 2);  // claims 1000
  const std::string ok = *cluster::from_hex("c08d0201010000");
  auto got = feed_all(s, {big + std::string(50, 'a'), ok});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], ok);
  EXPECT_EQ(s.buffered(), 0u);
}

TEST(Stream, BufferStaysBoundedUnderRandomInput) {
  std::mt19937 rng(7);
  StreamDecoder s(4096);
  std::string chunk;
  for (int i = 0; i < 2000; ++i) {
    chunk.resize(std::uniform_int_distribution<std::size_t>(1, 512)(rng));
    for (auto& c : chunk) c = static_cast<char>(rng() % 4 == 0 ? 0xC0 : rng() % 3 == 0 ? 0x8D : rng());
    s.feed(chunk, [](const Frame&) {});
    ASSERT_LE(s.buffered(), 4096u + 2 + kMaxVarintBytes + 2);
  }
}

TEST(Stream, GivesTheMemoryOfABigPacketBackOnceItIsDone) {
  // A 1 MiB packet read in 64 KiB chunks: the buffer grows to hold it; after it, a stream that
  // idles (or holds a small partial packet) must not keep that capacity.
  std::string big = *cluster::from_hex("c08d");
  append_varint(big, 1u << 20);
  big += std::string(1u << 20, 'b') + std::string(2, '\0');
  const std::string small_start = *cluster::from_hex("c08d0a01");  // a 10-byte body, 2 bytes in
  StreamDecoder s(2u << 20);
  std::size_t got = 0, peak = 0;
  const std::string all = big + small_start;
  for (std::size_t i = 0; i < all.size(); i += 65536) {
    s.feed(std::string_view(all).substr(i, 65536), [&](const Frame&) { ++got; });
    peak = std::max(peak, s.memory());
  }
  ASSERT_EQ(got, 1u);
  EXPECT_GE(peak, 1u << 20);
  EXPECT_EQ(s.buffered(), small_start.size());
  EXPECT_LE(s.memory(), 64u * 1024) << "the capacity of the big packet is kept";
}

TEST(Stream, HeaderSplitBetweenC0And8D) {
  const std::string ok = *cluster::from_hex("c08d0201010000");
  StreamDecoder s;
  auto got = feed_all(s, {"zz" + ok.substr(0, 1), ok.substr(1)});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], ok);
}

TEST(Datagram, TruncatedPacketIsNotIntactButLaterOnesAre) {
  const std::string ok = *cluster::from_hex("c08d0201010000");
  const std::string cut = *cluster::from_hex("c08d0a0101");
  std::vector<std::string> got;
  const auto skipped = for_each_frame(cut + ok, kDatagramLimit, [&](const Frame& f) { got.emplace_back(f.packet); });
  // The cut packet's claim covers `ok`: a datagram cannot grow, so it is skipped and `ok` found.
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], ok);
  EXPECT_EQ(skipped, cut.size());
}
