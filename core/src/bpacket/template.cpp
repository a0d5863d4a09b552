// Templates from protobuf descriptors (in libcluster-schema: the runtime itself needs no protobuf).
#include <google/protobuf/descriptor.h>

#include <stdexcept>

#include "cluster/bpacket/template.hpp"
#include "cluster/schema.hpp"

namespace cluster::bpacket {

namespace pb = google::protobuf;

namespace {

bool is_integer(pb::FieldDescriptor::CppType t) {
  using C = pb::FieldDescriptor;
  return t == C::CPPTYPE_INT32 || t == C::CPPTYPE_INT64 || t == C::CPPTYPE_UINT32 ||
         t == C::CPPTYPE_UINT64 || t == C::CPPTYPE_ENUM;
}

FieldSpec map_field(const pb::FieldDescriptor& fd) {
  using C = pb::FieldDescriptor;
  FieldSpec spec;
  spec.id = static_cast<std::uint32_t>(fd.number());
  spec.name = fd.name();
  const auto ct = fd.cpp_type();
  auto fail = [&](const char* why) {
    return std::invalid_argument("bpacket template: field '" + fd.full_name() + "': " + why);
  };
  if (fd.is_map()) throw fail("maps have no bpacket type");
  if (fd.is_repeated()) {
    if (ct == C::CPPTYPE_STRING && fd.type() == C::TYPE_STRING) spec.type = FieldType::list;
    else if (is_integer(ct)) spec.type = FieldType::numlist;
    else if (ct == C::CPPTYPE_BOOL) spec.type = FieldType::flags;
    else throw fail("only repeated string, integer or bool map to bpacket");
    return spec;
  }
  if (is_integer(ct)) spec.type = FieldType::varint;
  else if (ct == C::CPPTYPE_BOOL) spec.type = FieldType::boolean;
  else if (ct == C::CPPTYPE_FLOAT || ct == C::CPPTYPE_DOUBLE) spec.type = FieldType::real;
  else if (fd.type() == C::TYPE_STRING) spec.type = FieldType::string;
  else if (fd.type() == C::TYPE_BYTES) spec.type = FieldType::raw;
  else if (ct == C::CPPTYPE_MESSAGE) {
    const pb::Descriptor& sub = *fd.message_type();
    std::vector<const pb::FieldDescriptor*> subs;
    for (int i = 0; i < sub.field_count(); ++i) subs.push_back(sub.field(i));
    std::sort(subs.begin(), subs.end(),
              [](auto* a, auto* b) { return a->number() < b->number(); });
    for (const auto* s : subs) {
      if (s->is_repeated() || s->type() != C::TYPE_STRING)
        throw fail("a dict message may hold only singular string fields");
      spec.dict_keys.push_back(s->name());
    }
    spec.type = FieldType::dict;
  } else {
    throw fail("type has no bpacket mapping");
  }
  return spec;
}

}  // namespace

Template Template::from_descriptor(const pb::Descriptor& d) {
  std::vector<FieldSpec> fields;
  for (int i = 0; i < d.field_count(); ++i) fields.push_back(map_field(*d.field(i)));
  return Template(std::move(fields));
}

const Template& Template::cluster() {
  static const Template t = from_descriptor(*cluster::proto::Payload::descriptor());
  return t;
}

}  // namespace cluster::bpacket
