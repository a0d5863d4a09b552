#include "cluster/bpacket/message_codec.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/reflection.h>

#include <map>
#include <mutex>
#include <stdexcept>

#include "cluster/bpacket/reader.hpp"
#include "cluster/bpacket/writer.hpp"

namespace cluster::bpacket {

namespace pb = google::protobuf;
using C = pb::FieldDescriptor;

namespace {

// Templates are derived once per message type: reflection is slow enough without re-deriving.
const Template& template_for(const pb::Descriptor& d) {
  static std::mutex mu;
  static std::map<const pb::Descriptor*, Template> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(&d);
  if (it == cache.end()) it = cache.emplace(&d, Template::from_descriptor(d)).first;
  return it->second;
}

std::uint64_t get_integer(const pb::Reflection& r, const pb::Message& m, const C& fd, int i) {
  const bool rep = i >= 0;
  switch (fd.cpp_type()) {
    case C::CPPTYPE_INT32:
      return static_cast<std::uint64_t>(rep ? r.GetRepeatedInt32(m, &fd, i) : r.GetInt32(m, &fd));
    case C::CPPTYPE_INT64:
      return static_cast<std::uint64_t>(rep ? r.GetRepeatedInt64(m, &fd, i) : r.GetInt64(m, &fd));
    case C::CPPTYPE_UINT32: return rep ? r.GetRepeatedUInt32(m, &fd, i) : r.GetUInt32(m, &fd);
    case C::CPPTYPE_UINT64: return rep ? r.GetRepeatedUInt64(m, &fd, i) : r.GetUInt64(m, &fd);
    case C::CPPTYPE_ENUM:
      return static_cast<std::uint64_t>(rep ? r.GetRepeatedEnumValue(m, &fd, i)
                                            : r.GetEnumValue(m, &fd));
    default: return 0;
  }
}

void set_integer(const pb::Reflection& r, pb::Message& m, const C& fd, std::uint64_t v, bool add) {
  switch (fd.cpp_type()) {
    case C::CPPTYPE_INT32: {
      const auto x = static_cast<std::int32_t>(v);
      add ? r.AddInt32(&m, &fd, x) : r.SetInt32(&m, &fd, x);
      break;
    }
    case C::CPPTYPE_INT64: {
      const auto x = static_cast<std::int64_t>(v);
      add ? r.AddInt64(&m, &fd, x) : r.SetInt64(&m, &fd, x);
      break;
    }
    case C::CPPTYPE_UINT32: {
      const auto x = static_cast<std::uint32_t>(v);
      add ? r.AddUInt32(&m, &fd, x) : r.SetUInt32(&m, &fd, x);
      break;
    }
    case C::CPPTYPE_UINT64: add ? r.AddUInt64(&m, &fd, v) : r.SetUInt64(&m, &fd, v); break;
    case C::CPPTYPE_ENUM: {
      const auto x = static_cast<int>(v);
      add ? r.AddEnumValue(&m, &fd, x) : r.SetEnumValue(&m, &fd, x);
      break;
    }
    default: break;
  }
}

}  // namespace

void encode_message(const pb::Message& m, std::string& out) {
  const pb::Descriptor& d = *m.GetDescriptor();
  const Template& t = template_for(d);
  const pb::Reflection& r = *m.GetReflection();
  std::vector<const C*> set;
  r.ListFields(m, &set);  // ascending field number
  Writer w(out);
  for (const C* fd : set) {
    const FieldSpec* spec = t.find(static_cast<std::uint32_t>(fd->number()));
    if (spec == nullptr)  // cannot happen: the template was derived from this descriptor
      throw std::logic_error("encode_message: field " + fd->full_name() + " not in template");
    const FieldSpec& s = *spec;
    switch (s.type) {
      case FieldType::varint: w.varint(s.id, get_integer(r, m, *fd, -1)); break;
      case FieldType::string:
      case FieldType::raw: {
        std::string scratch;
        w.string(s.id, r.GetStringReference(m, fd, &scratch));
        break;
      }
      case FieldType::boolean: w.boolean(s.id, r.GetBool(m, fd)); break;
      case FieldType::real:
        if (fd->cpp_type() == C::CPPTYPE_FLOAT) w.real(s.id, static_cast<double>(r.GetFloat(m, fd)), true);
        else w.real(s.id, r.GetDouble(m, fd), false);
        break;
      case FieldType::list: {
        std::vector<std::string> items;
        for (int i = 0; i < r.FieldSize(m, fd); ++i) items.push_back(r.GetRepeatedString(m, fd, i));
        w.list(s.id, items);
        break;
      }
      case FieldType::numlist: {
        std::vector<std::uint64_t> nums;
        for (int i = 0; i < r.FieldSize(m, fd); ++i) nums.push_back(get_integer(r, m, *fd, i));
        w.numlist(s.id, nums);
        break;
      }
      case FieldType::flags: {
        std::vector<bool> bits;
        for (int i = 0; i < r.FieldSize(m, fd); ++i) bits.push_back(r.GetRepeatedBool(m, fd, i));
        w.flags(s.id, bits);
        break;
      }
      case FieldType::dict: {
        const pb::Message& sub = r.GetMessage(m, fd);
        const pb::Descriptor& sd = *sub.GetDescriptor();
        std::vector<std::string> values;
        for (const auto& key : s.dict_keys)
          values.push_back(sub.GetReflection()->GetString(sub, sd.FindFieldByName(key)));
        w.list(s.id, values);
        break;
      }
    }
  }
  w.finish();
}

Status decode_message(std::string_view body, pb::Message& m) {
  m.Clear();
  const pb::Descriptor& d = *m.GetDescriptor();
  const Template& t = template_for(d);
  const pb::Reflection& r = *m.GetReflection();
  return decode_body(body, t, [&](const FieldView& f) {
    const C& fd = *d.FindFieldByNumber(static_cast<int>(f.id));
    switch (f.type()) {
      case FieldType::varint: set_integer(r, m, fd, f.number, false); break;
      case FieldType::string:
      case FieldType::raw: r.SetString(&m, &fd, std::string(f.bytes)); break;
      case FieldType::boolean: r.SetBool(&m, &fd, f.boolean()); break;
      case FieldType::real:
        if (fd.cpp_type() == C::CPPTYPE_FLOAT) r.SetFloat(&m, &fd, static_cast<float>(f.real));
        else r.SetDouble(&m, &fd, f.real);
        break;
      case FieldType::list:
        r.ClearField(&m, &fd);  // last duplicate wins, as for every field
        for (auto s : f.list) r.AddString(&m, &fd, std::string(s));
        break;
      case FieldType::numlist:
        r.ClearField(&m, &fd);
        for_each_number(f, [&](std::uint64_t v) { set_integer(r, m, fd, v, true); });
        break;
      case FieldType::flags:
        r.ClearField(&m, &fd);
        for (char c : f.bytes) r.AddBool(&m, &fd, c != 0);
        break;
      case FieldType::dict: {
        pb::Message* sub = r.MutableMessage(&m, &fd);
        sub->Clear();
        const pb::Descriptor& sd = *sub->GetDescriptor();
        const std::vector<std::string>& keys = f.spec->dict_keys;  // f.spec = t.find(f.id)
        std::size_t i = 0;
        for (auto s : f.list) {
          if (i >= keys.size()) break;  // extra values have no key
          sub->GetReflection()->SetString(sub, sd.FindFieldByName(keys[i++]), std::string(s));
        }
        break;
      }
    }
    return true;
  });
}

}  // namespace cluster::bpacket
