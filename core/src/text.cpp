// Hex here; UTF-8 and control characters are the SDK's (cluster/sdk/text.hpp), exported under
// their long-standing names.
#include "cluster/text.hpp"

#include "cluster/sdk/text.hpp"

#include <cstdint>

namespace cluster {

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  std::string out;
  int hi = -1;
  for (char c : hex) {
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    else return std::nullopt;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<char>((hi << 4) | v));
      hi = -1;
    }
  }
  if (hi >= 0) return std::nullopt;
  return out;
}

bool is_utf8(std::string_view s) noexcept { return sdk::text::is_utf8(s); }

bool has_control(std::string_view text) noexcept { return sdk::text::has_control(text); }

std::string escape_controls(std::string_view text) { return sdk::text::escape_controls(text); }

}  // namespace cluster
