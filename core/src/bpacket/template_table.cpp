// The Template table: field specs indexed by id (template.cpp builds them from protobuf descriptors).
#include "cluster/bpacket/template.hpp"

#include <algorithm>
#include <stdexcept>

namespace cluster::bpacket {

std::string_view field_type_name(FieldType t) noexcept {
  switch (t) {
    case FieldType::varint: return "varint";
    case FieldType::string: return "string";
    case FieldType::raw: return "raw";
    case FieldType::list: return "list";
    case FieldType::boolean: return "boolean";
    case FieldType::numlist: return "numlist";
    case FieldType::flags: return "flags";
    case FieldType::dict: return "dict";
    case FieldType::real: return "float";
  }
  return "?";
}

Template::Template(std::vector<FieldSpec> fields) : fields_(std::move(fields)) { index(); }

void Template::index() {
  std::uint32_t max_id = 0;
  for (const auto& f : fields_) {
    if (f.id == 0 || f.id > kMaxFieldId)
      throw std::invalid_argument("bpacket template: field '" + f.name + "' has id " +
                                  std::to_string(f.id) + " (allowed 1.." +
                                  std::to_string(kMaxFieldId) + ")");
    max_id = std::max(max_id, f.id);
  }
  by_id_.assign(max_id + 1, -1);
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    const auto& f = fields_[i];
    if (by_id_[f.id] >= 0)
      throw std::invalid_argument("bpacket template: duplicate field id " + std::to_string(f.id));
    for (std::size_t j = 0; j < i; ++j)
      if (fields_[j].name == f.name)
        throw std::invalid_argument("bpacket template: duplicate field name '" + f.name + "'");
    by_id_[f.id] = static_cast<std::int32_t>(i);
  }
}

const FieldSpec* Template::find(std::string_view name) const noexcept {
  for (const auto& f : fields_)
    if (f.name == name) return &f;
  return nullptr;
}

}  // namespace cluster::bpacket
