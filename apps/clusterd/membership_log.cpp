#include "membership_log.hpp"

#include "cluster/tcl.hpp"

namespace clusterd {

namespace {

std::string where(const cluster::ServiceInfo& s) {
  return "ip " + (s.ip.empty() ? std::string("-") : s.ip) + " tags {" + cluster::tcl::format_list(s.tags) + "}";
}

}  // namespace

void log_membership(cluster::Cluster& c, Poco::Logger& log) {
  using cluster::HookContext;
  using cluster::HookPoint;
  using cluster::Verdict;
  c.hook(HookPoint::service_discovered, "clusterd.log.discovered", [&log](HookContext& ctx) {
    if (ctx.service != nullptr)
      log.information("discovered " + ctx.service->uuid + " " + where(*ctx.service) +
                      (ctx.service->local ? " local" : ""));
    return Verdict::pass;
  });
  c.hook(HookPoint::service_lost, "clusterd.log.lost", [&log](HookContext& ctx) {
    if (ctx.service != nullptr)
      log.information("lost " + ctx.service->uuid + " (" + ctx.reason + ") " + where(*ctx.service));
    return Verdict::pass;
  });
  c.hook(HookPoint::tags_changed, "clusterd.log.tags", [&log](HookContext& ctx) {
    if (ctx.service != nullptr)
      log.information("tags of " + ctx.service->uuid + " are now {" + cluster::tcl::format_list(ctx.service->tags) + "}");
    return Verdict::pass;
  });
}

}  // namespace clusterd
