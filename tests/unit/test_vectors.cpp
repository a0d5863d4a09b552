// Every golden vector decodes to its fields and re-encodes byte for byte; every malformed case
// yields exactly the listed outcome.
#include <gtest/gtest.h>

#include <Poco/JSON/Array.h>

#include "cluster/bpacket/fields.hpp"
#include "cluster/bpacket/frame.hpp"
#include "cluster/bpacket/varint.hpp"
#include "cluster/text.hpp"
#include "packet_json.hpp"
#include "vectors.hpp"

using namespace cluster::bpacket;
using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

const Template& T() { return Template::cluster(); }

// Checks one packet: hex decodes to `expected`'s fields, and (for canonical input, i.e. all
// golden vectors) those fields encode back to hex.
void check_packet(const std::string& name, const Object::Ptr& expected, bool canonical = true) {
  SCOPED_TRACE(name);
  const std::string hex = expected->getValue<std::string>("hex");
  const std::string bytes = *cluster::from_hex(hex);
  const FieldList want = clusterctl::fields_from_json(
      "{\"fields\": " + [&] {
        std::ostringstream os;
        expected->getArray("fields")->stringify(os);
        return os.str();
      }() + "}", T());

  std::vector<Frame> frames;
  for_each_frame(bytes, kStreamLimit, [&](const Frame& f) { frames.push_back(f); });
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].packet.size(), bytes.size());
  FieldList got;
  ASSERT_TRUE(decode_fields(frames[0].body, T(), got)) << hex;
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].spec, want[i].spec) << "field " << i;
    EXPECT_EQ(got[i].value, want[i].value) << "field " << got[i].spec->name;
  }
  if (canonical) {
    std::string encoded;
    encode_fields(want, encoded);
    EXPECT_EQ(cluster::to_hex(encoded), hex);
  }
  // The JSON printed by clusterctl reads back to the same fields.
  EXPECT_EQ(clusterctl::fields_from_json(clusterctl::fields_to_json(got), T()).size(), got.size());
}

}  // namespace

TEST(GoldenVectors, AllDecodeAndReencodeExactly) {
  const auto lines = cluster::test::read_jsonl("bpacket.jsonl");
  ASSERT_GE(lines.size(), 50u);
  std::size_t packets = 0;
  for (const auto& line : lines) {
    const auto name = line->getValue<std::string>("name");
    if (line->has("frames")) {
      // Several packets on one stream: each comes out, in order, from the concatenation.
      const auto frames = line->getArray("frames");
      const std::string all = *cluster::from_hex(line->getValue<std::string>("hex"));
      std::vector<std::string> seen;
      for_each_frame(all, kStreamLimit,
                     [&](const Frame& f) { seen.push_back(cluster::to_hex(f.packet)); });
      ASSERT_EQ(seen.size(), frames->size()) << name;
      for (unsigned i = 0; i < frames->size(); ++i) {
        auto f = frames->getObject(i);
        EXPECT_EQ(seen[i], f->getValue<std::string>("hex"));
        check_packet(name + "#" + std::to_string(i), f);
        ++packets;
      }
    } else {
      check_packet(name, line);
      ++packets;
    }
  }
  EXPECT_GE(packets, 56u);
}

namespace {

// Expected outcome of one intact packet in a malformed case.
struct Outcome {
  std::string hex;
  std::string error;  // empty: fields expected
  Object::Ptr fields_obj;
};

std::vector<std::vector<Outcome>> expected_per_chunk(const Object::Ptr& c) {
  // The file uses [[...per chunk...]] and, in two lines, a flat [...] for its single chunk.
  auto dg = c->getArray("datagram");
  std::vector<std::vector<Outcome>> out;
  auto read_list = [](const Array::Ptr& a) {
    std::vector<Outcome> v;
    for (unsigned i = 0; i < a->size(); ++i) {
      auto o = a->getObject(i);
      v.push_back({o->getValue<std::string>("hex"),
                   o->has("error") ? o->getValue<std::string>("error") : "", o});
    }
    return v;
  };
  if (dg->size() > 0 && dg->isObject(0)) {
    out.push_back(read_list(dg));
  } else {
    for (unsigned i = 0; i < dg->size(); ++i) out.push_back(read_list(dg->getArray(i)));
  }
  return out;
}

}  // namespace

TEST(MalformedVectors, DatagramOutcomesMatch) {
  const auto cases = cluster::test::read_jsonl("malformed.jsonl");
  ASSERT_GE(cases.size(), 20u);
  for (const auto& c : cases) {
    const auto name = c->getValue<std::string>("name");
    SCOPED_TRACE(name);
    auto chunks = c->getArray("chunks");
    auto expected = expected_per_chunk(c);
    ASSERT_EQ(expected.size(), chunks->size());
    for (unsigned i = 0; i < chunks->size(); ++i) {
      const std::string bytes = *cluster::from_hex(chunks->getElement<std::string>(i));
      std::vector<Outcome> got;
      for_each_frame(bytes, kDatagramLimit, [&](const Frame& f) {
        FieldList fields;
        Status s = decode_fields(f.body, T(), fields);
        got.push_back({cluster::to_hex(f.packet), s ? "" : s.message(), nullptr});
      });
      ASSERT_EQ(got.size(), expected[i].size()) << "chunk " << i;
      for (std::size_t k = 0; k < got.size(); ++k) {
        EXPECT_EQ(got[k].hex, expected[i][k].hex);
        if (!expected[i][k].error.empty()) {
          EXPECT_EQ(got[k].error.rfind(expected[i][k].error, 0), 0u)
              << "got '" << got[k].error << "', want '" << expected[i][k].error << "'";
        } else {
          ASSERT_TRUE(got[k].error.empty()) << got[k].error;
          check_packet(name, expected[i][k].fields_obj, false);
        }
      }
    }
  }
}

TEST(MalformedVectors, StreamSurvivesEveryCaseWithBoundedBuffer) {
  // Fed as one stream, read by read: never more than one incomplete packet is buffered, and
  // every packet that is intact in its own chunk still comes out (a stream may find more).
  for (const auto& c : cluster::test::read_jsonl("malformed.jsonl")) {
    const auto name = c->getValue<std::string>("name");
    SCOPED_TRACE(name);
    StreamDecoder stream(1024);
    auto chunks = c->getArray("chunks");
    std::vector<std::string> seen;
    for (unsigned i = 0; i < chunks->size(); ++i) {
      stream.feed(*cluster::from_hex(chunks->getElement<std::string>(i)),
                  [&](const Frame& f) { seen.push_back(cluster::to_hex(f.packet)); });
      EXPECT_LE(stream.buffered(), 1024u + 2 + kMaxVarintBytes + 2);
    }
    std::size_t want = 0;
    for (const auto& per_chunk : expected_per_chunk(c)) want += per_chunk.size();
    if (name == "stream_big_claim_swallows") {
      // The first fragment claims 127 bytes, so on a stream the packets after it are part of
      // that claim until it completes; a bad footer then resyncs and releases both.
      EXPECT_TRUE(seen.empty());
      stream.feed(std::string(127, 'x'), [&](const Frame& f) { seen.push_back(cluster::to_hex(f.packet)); });
      ASSERT_EQ(seen.size(), 2u);
      EXPECT_EQ(seen[0], "c08d0201020000");
      EXPECT_EQ(seen[1], "c08d0201030000");
    } else {
      EXPECT_EQ(seen.size(), want);
    }
  }
}
