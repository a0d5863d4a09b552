// JSON form of a packet, as in the golden vectors: {"fields": [[name, value], ...]}.
#pragma once

#include <string>
#include <string_view>

#include "cluster/bpacket/fields.hpp"

namespace clusterctl {

/// One JSON object (no newline) for the fields, in order.
std::string fields_to_json(const cluster::bpacket::FieldList& fields);

/// Parses one JSON object into fields of template `t`. Throws std::runtime_error with a
/// one-line reason (unknown field name, wrong value type, negative number, ...).
cluster::bpacket::FieldList fields_from_json(std::string_view json,
                                             const cluster::bpacket::Template& t);

}  // namespace clusterctl
