// Choosing members by what they are: the seed's resolve / resolver.
#pragma once

#include <string>
#include <vector>

#include "cluster/export.hpp"
#include "cluster/sdk/service_info.hpp"

namespace cluster {

/// A term matches a member when it matches its sid, hid, uuid (sid@hid), ip or one of its
/// tags; the term "localhost" also matches every member on this host, and "*" every member.
struct Resolver {
  enum class Match { equal, glob, regex };  ///< -equal (default), -match, -regex
  enum class Mode {
    some,   ///< -some (default): at least one term matches
    has,    ///< -has: every term matches
    not_,   ///< -not: no term matches
    exact,  ///< -exact: the member's tags are exactly the terms (any order)
  };
  Match match = Match::equal;
  Mode mode = Mode::some;
  std::vector<std::string> terms;

  /// Throws std::invalid_argument for a bad regular expression (checked once, here).
  CLUSTER_API bool matches(const ServiceInfo& s) const;
};

/// Glob match as Tcl's string match: * ? [chars] and \x.
CLUSTER_API bool glob_match(std::string_view pattern, std::string_view text) noexcept;

}  // namespace cluster
