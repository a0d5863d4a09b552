// fuzz_stream: the first two input bytes choose how the rest is split into reads, which are fed
// to a StreamDecoder(max_body 4096). Checked:
//   - buffered() never exceeds the body limit plus the largest header and footer;
//   - every frame starts with c0 8d, ends with 00 00, and holds a body within the limit that
//     decodes or fails cleanly;
//   - the frames do not depend on how the stream was split: the same bytes fed in one read give
//     the same packets in the same order, the same bytes held back and the same skip count.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/bpacket/fields.hpp"
#include "cluster/bpacket/frame.hpp"
#include "cluster/bpacket/payload_codec.hpp"
#include "cluster/bpacket/template.hpp"
#include "fuzz_check.hpp"

namespace bp = cluster::bpacket;
using cluster::fuzz::check;

namespace {

constexpr std::size_t kMaxBody = 4096;
constexpr std::size_t kMaxHeader = 2 + 10;  // c0 8d + the longest varint length
constexpr std::size_t kMaxBuffered = kMaxBody + 14;

struct Collector {
  std::vector<std::string> packets;
  cluster::Payload payload;

  void operator()(const bp::Frame& f) {
    const std::string_view p = f.packet;
    check(p.size() >= 4 + f.body.size() && p.size() <= kMaxHeader + f.body.size() + 2,
          "frame size inconsistent with its body");
    check(static_cast<std::uint8_t>(p[0]) == bp::kHeader0 &&
              static_cast<std::uint8_t>(p[1]) == bp::kHeader1,
          "frame does not start with c0 8d");
    check(p[p.size() - 2] == 0 && p[p.size() - 1] == 0, "frame does not end with 00 00");
    check(f.body.size() <= kMaxBody, "frame body over the limit");
    check(f.body.data() + f.body.size() + 2 == p.data() + p.size(),
          "body does not end just before the footer");
    bp::FieldList fields;
    const bp::Status fs = bp::decode_fields(f.body, bp::Template::cluster(), fields);
    const bp::Status ps = bp::decode_payload(f.body, payload);
    check(fs.ok() == ps.ok(), "decode_fields and decode_payload disagree");
    packets.emplace_back(p);
  }
};

// xorshift32: cheap, deterministic chunk sizes from the input's first bytes.
std::uint32_t next(std::uint32_t& s) {
  s ^= s << 13;
  s ^= s >> 17;
  s ^= s << 5;
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t mode = data[0];
  // Largest read: 1..128 bytes, or up to 8 KiB when the high bit is set (the fast path that
  // parses straight from the caller's bytes).
  std::size_t max_chunk = 1 + (mode & 0x7Fu);
  if ((mode & 0x80u) != 0) max_chunk *= 64;
  std::uint32_t rng = 0x9E3779B9u ^ (static_cast<std::uint32_t>(mode) << 8) ^ data[1];
  const std::string_view stream = cluster::fuzz::as_view(data + 2, size - 2);

  Collector chunked;
  bp::StreamDecoder dec(kMaxBody);
  std::size_t pos = 0;
  std::size_t reads = 0;
  while (pos < stream.size()) {  // bounded: every read consumes at least one byte
    const std::size_t n = 1 + next(rng) % max_chunk;
    const std::string_view chunk = stream.substr(pos, n);
    pos += chunk.size();
    dec.feed(chunk, chunked);
    ++reads;
    check(dec.buffered() <= kMaxBuffered, "stream buffered more than one packet's worth");
    check(dec.buffered() <= pos, "stream buffered more than it was fed");
    if (reads % 7 == 0) dec.feed(std::string_view(), chunked);  // empty reads happen too
  }

  Collector whole;
  bp::StreamDecoder one(kMaxBody);
  one.feed(stream, whole);
  check(one.buffered() <= kMaxBuffered, "stream buffered more than one packet's worth");

  check(chunked.packets == whole.packets, "frames depend on how the stream was split");
  check(dec.buffered() == one.buffered(), "bytes held back depend on how the stream was split");
  check(dec.skipped() == one.skipped(), "skip count depends on how the stream was split");
  check(dec.skipped() + dec.buffered() <= stream.size(), "skipped and held more than was fed");
  return 0;
}
