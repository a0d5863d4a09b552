// Small byte/text helpers shared by the core, the tools and tests: hex, UTF-8 validity, and
// control characters (text from the network or a file must not drive a terminal or forge a log line).
// is_utf8, has_control and escape_controls are the SDK's (cluster/sdk/text.hpp, header-only, for
// plugins too) under the core's names.
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
/// Whether the text holds a C0 control character (NUL, newline, ESC...) or DEL.
CLUSTER_API bool has_control(std::string_view text) noexcept;
/// `text` with control characters (and, when it is not valid UTF-8, every byte >= 0x80, which
/// covers C1 controls such as CSI) written as \xNN, so it is safe in a log line or on a terminal.
CLUSTER_API std::string escape_controls(std::string_view text);

}  // namespace cluster
