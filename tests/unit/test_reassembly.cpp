// Reassembly of reference multicasts sent in 4096-byte pieces
// (plugins/transport-udp-multicast/reassembly.hpp).
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "cluster/bpacket/frame.hpp"
#include "cluster/bpacket/payload_codec.hpp"
#include "cluster/payload.hpp"
#include "reassembly.hpp"

namespace cluster::transport {
namespace {

using Clock = DatagramReassembler::Clock;
using std::chrono::milliseconds;

/// An event packet with `size` bytes of data, as a reference member would multicast it.
std::string event_packet(const std::string& sid, std::size_t size, char fill = 'x') {
  Payload p;
  p.sid = sid;
  p.hid = "02:00:00:00:00:01";
  p.type = static_cast<std::uint64_t>(PayloadType::event);
  p.channel = 0;
  p.protocols = std::vector<std::string>{"t", "c"};
  p.data = std::string(size, fill);
  std::string out;
  bpacket::encode_payload(p, out);
  return out;
}

/// Cuts a packet the way tcl-udp does: 4096-byte datagrams, then the rest.
std::vector<std::string> pieces(const std::string& packet, std::size_t piece = 4096) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at < packet.size(); at += piece) out.push_back(packet.substr(at, piece));
  return out;
}

struct Delivered {
  std::uint64_t source;
  std::string bytes;
};

class Reassembly : public ::testing::Test {
 protected:
  void feed(std::uint64_t source, const std::string& datagram, milliseconds at = milliseconds(0)) {
    r.feed(source, datagram, t0 + at, sink);
  }
  /// The intact frames in everything delivered, as the core's datagram path finds them.
  std::vector<std::string> frames() const {
    std::vector<std::string> out;
    for (const auto& d : got)
      bpacket::for_each_frame(d.bytes, bpacket::kDatagramLimit,
                              [&](const bpacket::Frame& f) { out.emplace_back(f.packet); });
    return out;
  }

  DatagramReassembler r;
  Clock::time_point t0 = Clock::now();
  std::vector<Delivered> got;
  DatagramReassembler::Deliver sink = [this](std::uint64_t s, std::string_view b) {
    got.push_back({s, std::string(b)});
  };
};

TEST_F(Reassembly, WholeDatagramGoesStraightThrough) {
  const std::string p = event_packet("a", 100);
  feed(1, p);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].bytes, p);
  EXPECT_EQ(r.pending(), 0u);
}

TEST_F(Reassembly, PiecesInOrderMakeThePacket) {
  const std::string p = event_packet("a", 10000);
  const auto parts = pieces(p);
  ASSERT_EQ(parts.size(), 3u);  // 4096 + 4096 + rest, as observed live
  feed(7, parts[0]);
  feed(7, parts[1]);
  EXPECT_TRUE(got.empty());
  feed(7, parts[2]);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].source, 7u);
  EXPECT_EQ(got[0].bytes, p);
  EXPECT_EQ(frames(), std::vector<std::string>{p});
  EXPECT_EQ(r.reassembled(), 1u);
  EXPECT_EQ(r.pending(), 0u);
}

TEST_F(Reassembly, InterleavedSourcesAreKeptApart) {
  const std::string a = event_packet("a", 9000, 'a');
  const std::string b = event_packet("b", 6000, 'b');
  const std::string small = event_packet("c", 10, 'c');
  const auto pa = pieces(a), pb = pieces(b);
  feed(1, pa[0]);
  feed(2, pb[0]);
  feed(3, small);  // a third source, whole, in between
  feed(1, pa[1]);
  feed(2, pb[1]);
  feed(1, pa[2]);
  EXPECT_EQ(frames(), (std::vector<std::string>{small, b, a}));
  EXPECT_EQ(r.abandoned(), 0u);
}

TEST_F(Reassembly, LostMiddlePieceLosesOnlyThatPacket) {
  const std::string big = event_packet("a", 10000);
  const std::string next = event_packet("a", 50);
  const auto parts = pieces(big);
  feed(1, parts[0]);
  feed(1, parts[2]);  // parts[1] lost: not enough bytes yet
  EXPECT_TRUE(got.empty());
  feed(1, next);      // a new packet from that source: the broken one is handed on as junk
  EXPECT_EQ(frames(), std::vector<std::string>{next});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].bytes, parts[0] + parts[2]);
  EXPECT_EQ(r.abandoned(), 1u);
  EXPECT_EQ(r.pending(), 0u);
}

TEST_F(Reassembly, LostPieceThenEnoughOtherBytesIsNotAFrame) {
  // A lost middle piece, then a headerless datagram that makes up the byte count: the bytes
  // are handed on, and the core's footer check refuses them.
  const auto parts = pieces(event_packet("a", 10000));
  feed(1, parts[0]);
  feed(1, parts[2]);
  feed(1, std::string(5000, '\x01'));
  EXPECT_EQ(r.pending(), 0u);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(frames().empty());
}

TEST_F(Reassembly, IncompletePacketTimesOut) {
  const auto parts = pieces(event_packet("a", 10000));
  feed(1, parts[0], milliseconds(0));
  feed(1, parts[1], milliseconds(500));
  EXPECT_TRUE(got.empty());
  r.expire(t0 + milliseconds(900), sink);
  EXPECT_TRUE(got.empty());  // within max_age (1 s) of the first piece
  r.expire(t0 + milliseconds(1100), sink);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].bytes, parts[0] + parts[1]);
  EXPECT_EQ(r.pending(), 0u);
  // the late last piece starts nothing: it is handed on alone (junk to the core)
  feed(1, parts[2], milliseconds(1200));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].bytes, parts[2]);
  EXPECT_TRUE(frames().empty());
}

TEST_F(Reassembly, AnotherSourcesDatagramExpiresOldPieces) {
  const auto parts = pieces(event_packet("a", 10000));
  feed(1, parts[0], milliseconds(0));
  const std::string other = event_packet("b", 20);
  feed(2, other, milliseconds(1500));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].source, 1u);  // expired, handed on with its own source
  EXPECT_EQ(got[0].bytes, parts[0]);
  EXPECT_EQ(got[1].bytes, other);
}

TEST_F(Reassembly, PacketsOverTheByteCapAreNotBuffered) {
  DatagramReassembler small(DatagramReassembler::Limits{8192, 8, milliseconds(1000)});
  const auto parts = pieces(event_packet("a", 10000));
  small.feed(1, parts[0], t0, sink);
  EXPECT_EQ(small.pending(), 0u);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].bytes, parts[0]);  // as before: the core counts it malformed
}

TEST_F(Reassembly, ForgedHugeLengthStartsNothing) {
  // c0 8d, then a varint of 2^62, then a few bytes
  const std::string forged = std::string("\xc0\x8d\x80\x80\x80\x80\x80\x80\x80\x80\x40", 11) + std::string(100, 'z');
  feed(1, forged);
  EXPECT_EQ(r.pending(), 0u);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(DatagramReassembler::announced_size(forged), std::numeric_limits<std::size_t>::max());
  // a length just over the 64 KiB default cap
  const std::string over = std::string("\xc0\x8d\x80\x80\x04", 5) + std::string(4091, 'z');  // 65536 body
  feed(1, over);
  EXPECT_EQ(r.pending(), 0u);
  // an unfinished varint is no header at all
  EXPECT_EQ(DatagramReassembler::announced_size(std::string("\xc0\x8d\x80\x80", 4)), 0u);
}

TEST_F(Reassembly, SourceCapEvictsTheOldest) {
  DatagramReassembler few(DatagramReassembler::Limits{64 * 1024, 2, milliseconds(1000)});
  const auto a = pieces(event_packet("a", 6000, 'a'));
  const auto b = pieces(event_packet("b", 6000, 'b'));
  const auto c = pieces(event_packet("c", 6000, 'c'));
  few.feed(1, a[0], t0, sink);
  few.feed(2, b[0], t0, sink);
  few.feed(3, c[0], t0, sink);  // a third: source 1 is handed on as junk
  EXPECT_EQ(few.pending(), 2u);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].source, 1u);
  few.feed(2, b[1], t0, sink);
  few.feed(3, c[1], t0, sink);
  few.feed(1, a[1], t0, sink);  // too late: alone, junk
  EXPECT_EQ(frames(), (std::vector<std::string>{event_packet("b", 6000, 'b'), event_packet("c", 6000, 'c')}));
  EXPECT_EQ(few.pending(), 0u);
}

}  // namespace
}  // namespace cluster::transport
