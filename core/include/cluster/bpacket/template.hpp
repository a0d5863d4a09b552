// A bpacket template: which field id carries which type. bpacket has no wire-type bits, so the
// template is what gives bytes a meaning. Templates are built from protobuf descriptors.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/export.hpp"

namespace google::protobuf {
class Descriptor;
}

namespace cluster::bpacket {

/// bpacket value types (PROTOCOL.md section 1). `real` is bpacket's "float".
enum class FieldType : std::uint8_t { varint, string, raw, list, boolean, numlist, flags, dict, real };

CLUSTER_API std::string_view field_type_name(FieldType t) noexcept;

struct FieldSpec {
  std::uint32_t id = 0;
  std::string name;
  FieldType type = FieldType::varint;
  std::vector<std::string> dict_keys;  ///< for dict: the keys restored on decode, in order
};

class CLUSTER_API Template {
 public:
  /// Largest field id a template may use (keeps the id index dense and small).
  static constexpr std::uint32_t kMaxFieldId = 65535;

  Template() = default;
  /// Builds a template from explicit specs. Throws std::invalid_argument on a duplicate id or
  /// name, or an id of 0 or above kMaxFieldId.
  explicit Template(std::vector<FieldSpec> fields);

  /// Maps a protobuf message to a template (field number = field id):
  ///   uint32/uint64/int32/int64/enum -> varint   string -> string   bytes -> raw
  ///   bool -> boolean   float/double -> real   repeated string -> list
  ///   repeated integer/enum -> numlist   repeated bool -> flags
  ///   singular message whose fields are all strings -> dict (keys = its field names by number)
  /// Throws std::invalid_argument naming the field for anything else (maps, repeated messages...).
  static Template from_descriptor(const google::protobuf::Descriptor& d);

  /// The cluster payload template (from cluster.proto), built once.
  static const Template& cluster();

  const FieldSpec* find(std::uint32_t id) const noexcept {
    if (id >= by_id_.size() || by_id_[id] < 0) return nullptr;
    return &fields_[static_cast<std::size_t>(by_id_[id])];
  }
  const FieldSpec* find(std::string_view name) const noexcept;
  const std::vector<FieldSpec>& fields() const noexcept { return fields_; }

 private:
  void index();
  std::vector<FieldSpec> fields_;
  std::vector<std::int32_t> by_id_;  // dense index into fields_, -1 = none (ids <= kMaxFieldId)
};

}  // namespace cluster::bpacket
