#include "resolve.hpp"

#include <algorithm>

#include "cluster_object.hpp"

namespace cluster::tclbind {

Resolver::Match match_of(const std::string& w) {
  if (w == "equal") return Resolver::Match::equal;
  if (w == "match") return Resolver::Match::glob;
  if (w == "regex" || w == "regexp") return Resolver::Match::regex;
  fail("bad modifier \"" + w + "\": should be equal, match or regex", {"ARGS", "RESOLVER"});
}

Resolver::Mode mode_of(const std::string& w) {
  if (w == "has" || w == "all") return Resolver::Mode::has;
  if (w == "not") return Resolver::Mode::not_;
  if (w == "some") return Resolver::Mode::some;
  if (w == "exact") return Resolver::Mode::exact;
  fail("bad operator \"" + w + "\": should be has, not, some or exact", {"ARGS", "RESOLVER"});
}

namespace {

void narrow(std::vector<ServicePtr>& set, const Resolver& r) {
  set.erase(std::remove_if(set.begin(), set.end(), [&](const ServicePtr& s) { return !r.matches(s->info()); }),
            set.end());
}

}  // namespace

std::vector<ServicePtr> resolve_all(ClusterObject& o, const std::vector<std::string>& terms) {
  std::vector<ServicePtr> set = o.cluster().services();
  for (const auto& term : terms) {
    // One of our service commands stands for that member.
    if (ServicePtr named = o.service_by_command(term)) {
      set.erase(std::remove_if(set.begin(), set.end(), [&](const ServicePtr& s) { return s->uuid() != named->uuid(); }),
                set.end());
      continue;
    }
    Resolver r;
    r.terms = {term};
    narrow(set, r);
  }
  return set;
}

std::vector<ServicePtr> resolver(ClusterObject& o, Tcl_Interp* interp, const std::vector<std::string>& given) {
  std::vector<std::string> args = given;
  if (args.size() == 1) args = elements(interp, str(args[0]));
  const auto first = std::find_if(args.begin(), args.end(), [](const std::string& a) { return !a.empty(); });
  if (first == args.end()) return {};
  if ((*first)[0] != '-') return resolve_all(o, args);
  std::vector<ServicePtr> set = o.cluster().services();
  Resolver r;
  r.mode = Resolver::Mode::has;
  for (const auto& a : args) {
    if (a.empty() || a == "1") continue;  // "1": the seed's object form {"-match": 1}
    if (a[0] == '-') {
      const std::string w = a.substr(1);
      if (w == "equal" || w == "match" || w.rfind("regex", 0) == 0) {
        r.match = match_of(w);
        r.mode = Resolver::Mode::has;
      } else {
        r.mode = mode_of(w);
      }
      continue;
    }
    r.terms = elements(interp, str(a));
    narrow(set, r);
  }
  return set;
}

}  // namespace cluster::tclbind
