// Text helpers of the multi-process tests (strings.hpp).
#include "strings.hpp"

#include <sstream>

#include "cluster/tcl.hpp"

namespace test_support {

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string prop(const std::string& props, const std::string& protocol, const std::string& key) {
  cluster::tcl::Dict top, d;
  if (!cluster::tcl::parse_dict(props, top)) return {};
  const std::string* p = cluster::tcl::dict_get(top, protocol);
  if (p == nullptr || !cluster::tcl::parse_dict(*p, d)) return {};
  const std::string* v = cluster::tcl::dict_get(d, key);
  return v ? *v : std::string();
}

}  // namespace test_support
