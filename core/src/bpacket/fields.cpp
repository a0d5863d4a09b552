#include "cluster/bpacket/fields.hpp"

#include <stdexcept>

#include "cluster/bpacket/writer.hpp"

namespace cluster::bpacket {

Value to_value(const FieldView& f) {
  switch (f.type()) {
    case FieldType::varint: return f.number;
    case FieldType::string:
    case FieldType::raw: return std::string(f.bytes);
    case FieldType::boolean: return f.boolean();
    case FieldType::list:
    case FieldType::dict: {
      std::vector<std::string> items;
      items.reserve(static_cast<std::size_t>(f.list.size()));
      for (auto s : f.list) items.emplace_back(s);
      return items;
    }
    case FieldType::numlist: {
      std::vector<std::uint64_t> nums;
      for_each_number(f, [&](std::uint64_t v) { nums.push_back(v); });
      return nums;
    }
    case FieldType::flags: {
      std::vector<bool> bits;
      for (char c : f.bytes) bits.push_back(c != 0);
      return bits;
    }
    case FieldType::real: return Real{f.real, f.real32};
  }
  return std::uint64_t{0};
}

Status decode_fields(std::string_view body, const Template& t, FieldList& out) {
  out.clear();
  return decode_body(body, t, [&](const FieldView& f) {
    out.push_back({f.spec, to_value(f)});
    return true;
  });
}

bool value_matches(FieldType type, const Value& v) noexcept {
  switch (type) {
    case FieldType::varint: return std::holds_alternative<std::uint64_t>(v);
    case FieldType::string:
    case FieldType::raw: return std::holds_alternative<std::string>(v);
    case FieldType::list:
    case FieldType::dict: return std::holds_alternative<std::vector<std::string>>(v);
    case FieldType::boolean: return std::holds_alternative<bool>(v);
    case FieldType::numlist: return std::holds_alternative<std::vector<std::uint64_t>>(v);
    case FieldType::flags: return std::holds_alternative<std::vector<bool>>(v);
    case FieldType::real: return std::holds_alternative<Real>(v);
  }
  return false;
}

void encode_fields(const FieldList& fields, std::string& out) {
  Writer w(out);
  for (const auto& nv : fields) {
    if (nv.spec == nullptr) throw std::invalid_argument("encode_fields: field without spec");
    const FieldSpec& s = *nv.spec;
    if (!value_matches(s.type, nv.value))
      throw std::invalid_argument("encode_fields: value of field '" + s.name + "' is not a " +
                                  std::string(field_type_name(s.type)));
    switch (s.type) {
      case FieldType::varint: w.varint(s.id, std::get<std::uint64_t>(nv.value)); break;
      case FieldType::string:
      case FieldType::raw: w.string(s.id, std::get<std::string>(nv.value)); break;
      case FieldType::boolean: w.boolean(s.id, std::get<bool>(nv.value)); break;
      case FieldType::list:
      case FieldType::dict: w.list(s.id, std::get<std::vector<std::string>>(nv.value)); break;
      case FieldType::numlist: w.numlist(s.id, std::get<std::vector<std::uint64_t>>(nv.value)); break;
      case FieldType::flags: w.flags(s.id, std::get<std::vector<bool>>(nv.value)); break;
      case FieldType::real: {
        const auto& r = std::get<Real>(nv.value);
        w.real(s.id, r.value, r.as32);
        break;
      }
    }
  }
  w.finish();
}

}  // namespace cluster::bpacket
