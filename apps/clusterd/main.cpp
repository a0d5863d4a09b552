// clusterd: joins the cluster an ini file describes and logs who comes and goes.
#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>
#include <Poco/Util/ServerApplication.h>

#include <iostream>

#include "cluster/cluster.hpp"
#include "cluster/tcl.hpp"

namespace {

using Poco::Util::Application;
using Poco::Util::Option;
using Poco::Util::OptionSet;

class Daemon final : public Poco::Util::ServerApplication {
 protected:
  void defineOptions(OptionSet& options) override {
    ServerApplication::defineOptions(options);
    options.addOption(Option("config", "c", "node ini file (default " CLUSTER_DEFAULT_CONFIG ")")
                          .required(false).repeatable(false).argument("FILE")
                          .callback(Poco::Util::OptionCallback<Daemon>(this, &Daemon::set_config)));
    options.addOption(Option("help", "h", "show this help").required(false).repeatable(false)
                          .callback(Poco::Util::OptionCallback<Daemon>(this, &Daemon::show_help)));
  }

  int main(const std::vector<std::string>& args) override {
    if (help_) return EXIT_OK;
    if (!args.empty()) {
      std::cerr << "clusterd: unexpected argument '" << args[0] << "' (see --help)\n";
      return EXIT_USAGE;
    }
    Poco::Logger& log = setup_logging();
    std::unique_ptr<cluster::Cluster> c;
    try {
      const auto node = cluster::NodeConfig::load_file(config_);
      c = cluster::Cluster::join(node);
    } catch (const cluster::ConfigError& e) {
      std::cerr << "clusterd: " << e.what() << "\n";
      return EXIT_CONFIG;
    } catch (const cluster::PluginError& e) {
      std::cerr << "clusterd: " << e.what() << "\n";
      return EXIT_CONFIG;
    } catch (const std::exception& e) {
      std::cerr << "clusterd: cannot join: " << e.what() << "\n";
      return EXIT_UNAVAILABLE;
    }
    c->hook(cluster::HookPoint::service_discovered, "clusterd.discovered", [&log](cluster::HookContext& ctx) {
      log.information("discovered %s tags {%s} ip %s%s", ctx.service->uuid, cluster::tcl::format_list(ctx.service->tags),
                      ctx.service->ip.empty() ? std::string("-") : ctx.service->ip,
                      std::string(ctx.service->local ? " (local)" : ""));
      return cluster::Verdict::pass;
    });
    c->hook(cluster::HookPoint::service_lost, "clusterd.lost", [&log](cluster::HookContext& ctx) {
      log.information("lost %s (%s)", ctx.service->uuid, ctx.reason);
      return cluster::Verdict::pass;
    });
    log.information("joined as %s, tags {%s}, protocols {%s}, group %s:%hu remote %u", c->uuid(),
                    cluster::tcl::format_list(c->tags()), cluster::tcl::format_list(c->config().protocols),
                    c->config().address, c->config().port, c->config().remote);
    waitForTerminationRequest();  // SIGINT / SIGTERM
    log.information("leaving");
    c->leave();
    c.reset();
    return EXIT_OK;
  }

 private:
  void set_config(const std::string&, const std::string& value) { config_ = value; }
  void show_help(const std::string&, const std::string&) {
    Poco::Util::HelpFormatter help(options());
    help.setCommand(commandName());
    help.setUsage("[--config FILE] [--daemon] [--pidfile FILE]");
    help.setHeader("Joins the cluster described by FILE and logs members as they come and go.");
    help.format(std::cout);
    help_ = true;
    stopOptionsProcessing();
  }
  Poco::Logger& setup_logging() {
    Poco::AutoPtr<Poco::PatternFormatter> fmt(new Poco::PatternFormatter("%Y-%m-%d %H:%M:%S.%i %p clusterd: %t"));
    Poco::AutoPtr<Poco::FormattingChannel> ch(new Poco::FormattingChannel(fmt, new Poco::ConsoleChannel));
    Poco::Logger& log = Poco::Logger::get("clusterd");
    log.setChannel(ch);
    log.setLevel(Poco::Message::PRIO_INFORMATION);
    return log;
  }

  std::string config_ = CLUSTER_DEFAULT_CONFIG;
  bool help_ = false;
};

}  // namespace

POCO_SERVER_MAIN(Daemon)
