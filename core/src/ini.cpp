#include "cluster/ini.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace cluster {
namespace {

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Cuts an inline comment: ';' or '#' preceded by whitespace.
std::string_view strip_comment(std::string_view s) {
  for (std::size_t i = 1; i < s.size(); ++i)
    if ((s[i] == ';' || s[i] == '#') && (s[i - 1] == ' ' || s[i - 1] == '\t')) return s.substr(0, i);
  return s;
}

}  // namespace

IniFile IniFile::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot read file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

IniFile IniFile::parse(std::string_view text, const std::string& origin) {
  IniFile f;
  f.origin_ = origin;
  std::size_t lineno = 0;
  IniSection* cur = nullptr;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++lineno;
    const std::string where = origin + ":" + std::to_string(lineno);
    std::string_view line = trim(raw);
    if (line.empty() || line[0] == ';' || line[0] == '#') continue;
    line = trim(strip_comment(line));
    if (line.front() == '[') {
      if (line.back() != ']') throw ConfigError(where + ": section header without closing ']'");
      const std::string name = lower(trim(line.substr(1, line.size() - 2)));
      if (name.empty()) throw ConfigError(where + ": empty section name");
      if (f.section(name) != nullptr) throw ConfigError(where + ": section [" + name + "] given twice");
      f.sections_.push_back({name, where, {}});
      cur = &f.sections_.back();
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string_view::npos)
      throw ConfigError(where + ": expected 'key = value', got '" + std::string(line) + "'");
    const std::string key = lower(trim(line.substr(0, eq)));
    if (key.empty()) throw ConfigError(where + ": missing key before '='");
    if (cur == nullptr) throw ConfigError(where + ": key '" + key + "' outside any [section]");
    if (auto* prev = cur->find(key))
      throw ConfigError(where + ": key '" + key + "' in [" + cur->name + "] already set at " + prev->where);
    cur->values.emplace(key, IniValue{std::string(trim(line.substr(eq + 1))), where});
  }
  return f;
}

const IniSection* IniFile::section(std::string_view name) const {
  for (const auto& s : sections_)
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace cluster
