// The cluster fast path: agrees with cluster.proto and the generic codec, filter-first order,
// early exit; and bpacket through protobuf reflection for other messages.
#include <gtest/gtest.h>

#include <google/protobuf/descriptor.h>

#include "cluster/schema.hpp"
#include "cluster/bpacket/fields.hpp"
#include "cluster/bpacket/message_codec.hpp"
#include "cluster/bpacket/payload_codec.hpp"
#include "cluster/text.hpp"
#include "vectors.hpp"

using namespace cluster;
using namespace cluster::bpacket;

namespace {

Payload sample_query() {
  Payload p;
  p.sid = "Xk4mP9qz";
  p.hid = "02:00:00:00:00:01";
  p.type = static_cast<std::uint64_t>(PayloadType::query);
  p.channel = 0;
  p.protocols = StringList{"t", "c"};
  p.ruid = "qX4#z";
  p.data = "hello world";
  p.keepalive = true;
  p.filter = StringList{"Zq81LmNa"};
  return p;
}

std::string body_of(const std::string& packet) {
  std::string body;
  for_each_frame(packet, kStreamLimit, [&](const Frame& f) { body = std::string(f.body); });
  return body;
}

}  // namespace

TEST(ClusterTemplate, MatchesTheProtoSchemaAndPayloadIds) {
  const Template& t = Template::cluster();
  const auto* d = cluster::proto::Payload::descriptor();
  ASSERT_EQ(t.fields().size(), 15u);
  ASSERT_EQ(d->field_count(), 15);
  const std::pair<FieldId, FieldType> expected[] = {
      {FieldId::type, FieldType::varint},     {FieldId::channel, FieldType::varint},
      {FieldId::hid, FieldType::string},      {FieldId::sid, FieldType::string},
      {FieldId::known, FieldType::varint},    {FieldId::timestamp, FieldType::varint},
      {FieldId::protocols, FieldType::list},  {FieldId::ruid, FieldType::string},
      {FieldId::op, FieldType::string},       {FieldId::data, FieldType::string},
      {FieldId::raw, FieldType::raw},         {FieldId::tags, FieldType::list},
      {FieldId::keepalive, FieldType::boolean}, {FieldId::filter, FieldType::list},
      {FieldId::error, FieldType::string}};
  for (auto [id, type] : expected) {
    const FieldSpec* s = t.find(static_cast<std::uint32_t>(id));
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->type, type) << s->name;
    EXPECT_EQ(d->FindFieldByNumber(static_cast<int>(id))->name(), s->name);
  }
  EXPECT_EQ(t.find(16u), nullptr);
  EXPECT_EQ(t.find(0u), nullptr);
}

TEST(PayloadCodec, WritesFilterFirstThenAscendingIds) {
  std::string out;
  encode_payload(sample_query(), out);
  FieldList fields;
  ASSERT_TRUE(decode_fields(body_of(out), Template::cluster(), fields));
  std::vector<std::string> names;
  for (const auto& f : fields) names.push_back(f.spec->name);
  EXPECT_EQ(names, (std::vector<std::string>{"filter", "type", "channel", "hid", "sid",
                                             "protocols", "ruid", "data", "keepalive"}));
}

TEST(PayloadCodec, RoundTripsAndAgreesWithGenericDecoder) {
  for (const auto& line : cluster::test::read_jsonl("bpacket.jsonl")) {
    if (!line->has("fields")) continue;
    const std::string packet = *from_hex(line->getValue<std::string>("hex"));
    const std::string body = body_of(packet);
    Payload p;
    ASSERT_TRUE(decode_payload(body, p)) << line->getValue<std::string>("name");
    std::string again;
    encode_payload(p, again);
    Payload q;
    ASSERT_TRUE(decode_payload(body_of(again), q));
    EXPECT_EQ(p, q) << line->getValue<std::string>("name");
  }
}

TEST(PayloadCodec, ReusedPayloadForgetsPreviousFields) {
  std::string a, b;
  encode_payload(sample_query(), a);
  Payload small;
  small.type = 1;
  encode_payload(small, b);
  Payload p;
  ASSERT_TRUE(decode_payload(body_of(a), p));
  ASSERT_TRUE(decode_payload(body_of(b), p));
  EXPECT_EQ(p, small);
  EXPECT_FALSE(p.sid.has());
}

TEST(PayloadCodec, LastDuplicateWins) {
  Payload p;
  ASSERT_TRUE(decode_payload(*from_hex("010101020c0101610c010162"), p));
  EXPECT_EQ(*p.type, 2u);
  EXPECT_EQ(*p.tags, StringList{"b"});
}

TEST(PayloadCodec, GateStopsAfterFilterWithoutReadingTheRest) {
  std::string out;
  encode_payload(sample_query(), out);
  int calls = 0;
  Payload p;
  Status s = decode_payload(body_of(out), p, [&](const Payload& so_far, FieldId id) {
    ++calls;
    EXPECT_EQ(id, FieldId::filter);
    return so_far.filter->front() == "someone-else";
  });
  EXPECT_EQ(s.code(), Errc::stopped);
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(p.sid.has());
}

TEST(PayloadCodec, ErrorsAreValues) {
  Payload p;
  EXPECT_EQ(decode_payload(*from_hex("0481"), p).code(), Errc::truncated_varint);
  EXPECT_EQ(decode_payload(*from_hex("0405616263"), p).code(), Errc::length_overrun);
  EXPECT_EQ(decode_payload(*from_hex("1001"), p).code(), Errc::unknown_field);
  EXPECT_EQ(decode_payload(*from_hex("0c0501"), p).code(), Errc::length_overrun);  // count past end
  EXPECT_EQ(decode_payload(*from_hex("0d"), p).code(), Errc::length_overrun);      // bool w/o byte
  EXPECT_EQ(decode_datagram("", p).code(), Errc::incomplete);
}

TEST(PayloadCodec, DatagramLimitRejectsOversizePackets) {
  Payload big;
  big.data = std::string(70000, 'x');
  std::string out;
  encode_payload(big, out);
  Payload p;
  EXPECT_EQ(decode_datagram(out, p).code(), Errc::incomplete);
  EXPECT_TRUE(decode_datagram(out, p, 80000));
  EXPECT_EQ(p.data->size(), 70000u);
}

TEST(MessageCodec, ProtobufMessageMatchesFastPath) {
  cluster::proto::Payload m;
  m.set_sid("Xk4mP9qz");
  m.set_type(4);
  m.add_filter("Zq81LmNa");
  m.set_keepalive(true);
  m.set_raw(std::string("\x00\xff", 2));
  std::string via_reflection;
  encode_message(m, via_reflection);
  cluster::proto::Payload back;
  ASSERT_TRUE(decode_message(body_of(via_reflection), back));
  EXPECT_EQ(back.SerializeAsString(), m.SerializeAsString());
  Payload p;
  ASSERT_TRUE(decode_payload(body_of(via_reflection), p));
  EXPECT_EQ(*p.sid, "Xk4mP9qz");
  EXPECT_EQ(*p.filter, StringList{"Zq81LmNa"});
  EXPECT_EQ(*p.raw, std::string("\x00\xff", 2));
}

TEST(Template, RejectsBadSpecs) {
  EXPECT_THROW(Template({{0, "zero", FieldType::varint, {}}}), std::invalid_argument);
  EXPECT_THROW(Template({{1, "a", FieldType::varint, {}}, {1, "b", FieldType::string, {}}}),
               std::invalid_argument);
  EXPECT_THROW(Template({{1, "a", FieldType::varint, {}}, {2, "a", FieldType::string, {}}}),
               std::invalid_argument);
  EXPECT_THROW(Template({{70000, "far", FieldType::varint, {}}}), std::invalid_argument);
}

TEST(Template, AllBpacketTypesRoundTripThroughFieldLists) {
  // numlist, flags, dict and float: types the cluster template does not use.
  const Template t({{1, "nums", FieldType::numlist, {}},
                    {2, "bits", FieldType::flags, {}},
                    {3, "kv", FieldType::dict, {"host", "port"}},
                    {4, "f64", FieldType::real, {}},
                    {5, "f32", FieldType::real, {}}});
  FieldList in{{t.find(1u), std::vector<std::uint64_t>{0, 300, ~0ULL}},
               {t.find(2u), std::vector<bool>{true, false, true}},
               {t.find(3u), std::vector<std::string>{"h", "80"}},
               {t.find(4u), Real{3.25, false}},
               {t.find(5u), Real{-1.5, true}}};
  std::string out;
  encode_fields(in, out);
  EXPECT_EQ(to_hex(out).substr(0, 4), "c08d");
  FieldList back;
  ASSERT_TRUE(decode_fields(body_of(out), t, back));
  ASSERT_EQ(back.size(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) EXPECT_EQ(back[i].value, in[i].value) << i;
  EXPECT_THROW(encode_fields({{t.find(1u), std::string("x")}}, out), std::invalid_argument);
  // A float width byte other than 0/1 is an error, not a guess.
  EXPECT_EQ(decode_fields(*from_hex("0402"), t, back).code(), Errc::bad_value);
}
