// Text helpers for plugins and the core alike (header-only: plugins do not link the core).
//
//  - Tcl lists and dicts, exactly as the core formats and parses them: props travel as Tcl dicts
//    ("t {port 40123}"), pings as Tcl lists of sids, and a plugin that answers a query with a
//    list must quote it the same way (cluster/tcl.hpp is a thin layer over these).
//  - Control characters: whether a text holds one, and a printable form of any bytes (text from
//    the network or a file must not drive a terminal or forge a log line).
//  - Strict integer parsing with a range: the whole text must be the number.
//
// Nothing here throws except by running out of memory (std::bad_alloc from std::string); the
// parse and test functions that allocate nothing are noexcept. Nothing keeps state: every function
// may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cluster::sdk::text {

// ---- integers ---------------------------------------------------------------------------------

/// Parses a decimal integer: an optional '-' or '+', then one or more digits, and nothing else (no
/// spaces, no hex, no "12k"). nullopt when the text is not such a number, does not fit in 64 bits,
/// or lies outside [min, max].
inline std::optional<std::int64_t> parse_int(std::string_view s,
                                             std::int64_t min = std::numeric_limits<std::int64_t>::min(),
                                             std::int64_t max = std::numeric_limits<std::int64_t>::max()) noexcept {
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  // Accumulate the magnitude unsigned: INT64_MIN's magnitude does not fit in int64_t.
  const std::uint64_t limit = negative ? std::uint64_t{1} << 63 : (std::uint64_t{1} << 63) - 1;
  std::uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (limit - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  const std::int64_t n =
      negative ? (v == (std::uint64_t{1} << 63) ? std::numeric_limits<std::int64_t>::min()
                                               : -static_cast<std::int64_t>(v))
               : static_cast<std::int64_t>(v);
  if (n < min || n > max) return std::nullopt;
  return n;
}

/// Parses an unsigned decimal integer: digits only (no sign), nothing else, at most `max`.
inline std::optional<std::uint64_t> parse_uint(std::string_view s,
                                               std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) noexcept {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (d > max || v > (max - d) / 10) return std::nullopt;  // v * 10 + d > max
    v = v * 10 + d;
  }
  return v;
}

// ---- bytes and control characters -------------------------------------------------------------

/// Whether the bytes are well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
inline bool is_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned char b = *p;
    if (b < 0x80) {
      ++p;
      continue;
    }
    int n;
    std::uint32_t cp;
    if ((b & 0xE0) == 0xC0) {
      n = 1;
      cp = b & 0x1Fu;
    } else if ((b & 0xF0) == 0xE0) {
      n = 2;
      cp = b & 0x0Fu;
    } else if ((b & 0xF8) == 0xF0) {
      n = 3;
      cp = b & 0x07u;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    constexpr std::uint32_t min_for_len[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += n + 1;
  }
  return true;
}

/// Whether the text holds a C0 control character (NUL, newline, ESC...) or DEL.
inline bool has_control(std::string_view text) noexcept {
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

/// How escape_controls writes the control characters it escapes.
enum class Escape : std::uint8_t {
  hex,        ///< every one as \xNN (log lines: nothing in them looks like a line break)
  mnemonics,  ///< \n, \r and \t by name, the others as \xNN (one-line terminal output)
};

/// `text` with control characters (and, when it is not valid UTF-8, every byte >= 0x80, which
/// covers C1 controls such as CSI) escaped, so it is safe in a log line or on a terminal.
/// Printable ASCII and valid UTF-8 pass unchanged.
inline std::string escape_controls(std::string_view text, Escape style = Escape::hex) {
  constexpr char digits[] = "0123456789abcdef";
  const bool utf8 = is_utf8(text);
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 0x20 && c < 0x7f) || (c >= 0x80 && utf8)) {
      out.push_back(ch);
      continue;
    }
    if (style == Escape::mnemonics && (ch == '\n' || ch == '\r' || ch == '\t')) {
      out.push_back('\\');
      out.push_back(ch == '\n' ? 'n' : ch == '\r' ? 'r' : 't');
      continue;
    }
    out += "\\x";
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0xf]);
  }
  return out;
}

/// escape_controls() of at most the first `max` bytes (cut at a UTF-8 character boundary), then
/// "... (N bytes)" when the text was longer: safe and short enough for one log line or error.
inline std::string printable(std::string_view text, std::size_t max = 200) {
  if (text.size() <= max) return escape_controls(text);
  std::size_t n = max;
  // Do not split a UTF-8 sequence: back up over at most 3 continuation bytes.
  for (int i = 0; i < 3 && n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80; ++i) --n;
  return escape_controls(text.substr(0, n)) + "... (" + std::to_string(text.size()) + " bytes)";
}

// ---- Tcl lists and dicts ----------------------------------------------------------------------

/// Ordered key/value pairs; on parse a repeated key keeps its first position and last value, as
/// Tcl's dict does. The same type as cluster::Dict and cluster::tcl::Dict.
using Dict = std::vector<std::pair<std::string, std::string>>;

namespace detail {

inline bool tcl_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

inline bool tcl_special(char c) noexcept {
  return c == '{' || c == '}' || c == '[' || c == ']' || c == '$' || c == '"' || c == '\\' || c == ';';
}

inline int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Tcl backslash substitution at s[i] == '\\'; appends the result and returns the index after.
inline std::size_t backslash(std::string_view s, std::size_t i, std::string& out) {
  ++i;
  if (i >= s.size()) {
    out.push_back('\\');
    return i;
  }
  const char c = s[i++];
  auto digits = [&](int base, std::size_t max) {
    std::uint32_t v = 0;
    std::size_t n = 0;
    while (n < max && i < s.size()) {
      const int d = base == 16 ? hex_value(s[i]) : (s[i] >= '0' && s[i] <= '7' ? s[i] - '0' : -1);
      if (d < 0) break;
      v = v * static_cast<std::uint32_t>(base) + static_cast<std::uint32_t>(d);
      ++i;
      ++n;
    }
    return std::make_pair(v, n);
  };
  switch (c) {
    case 'a': out.push_back('\a'); break;
    case 'b': out.push_back('\b'); break;
    case 'f': out.push_back('\f'); break;
    case 'n': out.push_back('\n'); break;
    case 'r': out.push_back('\r'); break;
    case 't': out.push_back('\t'); break;
    case 'v': out.push_back('\v'); break;
    case '\n':  // backslash-newline plus following blanks -> one space
      while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
      out.push_back(' ');
      break;
    case 'x': {
      const auto [v, n] = digits(16, 2);
      if (n == 0) out.push_back('x');
      else append_utf8(out, v);
      break;
    }
    case 'u':
    case 'U': {
      const auto [v, n] = digits(16, c == 'u' ? 4 : 8);
      if (n == 0) out.push_back(c);
      else append_utf8(out, v);
      break;
    }
    default:
      if (c >= '0' && c <= '7') {
        --i;
        const auto [v, n] = digits(8, 3);
        (void)n;
        append_utf8(out, v & 0xFF);
      } else {
        out.push_back(c);
      }
  }
  return i;
}

inline bool fail(std::string* error, std::string why) {
  if (error != nullptr) *error = std::move(why);
  return false;
}

// Braces work when the parser's brace count (skipping backslash-escaped chars) stays >= 0 and
// ends at 0, and no backslash would escape the closing brace.
inline bool braces_ok(std::string_view e) noexcept {
  int depth = 0;
  for (std::size_t i = 0; i < e.size(); ++i) {
    if (e[i] == '\\') {
      if (i + 1 == e.size()) return false;
      ++i;
    } else if (e[i] == '{') {
      ++depth;
    } else if (e[i] == '}' && --depth < 0) {
      return false;
    }
  }
  return depth == 0;
}

}  // namespace detail

/// Quotes one list element so that parse_tcl_list gives it back unchanged: the element as is
/// when nothing in it is special, {braces} when the braces inside balance, backslashes
/// otherwise; {} for the empty string.
inline std::string tcl_quote(std::string_view e) {
  if (e.empty()) return "{}";
  bool plain = e.front() != '#';
  for (const char c : e)
    if (detail::tcl_space(c) || detail::tcl_special(c)) plain = false;
  if (plain) return std::string(e);
  if (detail::braces_ok(e)) return "{" + std::string(e) + "}";
  std::string out;
  for (std::size_t i = 0; i < e.size(); ++i) {
    const char c = e[i];
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\v': out += "\\v"; break;
      case '\f': out += "\\f"; break;
      case '#':
        if (i == 0) out.push_back('\\');
        out.push_back(c);
        break;
      default:
        if (c == ' ' || detail::tcl_special(c)) out.push_back('\\');
        out.push_back(c);
    }
  }
  return out;
}

/// The elements as one Tcl list ("a {b c} {}").
inline std::string tcl_list(const std::vector<std::string>& elements) {
  std::string out;
  for (const auto& e : elements) {
    if (!out.empty()) out.push_back(' ');
    out += tcl_quote(e);
  }
  return out;
}

/// The pairs as one Tcl dict ("port 40123 path {/tmp/a b}").
inline std::string tcl_dict(const Dict& d) {
  std::string out;
  for (const auto& [k, v] : d) {
    if (!out.empty()) out.push_back(' ');
    out += tcl_quote(k);
    out.push_back(' ');
    out += tcl_quote(v);
  }
  return out;
}

/// Sets `key` in `d` (keeps its position when present, else appends).
inline void dict_set(Dict& d, std::string_view key, std::string value) {
  for (auto& kv : d)
    if (kv.first == key) {
      kv.second = std::move(value);
      return;
    }
  d.emplace_back(std::string(key), std::move(value));
}

/// The value of `key` in `d`, or nullptr.
inline const std::string* dict_get(const Dict& d, std::string_view key) noexcept {
  for (const auto& kv : d)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

/// Parses a Tcl list. Returns false and sets `error` (if given) on unbalanced braces or quotes,
/// or junk after a closing brace/quote; `out` is then unspecified.
inline bool parse_tcl_list(std::string_view s, std::vector<std::string>& out, std::string* error = nullptr) {
  out.clear();
  std::size_t i = 0;
  const std::size_t n = s.size();
  for (;;) {
    while (i < n && detail::tcl_space(s[i])) ++i;
    if (i >= n) return true;
    std::string elem;
    if (s[i] == '{') {
      int depth = 1;
      std::size_t j = i + 1;
      for (; j < n; ++j) {
        if (s[j] == '\\' && j + 1 < n) {
          ++j;
        } else if (s[j] == '{') {
          ++depth;
        } else if (s[j] == '}' && --depth == 0) {
          break;
        }
      }
      if (j >= n) return detail::fail(error, "unmatched open brace in list");
      elem.assign(s.substr(i + 1, j - i - 1));
      i = j + 1;
      if (i < n && !detail::tcl_space(s[i]))
        return detail::fail(error, "list element in braces followed by \"" + std::string(1, s[i]) +
                                       "\" instead of space");
    } else if (s[i] == '"') {
      std::size_t j = i + 1;
      bool closed = false;
      while (j < n) {
        if (s[j] == '\\') {
          j = detail::backslash(s, j, elem);
        } else if (s[j] == '"') {
          closed = true;
          break;
        } else {
          elem.push_back(s[j++]);
        }
      }
      if (!closed) return detail::fail(error, "unmatched open quote in list");
      i = j + 1;
      if (i < n && !detail::tcl_space(s[i]))
        return detail::fail(error, "list element in quotes followed by \"" + std::string(1, s[i]) +
                                       "\" instead of space");
    } else {
      while (i < n && !detail::tcl_space(s[i])) {
        if (s[i] == '\\') i = detail::backslash(s, i, elem);
        else elem.push_back(s[i++]);
      }
    }
    out.push_back(std::move(elem));
  }
}

/// Parses a Tcl dict (a list with an even number of elements).
inline bool parse_tcl_dict(std::string_view s, Dict& out, std::string* error = nullptr) {
  out.clear();
  std::vector<std::string> items;
  if (!parse_tcl_list(s, items, error)) return false;
  if (items.size() % 2 != 0) return detail::fail(error, "missing value to go with key");
  for (std::size_t i = 0; i < items.size(); i += 2) dict_set(out, items[i], std::move(items[i + 1]));
  return true;
}

}  // namespace cluster::sdk::text
