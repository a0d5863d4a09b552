// The seed's resolve and resolver over our members: resolve narrows by every term in turn (a
// member must match all of them), resolver applies -equal/-match/-regex and -has/-not/-some/
// -exact modifiers in order, each list narrowing the set further.
#pragma once

#include <tcl.h>

#include <string>
#include <vector>

#include "cluster/cluster.hpp"

namespace cluster::tclbind {

class ClusterObject;

std::vector<ServicePtr> resolve_all(ClusterObject& o, const std::vector<std::string>& terms);
/// `args` as given to `$cluster resolver` (one list, or several words).
std::vector<ServicePtr> resolver(ClusterObject& o, Tcl_Interp* interp, const std::vector<std::string>& args);
/// -equal/-match/-regex[p] -> Resolver::Match; throws TclError for another word.
Resolver::Match match_of(const std::string& word);
/// has/all, not, some, exact -> Resolver::Mode; throws TclError for another word.
Resolver::Mode mode_of(const std::string& word);

}  // namespace cluster::tclbind
