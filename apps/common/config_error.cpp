#include "config_error.hpp"

#include <cctype>

namespace clusterapp {

std::string locate_config_error(const cluster::IniFile& ini, const std::string& message) {
  const std::string& origin = ini.origin();
  std::string rest = message;
  if (!origin.empty() && rest.compare(0, origin.size(), origin) == 0) {
    const std::string after = rest.substr(origin.size());
    if (after.size() > 1 && after[0] == ':' && std::isdigit(static_cast<unsigned char>(after[1]))) return message;
    if (after.compare(0, 2, ": ") != 0) return message;
    rest = after.substr(2);
  }
  // "[section] key ..."
  if (rest.size() > 2 && rest[0] == '[') {
    const auto close = rest.find("] ");
    if (close != std::string::npos) {
      const std::string section = rest.substr(1, close - 1);
      std::string key;
      for (std::size_t i = close + 2; i < rest.size() && (std::isalnum(static_cast<unsigned char>(rest[i])) || rest[i] == '_'); ++i)
        key.push_back(rest[i]);
      if (const cluster::IniSection* s = ini.section(section)) {
        if (const cluster::IniValue* v = s->find(key)) return v->where + ": " + rest;
        return s->where + ": " + rest;
      }
    }
  }
  return origin.empty() ? rest : origin + ": " + rest;
}

}  // namespace clusterapp
