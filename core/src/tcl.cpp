#include "cluster/tcl.hpp"

#include <cstdint>

namespace cluster::tcl {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
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
std::size_t backslash(std::string_view s, std::size_t i, std::string& out) {
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
      int d = base == 16 ? hex_value(s[i]) : (s[i] >= '0' && s[i] <= '7' ? s[i] - '0' : -1);
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
      auto [v, n] = digits(16, 2);
      if (n == 0) out.push_back('x');
      else append_utf8(out, v);
      break;
    }
    case 'u':
    case 'U': {
      auto [v, n] = digits(16, c == 'u' ? 4 : 8);
      if (n == 0) out.push_back(c);
      else append_utf8(out, v);
      break;
    }
    default:
      if (c >= '0' && c <= '7') {
        --i;
        auto [v, n] = digits(8, 3);
        (void)n;
        append_utf8(out, v & 0xFF);
      } else {
        out.push_back(c);
      }
  }
  return i;
}

bool fail(std::string* error, std::string why) {
  if (error != nullptr) *error = std::move(why);
  return false;
}

bool needs_quoting(std::string_view e) {
  if (e.empty() || e.front() == '#') return true;
  for (char c : e) {
    if (is_space(c)) return true;
    switch (c) {
      case '{': case '}': case '[': case ']': case '$': case '"': case '\\': case ';':
        return true;
      default: break;
    }
  }
  return false;
}

// Braces work when the parser's brace count (skipping backslash-escaped chars) stays >= 0 and
// ends at 0, and no backslash would escape the closing brace.
bool braces_ok(std::string_view e) {
  int depth = 0;
  for (std::size_t i = 0; i < e.size(); ++i) {
    if (e[i] == '\\') {
      if (i + 1 == e.size()) return false;
      ++i;
    } else if (e[i] == '{') {
      ++depth;
    } else if (e[i] == '}') {
      if (--depth < 0) return false;
    }
  }
  return depth == 0;
}

}  // namespace

std::string quote(std::string_view e) {
  if (e.empty()) return "{}";
  if (!needs_quoting(e)) return std::string(e);
  if (braces_ok(e)) return "{" + std::string(e) + "}";
  std::string out;
  for (std::size_t i = 0; i < e.size(); ++i) {
    const char c = e[i];
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\v': out += "\\v"; break;
      case '\f': out += "\\f"; break;
      case '{': case '}': case '[': case ']': case '$': case '"': case '\\': case ';': case ' ':
        out.push_back('\\');
        out.push_back(c);
        break;
      case '#':
        if (i == 0) out.push_back('\\');
        out.push_back(c);
        break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string format_list(const std::vector<std::string>& elements) {
  std::string out;
  for (const auto& e : elements) {
    if (!out.empty()) out.push_back(' ');
    out += quote(e);
  }
  return out;
}

std::string format_dict(const Dict& d) {
  std::string out;
  for (const auto& [k, v] : d) {
    if (!out.empty()) out.push_back(' ');
    out += quote(k);
    out.push_back(' ');
    out += quote(v);
  }
  return out;
}

bool parse_list(std::string_view s, std::vector<std::string>& out, std::string* error) {
  out.clear();
  std::size_t i = 0;
  const std::size_t n = s.size();
  for (;;) {
    while (i < n && is_space(s[i])) ++i;
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
      if (j >= n) return fail(error, "unmatched open brace in list");
      elem.assign(s.substr(i + 1, j - i - 1));
      i = j + 1;
      if (i < n && !is_space(s[i]))
        return fail(error, "list element in braces followed by \"" + std::string(1, s[i]) +
                               "\" instead of space");
    } else if (s[i] == '"') {
      std::size_t j = i + 1;
      bool closed = false;
      while (j < n) {
        if (s[j] == '\\') {
          j = backslash(s, j, elem);
        } else if (s[j] == '"') {
          closed = true;
          break;
        } else {
          elem.push_back(s[j++]);
        }
      }
      if (!closed) return fail(error, "unmatched open quote in list");
      i = j + 1;
      if (i < n && !is_space(s[i]))
        return fail(error, "list element in quotes followed by \"" + std::string(1, s[i]) +
                               "\" instead of space");
    } else {
      while (i < n && !is_space(s[i])) {
        if (s[i] == '\\') i = backslash(s, i, elem);
        else elem.push_back(s[i++]);
      }
    }
    out.push_back(std::move(elem));
  }
}

bool parse_dict(std::string_view s, Dict& out, std::string* error) {
  out.clear();
  std::vector<std::string> items;
  if (!parse_list(s, items, error)) return false;
  if (items.size() % 2 != 0) return fail(error, "missing value to go with key");
  for (std::size_t i = 0; i < items.size(); i += 2) dict_set(out, items[i], std::move(items[i + 1]));
  return true;
}

const std::string* dict_get(const Dict& d, std::string_view key) {
  for (const auto& kv : d)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

void dict_set(Dict& d, std::string_view key, std::string value) {
  for (auto& kv : d)
    if (kv.first == key) {
      kv.second = std::move(value);
      return;
    }
  d.emplace_back(std::string(key), std::move(value));
}

}  // namespace cluster::tcl
