// Per-plugin configuration: a plugin declares its keys; the host validates the plugin's ini
// section against them (unknown keys and bad values are refused before init) and fills defaults.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/sdk/text.hpp"

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

/// The values an integer key accepts, both ends included (SDK 1.2). A plugin lists them in a
/// separate static array, next to its ConfigKey array, and hands it to CLUSTER_PLUGIN_RANGED:
/// ConfigKey keeps the size plugins built against SDK 1.0/1.1 have. The host refuses a configured
/// value outside the range before init, with "<file>:<line>: [section] key = 'v' is out of range
/// (min..max)", so init and the plugin's objects need not check it again. A range that names no
/// integer key of the schema, has min > max, or excludes the key's default refuses the load.
struct ConfigRange {
  const char* key;    ///< the name of an integer ConfigKey
  std::int64_t min;
  std::int64_t max;
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
  /// Integer keys were validated by the host (and kept in their ConfigRange), so this cannot
  /// fail for them; 0 for a value that is not an integer.
  std::int64_t get_int(std::string_view key) const noexcept {
    return text::parse_int(get(key)).value_or(0);
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
