// Per-plugin configuration: a plugin declares its keys; the host validates the plugin's ini
// section against them (unknown keys and bad values are refused before init) and fills defaults.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cluster::sdk {

enum class ConfigType : std::uint8_t { string, integer, boolean, list };

/// One key of a plugin's schema. Plain data so a descriptor can hold a static array of them.
/// A key named "*" (type string) lets the section hold any other keys too: for plugins whose
/// section is data, like the kv responder.
struct ConfigKey {
  const char* name;
  ConfigType type;
  const char* default_value;  ///< as written in an ini file; "" for none
  const char* description;
};

/// A validated section: every schema key is present (default or configured).
class PluginConfig {
 public:
  PluginConfig() = default;
  PluginConfig(std::string section, std::map<std::string, std::string, std::less<>> values)
      : section_(std::move(section)), values_(std::move(values)) {}

  const std::string& section() const noexcept { return section_; }
  /// The raw value, "" for a key the schema does not declare.
  const std::string& get(std::string_view key) const noexcept {
    static const std::string empty;
    auto it = values_.find(key);
    return it == values_.end() ? empty : it->second;
  }
  /// Integer keys were validated by the host, so this cannot fail for them.
  std::int64_t get_int(std::string_view key) const noexcept {
    const std::string& v = get(key);
    std::int64_t n = 0;
    bool neg = false;
    std::size_t i = 0;
    if (!v.empty() && (v[0] == '-' || v[0] == '+')) neg = v[i++] == '-';
    for (; i < v.size() && v[i] >= '0' && v[i] <= '9'; ++i) n = n * 10 + (v[i] - '0');
    return neg ? -n : n;
  }
  bool get_bool(std::string_view key) const noexcept {
    const std::string& v = get(key);
    return v == "1" || v == "true" || v == "yes" || v == "on";
  }
  /// Whitespace- or comma-separated list.
  std::vector<std::string> get_list(std::string_view key) const {
    std::vector<std::string> out;
    std::string cur;
    for (char c : get(key)) {
      if (c == ' ' || c == '\t' || c == ',') {
        if (!cur.empty()) out.push_back(std::move(cur));
        cur.clear();
      } else {
        cur.push_back(c);
      }
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
  }
  const std::map<std::string, std::string, std::less<>>& values() const noexcept { return values_; }

 private:
  std::string section_;
  std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace cluster::sdk
