#include "membership_log.hpp"

#include "cluster/tcl.hpp"

namespace clusterd {

std::string escape_controls(std::string_view text) {
  static const char* const digits = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != 0x7f) {
      out.push_back(ch);
      continue;
    }
    out += "\\x";
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0xf]);
  }
  return out;
}

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
      log.information(escape_controls("discovered " + ctx.service->uuid + " " + where(*ctx.service) +
                                      (ctx.service->local ? " local" : "")));
    return Verdict::pass;
  });
  c.hook(HookPoint::service_lost, "clusterd.log.lost", [&log](HookContext& ctx) {
    if (ctx.service != nullptr)
      log.information(escape_controls("lost " + ctx.service->uuid + " (" + ctx.reason + ") " + where(*ctx.service)));
    return Verdict::pass;
  });
  c.hook(HookPoint::tags_changed, "clusterd.log.tags", [&log](HookContext& ctx) {
    if (ctx.service != nullptr)
      log.information(escape_controls("tags of " + ctx.service->uuid + " are now {" +
                                      cluster::tcl::format_list(ctx.service->tags) + "}"));
    return Verdict::pass;
  });
}

}  // namespace clusterd
