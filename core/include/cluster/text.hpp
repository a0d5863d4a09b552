// Small byte/text helpers shared by the tools and tests: hex and UTF-8 validity.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "cluster/export.hpp"

namespace cluster {

/// Lowercase hex of the bytes.
CLUSTER_API std::string to_hex(std::string_view bytes);
/// Bytes from hex (case-insensitive, whitespace ignored); nullopt on odd length or a non-hex char.
CLUSTER_API std::optional<std::string> from_hex(std::string_view hex);
/// Whether the bytes are well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
CLUSTER_API bool is_utf8(std::string_view bytes) noexcept;

}  // namespace cluster
