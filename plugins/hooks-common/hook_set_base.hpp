// Shared by the hook-set plugins (header-only, compiled into each .so; never the core's code):
// a HookSet base that remembers the hooks it added and removes them again, and Tcl list quoting
// (the SDK has none, and a plugin may not link the core).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/sdk.hpp"

namespace cluster::hooks {

/// A hook set whose hooks never outlive it: they are removed when the set is destroyed (the
/// core destroys its hook sets before its hook table), and when attach() fails half-way.
class HookSetBase : public sdk::HookSet {
 public:
  ~HookSetBase() override { detach(); }

 protected:
  /// Adds one hook; false when the registry refused it (a hook of that name exists already,
  /// e.g. the set was attached twice to the same cluster).
  bool add(HookRegistry& registry, HookPoint point, std::string name, HookFn fn, int order) noexcept {
    const HookId id = registry.add(point, std::move(name), std::move(fn), order);
    if (id == 0) return false;
    registry_ = &registry;
    try {
      ids_.push_back(id);
    } catch (...) {
      registry.remove(id);
      return false;
    }
    return true;
  }

  /// Removes every hook added so far and returns a failure naming `set` and `hook`.
  sdk::Result refuse_duplicate(std::string_view set, std::string_view hook) noexcept {
    detach();
    try {
      return sdk::Result::failure("hook set '" + std::string(set) + "': hook '" + std::string(hook) +
                                  "' exists already (attached twice to one cluster?)");
    } catch (...) {
      return sdk::Result::failure({});
    }
  }

  void detach() noexcept {
    if (registry_ != nullptr)
      for (const HookId id : ids_) registry_->remove(id);
    ids_.clear();
    registry_ = nullptr;
  }

 private:
  HookRegistry* registry_ = nullptr;
  std::vector<HookId> ids_;
};

/// Tcl list element quoting, as the core's tcl::quote does it: the element as is when nothing
/// in it is special, {braces} when the braces inside balance, backslashes otherwise; {} for "".
inline std::string tcl_quote(std::string_view e) {
  if (e.empty()) return "{}";
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  auto special = [](char c) {
    return c == '{' || c == '}' || c == '[' || c == ']' || c == '$' || c == '"' || c == '\\' || c == ';';
  };
  bool plain = e.front() != '#';
  for (const char c : e)
    if (space(c) || special(c)) plain = false;
  if (plain) return std::string(e);
  // Braces work when the parser's brace count (skipping backslash-escaped characters) never
  // goes negative and ends at 0, and no backslash would escape the closing brace.
  int depth = 0;
  bool braces = true;
  for (std::size_t i = 0; i < e.size() && braces; ++i) {
    if (e[i] == '\\') {
      if (i + 1 == e.size()) braces = false;
      ++i;
    } else if (e[i] == '{') {
      ++depth;
    } else if (e[i] == '}' && --depth < 0) {
      braces = false;
    }
  }
  if (braces && depth == 0) return "{" + std::string(e) + "}";
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
        if (c == ' ' || special(c)) out.push_back('\\');
        out.push_back(c);
    }
  }
  return out;
}

inline std::string tcl_list(const std::vector<std::string>& elements) {
  std::string out;
  for (const auto& e : elements) {
    if (!out.empty()) out.push_back(' ');
    out += tcl_quote(e);
  }
  return out;
}

/// Text safe for one log line or error message: printable ASCII and UTF-8 bytes as they are,
/// control bytes as \xNN, cut after `max` bytes ("... (N bytes)").
inline std::string printable(std::string_view s, std::size_t max = 200) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  const std::size_t n = s.size() < max ? s.size() : max;
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (n < s.size()) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

}  // namespace cluster::hooks
