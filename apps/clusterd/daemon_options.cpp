#include "daemon_options.hpp"

#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionException.h>
#include <Poco/Util/OptionProcessor.h>

#include <cctype>
#include <filesystem>
#include <ostream>

#include "default_config.hpp"

namespace clusterd {

using Poco::Util::Option;

void define_options(Poco::Util::OptionSet& options) {
  options.addOption(Option("config", "c", "node ini file (default " + default_config() + ")")
                        .required(false).repeatable(false).argument("FILE"));
  options.addOption(Option("help", "h", "show this help and exit").required(false).repeatable(false));
}

Poco::Util::OptionSet all_options() {
  Poco::Util::OptionSet set;
  define_options(set);
  // As Poco::Util::ServerApplication defines them on Unix.
  set.addOption(Option("daemon", "", "run application as a daemon").required(false).repeatable(false));
  set.addOption(Option("pidfile", "", "write PID to given file").required(false).repeatable(false).argument("path"));
  return set;
}

std::string absolute_path(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

CommandLine parse_command_line(int argc, char** argv) {
  const Poco::Util::OptionSet set = all_options();
  Poco::Util::OptionProcessor processor(set);
  processor.setUnixStyle(true);
  CommandLine cl;
  cl.config = default_config();
  std::string pending;  // an option still waiting for its argument
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    std::string name, value;
    try {
      if (!processor.process(arg, name, value))
        throw UsageError("unexpected argument '" + arg + "' (see --help)");
    } catch (const Poco::Util::OptionException& e) {
      std::string text = e.displayText();
      if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
      throw UsageError(text + " (see --help)");
    }
    if (name.empty()) {
      pending = arg;
      continue;
    }
    pending.clear();
    if (name == "config") cl.config = absolute_path(value);
    else if (name == "pidfile") cl.pidfile = absolute_path(value);
    else if (name == "daemon") cl.daemon = true;
    else if (name == "help") cl.help = true;
  }
  if (!pending.empty()) throw UsageError("option " + pending + " needs an argument (see --help)");
  return cl;
}

void print_help(std::ostream& out, const std::string& command) {
  const Poco::Util::OptionSet set = all_options();
  Poco::Util::HelpFormatter help(set);
  help.setUnixStyle(true);
  help.setCommand(command);
  help.setUsage("[--config FILE] [--daemon] [--pidfile FILE]");
  help.setHeader(
      "Joins the cluster described by FILE, logs members as they come and go, and serves the "
      "control socket that clusterctl talks to ([control] socket, default "
      "/run/cluster/clusterd.sock).");
  help.setFooter(
      "Exit codes: 0 ok, 64 usage, 69 cannot join (a protocol failed to start), 70 internal "
      "error, 71 cannot detach, 73 cannot create the control socket / pid file / log file, 78 "
      "configuration or plugin error. See docs/cli.md.");
  help.format(out);
}

}  // namespace clusterd
