// A small ini reader that remembers where every value came from, so a bad value is reported as
// "file:line: reason". Comments start with ';' or '#' at the start of a line, or after
// whitespace inside a line ("ttl = 3 ; seconds" is "3"). Keys are case-insensitive.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/export.hpp"
#include "cluster/text.hpp"

namespace cluster {

/// A configuration error; what() is "file:line: reason" (or "file: reason"). Messages quote
/// values from the file: control characters in them are written as \xNN (a terminal escape in
/// a config file must not reach the operator's terminal).
class CLUSTER_API ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(const std::string& message) : std::runtime_error(escape_controls(message)) {}
  explicit ConfigError(const char* message) : ConfigError(std::string(message)) {}
};

struct IniValue {
  std::string value;
  std::string where;  ///< "file:line"
};

struct IniSection {
  std::string name;   ///< lowercase
  std::string where;  ///< "file:line" of the [header]
  std::map<std::string, IniValue, std::less<>> values;  ///< lowercase keys

  const IniValue* find(std::string_view key) const {
    auto it = values.find(key);
    return it == values.end() ? nullptr : &it->second;
  }
};

class CLUSTER_API IniFile {
 public:
  /// Reads a file. Throws ConfigError for an unreadable file, a line that is neither a section,
  /// a key = value pair nor a comment, a key outside any section, or a key given twice.
  static IniFile load(const std::string& path);
  /// Parses text; `origin` names it in messages.
  static IniFile parse(std::string_view text, const std::string& origin);

  const IniSection* section(std::string_view name) const;
  const std::vector<IniSection>& sections() const noexcept { return sections_; }
  const std::string& origin() const noexcept { return origin_; }

 private:
  std::string origin_;
  std::vector<IniSection> sections_;
};

}  // namespace cluster
