#include "cluster/resolver.hpp"

#include <algorithm>
#include <regex>
#include <stdexcept>

namespace cluster {

bool glob_match(std::string_view pat, std::string_view s) noexcept {
  // Iterative matcher with one backtrack point for '*': linear in practice, never recursive.
  std::size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
  while (i < s.size()) {
    if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = i;
      continue;
    }
    if (p < pat.size()) {
      bool ok = false;
      std::size_t next = p + 1;
      if (pat[p] == '?') {
        ok = true;
      } else if (pat[p] == '[') {
        std::size_t q = p + 1;
        while (q < pat.size() && pat[q] != ']') {
          if (q + 2 < pat.size() && pat[q + 1] == '-' && pat[q + 2] != ']') {
            ok = ok || (s[i] >= pat[q] && s[i] <= pat[q + 2]);
            q += 3;
          } else {
            ok = ok || s[i] == pat[q];
            ++q;
          }
        }
        next = q < pat.size() ? q + 1 : q;
      } else if (pat[p] == '\\' && p + 1 < pat.size()) {
        ok = pat[p + 1] == s[i];
        next = p + 2;
      } else {
        ok = pat[p] == s[i];
      }
      if (ok) {
        p = next;
        ++i;
        continue;
      }
    }
    if (star == std::string_view::npos) return false;
    p = star + 1;
    i = ++mark;
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

bool Resolver::matches(const ServiceInfo& s) const {
  std::vector<std::regex> regexes;
  if (match == Match::regex) {
    for (const auto& t : terms) {
      try {
        regexes.emplace_back(t);
      } catch (const std::regex_error& e) {
        throw std::invalid_argument("resolver: bad regular expression '" + t + "': " + e.what());
      }
    }
  }
  auto one = [&](std::size_t k, const std::string& value) {
    switch (match) {
      case Match::equal: return terms[k] == value;
      case Match::glob: return glob_match(terms[k], value);
      case Match::regex: return std::regex_search(value, regexes[k]);
    }
    return false;
  };
  auto term_matches = [&](std::size_t k) {
    if (terms[k] == "*" && match == Match::equal) return true;
    if (terms[k] == "localhost" && s.local) return true;
    if (one(k, s.sid) || one(k, s.hid) || one(k, s.uuid) || (!s.ip.empty() && one(k, s.ip))) return true;
    return std::any_of(s.tags.begin(), s.tags.end(), [&](const std::string& t) { return one(k, t); });
  };
  switch (mode) {
    case Mode::some:
      for (std::size_t k = 0; k < terms.size(); ++k)
        if (term_matches(k)) return true;
      return false;
    case Mode::has:
      for (std::size_t k = 0; k < terms.size(); ++k)
        if (!term_matches(k)) return false;
      return !terms.empty();
    case Mode::not_:
      for (std::size_t k = 0; k < terms.size(); ++k)
        if (term_matches(k)) return false;
      return true;
    case Mode::exact: {
      if (s.tags.size() != terms.size()) return false;
      for (std::size_t k = 0; k < terms.size(); ++k)
        if (!std::any_of(s.tags.begin(), s.tags.end(), [&](const std::string& t) { return one(k, t); })) return false;
      return true;
    }
  }
  return false;
}

}  // namespace cluster
