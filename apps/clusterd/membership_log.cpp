#include "membership_log.hpp"

#include <memory>

#include "cluster/event_loop.hpp"
#include "cluster/tcl.hpp"
#include "cluster/text.hpp"

namespace clusterd {

bool MembershipLogLimiter::admit(Kind kind, const std::string& uuid, Clock::time_point now) {
  if (open_ && now - start_ >= window_) close_window();  // its summaries wait in ready_
  if (!open_) {
    open_ = true;
    start_ = now;
  }
  Held& h = per_kind_[kind];
  if (h.logged < burst_) {
    ++h.logged;
    return true;
  }
  if (h.held++ == 0) h.first = uuid;
  h.last = uuid;
  return false;
}

void MembershipLogLimiter::close_window() {
  static const char* const what[kinds] = {"discovered", "lost", "with changed tags"};
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(window_).count();
  for (std::size_t k = 0; k < kinds; ++k) {
    const Held& h = per_kind_[k];
    if (h.held == 0) continue;
    ready_.push_back(std::to_string(h.held) + (h.held == 1 ? " member " : " members ") + what[k] + " in the last " +
                     std::to_string(seconds) + " s " + (h.held == 1 ? "was" : "were") +
                     " not logged one by one (first " + h.first + ", last " + h.last + ")");
  }
  open_ = false;
  per_kind_ = {};
}

std::vector<std::string> MembershipLogLimiter::flush(Clock::time_point now) {
  if (open_ && now - start_ >= window_) close_window();
  std::vector<std::string> out;
  out.swap(ready_);
  return out;
}

std::optional<MembershipLogLimiter::Clock::time_point> MembershipLogLimiter::summary_due() const {
  if (!open_) return std::nullopt;
  for (const Held& h : per_kind_)
    if (h.held > 0) return start_ + window_;
  return std::nullopt;
}

namespace {

std::string where(const cluster::ServiceInfo& s) {
  return "ip " + (s.ip.empty() ? std::string("-") : s.ip) + " tags {" + cluster::tcl::format_list(s.tags) + "}";
}

// The hooks, the limiter and its summary timer share this; the timer holds it weakly, so a
// summary due after the cluster is gone is simply not written.
struct LogState {
  Poco::Logger& log;
  cluster::EventLoop& loop;
  MembershipLogLimiter limiter;
  bool timer_set = false;

  void write(MembershipLogLimiter::Kind kind, const std::string& uuid, const std::string& line,
             const std::shared_ptr<LogState>& self) {
    const auto now = MembershipLogLimiter::Clock::now();
    for (const auto& summary : limiter.flush(now)) log.information(cluster::escape_controls(summary));
    if (limiter.admit(kind, uuid, now)) {
      log.information(cluster::escape_controls(line));
      return;
    }
    if (timer_set) return;
    const auto due = limiter.summary_due();
    if (!due) return;
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*due - now) + std::chrono::milliseconds(1);
    arm(wait, self);
  }

  // Writes the summaries due when it fires, and arms itself again while a window (perhaps a
  // newer one, opened while this timer was pending) still holds lines.
  void arm(std::chrono::milliseconds wait, const std::shared_ptr<LogState>& self) {
    timer_set = true;
    std::weak_ptr<LogState> weak = self;
    loop.after(wait, [weak] {
      auto s = weak.lock();
      if (!s) return;
      s->timer_set = false;
      const auto now = MembershipLogLimiter::Clock::now();
      for (const auto& summary : s->limiter.flush(now)) s->log.information(cluster::escape_controls(summary));
      if (const auto due = s->limiter.summary_due())
        s->arm(std::chrono::ceil<std::chrono::milliseconds>(*due - now) + std::chrono::milliseconds(1), s);
    });
  }
};

}  // namespace

void log_membership(cluster::Cluster& c, Poco::Logger& log) {
  using cluster::HookContext;
  using cluster::HookPoint;
  using cluster::Verdict;
  using Kind = MembershipLogLimiter::Kind;
  auto state = std::make_shared<LogState>(LogState{log, c.loop(), MembershipLogLimiter(), false});
  c.hook(HookPoint::service_discovered, "clusterd.log.discovered", [state](HookContext& ctx) {
    if (ctx.service != nullptr)
      state->write(Kind::discovered, ctx.service->uuid,
                   "discovered " + ctx.service->uuid + " " + where(*ctx.service) + (ctx.service->local ? " local" : ""),
                   state);
    return Verdict::pass;
  });
  c.hook(HookPoint::service_lost, "clusterd.log.lost", [state](HookContext& ctx) {
    if (ctx.service != nullptr)
      state->write(Kind::lost, ctx.service->uuid,
                   "lost " + ctx.service->uuid + " (" + ctx.reason + ") " + where(*ctx.service), state);
    return Verdict::pass;
  });
  c.hook(HookPoint::tags_changed, "clusterd.log.tags", [state](HookContext& ctx) {
    if (ctx.service != nullptr)
      state->write(Kind::tags_changed, ctx.service->uuid,
                   "tags of " + ctx.service->uuid + " are now {" + cluster::tcl::format_list(ctx.service->tags) + "}",
                   state);
    return Verdict::pass;
  });
}

}  // namespace clusterd
