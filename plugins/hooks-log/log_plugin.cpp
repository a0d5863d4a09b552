// Hook set "log": writes membership and traffic to a Poco logger (default "cluster"): members
// discovered, lost and retagged; queries, responses and events in and out. Every hook only
// reads: it returns Verdict::pass and changes nothing. See docs/hooks.md and conf/log.ini.
#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>

#include <iterator>
#include <memory>
#include <string>
#include <string_view>

#include "cluster/sdk.hpp"
#include "hook_set_base.hpp"

namespace {

using cluster::HookContext;
using cluster::HookPoint;
using cluster::HookRegistry;
using cluster::Payload;
using cluster::PayloadType;
using cluster::Verdict;
using cluster::sdk::ConfigKey;
using cluster::sdk::ConfigType;
using cluster::sdk::HookSetHost;
using cluster::sdk::PluginConfig;
using cluster::sdk::Result;
using cluster::sdk::text::printable;
using cluster::sdk::text::tcl_list;

constexpr ConfigKey kKeys[] = {
    {"level", ConfigType::string, "information",
     "priority of the messages: fatal, critical, error, warning, notice, information, debug or trace"},
    {"logger", ConfigType::string, "cluster", "name of the Poco logger written to"},
};

/// After the other hooks (auth verification and user hooks that may drop), before the auth
/// signature (hook_order::last) on the way out: the log shows what passed and what is sent.
constexpr int kOrder = cluster::hook_order::observe;

struct LogConfig {
  Poco::Message::Priority priority = Poco::Message::PRIO_INFORMATION;
  std::string logger = "cluster";
};

Result parse_config(const PluginConfig& cfg, LogConfig& out) {
  static constexpr std::pair<std::string_view, Poco::Message::Priority> levels[] = {
      {"fatal", Poco::Message::PRIO_FATAL},     {"critical", Poco::Message::PRIO_CRITICAL},
      {"error", Poco::Message::PRIO_ERROR},     {"warning", Poco::Message::PRIO_WARNING},
      {"notice", Poco::Message::PRIO_NOTICE},   {"information", Poco::Message::PRIO_INFORMATION},
      {"debug", Poco::Message::PRIO_DEBUG},     {"trace", Poco::Message::PRIO_TRACE},
  };
  const std::string section = "[" + cfg.section() + "] ";
  const std::string& level = cfg.get("level");
  bool found = false;
  for (const auto& [name, prio] : levels)
    if (level == name) {
      out.priority = prio;
      found = true;
    }
  if (!found)
    return Result::failure(section + "level = '" + printable(level, 60) +
                           "' is not a level (fatal, critical, error, warning, notice, information, debug, trace)");
  out.logger = cfg.get("logger");
  if (out.logger.empty()) return Result::failure(section + "logger must name a logger (default: cluster)");
  return Result::success();
}

std::string uuid_of(const HookContext& ctx) {
  if (ctx.service != nullptr) return ctx.service->uuid;
  const Payload* p = ctx.payload;
  if (p != nullptr && p->sid.has() && p->hid.has()) return *p->sid + "@" + *p->hid;
  return "?";
}

/// Whom an outgoing packet goes to: the member, else the filter of a multicast, else "all".
std::string target_of(const HookContext& ctx) {
  if (ctx.service != nullptr) return ctx.service->uuid;
  if (ctx.payload != nullptr && ctx.payload->filter.has()) return "{" + tcl_list(*ctx.payload->filter) + "}";
  return "all";
}

class Log final : public cluster::hooks::HookSetBase {
 public:
  /// `cfg`: the [log] section, parsed (and refused when invalid) once, at init.
  Log(HookSetHost& /*host*/, const LogConfig& cfg)
      : cfg_(cfg), what_logger_("log: cannot use logger '" + cfg_.logger + "'") {}

  Result attach(HookRegistry& hooks) noexcept override {
    Result r = cluster::sdk::guard(what_logger_, [&] {
      // Poco's loggers live in libPocoFoundation (shared with the host), not in this plugin.
      logger_ = &Poco::Logger::get(cfg_.logger);
      // A logger without a channel drops everything: the host configured no logging at all.
      // Write to the console then rather than silently.
      if (logger_->getChannel() == nullptr) {
        Poco::AutoPtr<Poco::ConsoleChannel> console(new Poco::ConsoleChannel);
        logger_->setChannel(console);
      }
      return Result::success();
    });
    if (!r) return r;
    return cluster::sdk::guard("log: attach", [&] { return add_hooks(hooks); });
  }

 private:
  Result add_hooks(HookRegistry& hooks) {
    struct Spec {
      HookPoint point;
      const char* name;
      void (Log::*fn)(const HookContext&);
    };
    static constexpr Spec specs[] = {
        {HookPoint::service_discovered, "log.discovered", &Log::discovered},
        {HookPoint::service_lost, "log.lost", &Log::lost},
        {HookPoint::tags_changed, "log.tags", &Log::tags},
        {HookPoint::evaluate_receive, "log.receive", &Log::received},
        {HookPoint::evaluate_send, "log.send", &Log::sent},
    };
    for (const Spec& s : specs) {
      const auto fn = s.fn;
      // Never anything but pass, even when writing the message failed.
      auto hook = [this, fn](HookContext& ctx) {
        cluster::sdk::guard_or(false, [&] {
          if (logger_->is(cfg_.priority)) (this->*fn)(ctx);
          return true;
        });
        return Verdict::pass;
      };
      if (!add(hooks, s.point, s.name, std::move(hook), kOrder)) return refuse_duplicate("log", s.name);
    }
    return Result::success();
  }

  void write(const std::string& text) { logger_->log(Poco::Message(logger_->name(), text, cfg_.priority)); }

  void discovered(const HookContext& ctx) {
    if (ctx.service == nullptr) return;
    const auto& s = *ctx.service;
    write("discovered " + s.uuid + " tags {" + tcl_list(s.tags) + "} protocols {" + tcl_list(s.protocols) +
          "} ip " + (s.ip.empty() ? std::string("-") : s.ip) + (s.local ? " (local)" : ""));
  }
  void lost(const HookContext& ctx) {
    if (ctx.service == nullptr) return;
    write("lost " + ctx.service->uuid + " (" + (ctx.reason.empty() ? std::string("?") : ctx.reason) + ")");
  }
  void tags(const HookContext& ctx) {
    if (ctx.service == nullptr) return;
    write("tags of " + ctx.service->uuid + " are now {" + tcl_list(ctx.service->tags) + "}");
  }
  void received(const HookContext& ctx) {
    if (ctx.payload != nullptr) traffic(ctx, *ctx.payload, "from " + uuid_of(ctx));
  }
  void sent(const HookContext& ctx) {
    if (ctx.payload != nullptr) traffic(ctx, *ctx.payload, "to " + target_of(ctx));
  }
  // Queries, responses and events; membership traffic (heartbeats, discovery, pings) is left
  // to the discovered/lost/tags messages.
  void traffic(const HookContext& ctx, const Payload& p, const std::string& peer) {
    if (!p.type.has()) return;
    const std::string channel = ctx.channel != 0 ? " channel " + std::to_string(ctx.channel) : std::string();
    const std::string ruid = p.ruid.has() ? " ruid " + printable(*p.ruid, 80) : std::string();
    const std::string data = printable(p.data.value_or(std::string()));
    switch (static_cast<PayloadType>(*p.type)) {
      case PayloadType::query:
        write("query " + peer + ruid + channel + ": " + data);
        break;
      case PayloadType::response:
        if (p.error.has()) write("response " + peer + ruid + channel + " error: " + printable(*p.error));
        else write("response " + peer + ruid + channel + ": " + data);
        break;
      case PayloadType::event:
        write("event " + peer + ruid + channel + ": " + data);
        break;
      default:
        break;
    }
  }

  LogConfig cfg_;
  std::string what_logger_;  ///< the failure's prefix, built before anything can fail
  Poco::Logger* logger_ = nullptr;
};

bool init(cluster::sdk::Registrar& registrar, std::string& error) noexcept {
  return cluster::sdk::guard_init("log", error, [&] {
    LogConfig cfg;
    if (Result r = parse_config(registrar.config(), cfg); !r) return r;
    registrar.add_hook_set("log", cluster::sdk::hook_set_factory<Log>(std::move(cfg)));
    return Result::success();
  });
}

}  // namespace

CLUSTER_PLUGIN("log", "1.0.0", "hook set log: membership and traffic through Poco logging", kKeys, std::size(kKeys),
               init, nullptr)
