// A dynamic, owning form of a packet: fields in wire order with typed values. Used by tools
// (clusterctl packet), tests and any template that has no C++ struct of its own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cluster/bpacket/reader.hpp"
#include "cluster/bpacket/template.hpp"

namespace cluster::bpacket {

struct Real {
  double value = 0;
  bool as32 = false;
  bool operator==(const Real& o) const { return value == o.value && as32 == o.as32; }
};

/// varint -> uint64; string/raw -> std::string (bytes); list/dict -> vector<string>;
/// boolean -> bool; numlist -> vector<uint64>; flags -> vector<bool>; real -> Real.
using Value = std::variant<std::uint64_t, std::string, std::vector<std::string>, bool,
                           std::vector<std::uint64_t>, std::vector<bool>, Real>;

struct NamedValue {
  const FieldSpec* spec = nullptr;
  Value value;
};
using FieldList = std::vector<NamedValue>;

/// Decodes a body into fields in wire order (duplicates kept, as they appeared).
CLUSTER_API Status decode_fields(std::string_view body, const Template& t, FieldList& out);

/// Converts one field view to an owning value.
CLUSTER_API Value to_value(const FieldView& f);

/// Whether `v` holds the alternative that `type` needs.
CLUSTER_API bool value_matches(FieldType type, const Value& v) noexcept;

/// Appends one framed packet with the fields in the order given. Throws std::invalid_argument
/// when a value does not match its field's type.
CLUSTER_API void encode_fields(const FieldList& fields, std::string& out);

}  // namespace cluster::bpacket
