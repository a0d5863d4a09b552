#include <algorithm>
#include "daemon_app.hpp"

#include <Poco/Exception.h>
#include <Poco/Util/OptionException.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "cluster/cluster.hpp"
#include "cluster/tcl.hpp"
#include "cluster/text.hpp"
#include "config_error.hpp"
#include "control_server.hpp"
#include "daemon_config.hpp"
#include "default_config.hpp"
#include "exit_codes.hpp"
#include "http_module.hpp"
#include "membership_log.hpp"

namespace clusterd {

namespace code = clusterapp::daemon_exit;

namespace {

// "230.230.230.230:23000", "[ff15::c1:5]:23000"
std::string group_text(const std::string& address, std::uint16_t port) {
  const bool v6 = address.find(':') != std::string::npos;
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}


// Whether a live process answers on the control socket at `path`.
bool socket_answers(const std::string& path) {
  std::string ignored;
  const int fd = clusterapp::connect_control_socket(path, ignored);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

// The first plugin named in [plugins] load whose file does not exist, as a config message.
std::string missing_plugin(const cluster::NodeConfig& node) {
  for (const auto& name : node.load) {
    const std::string path = node.resolve_plugin(name);
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) continue;
    const cluster::IniSection* s = node.ini.section("plugins");
    const cluster::IniValue* v = s != nullptr ? s->find("load") : nullptr;
    return (v != nullptr ? v->where : node.ini.origin()) + ": [plugins] load names '" + name +
           "', but " + path + " does not exist";
  }
  return {};
}

}  // namespace

int Daemon::preflight(const CommandLine& cl, std::ostream& err) {
  DaemonConfig settings;
  try {
    settings = DaemonConfig::load(cl.config);
  } catch (const cluster::ConfigError& e) {
    err << "clusterd: " << e.what() << "\n";
    return code::config;
  }
  if (const std::string m = missing_plugin(settings.node); !m.empty()) {
    err << "clusterd: " << cluster::escape_controls(m) << "\n";
    return code::config;
  }
  if (socket_answers(settings.control.socket)) {
    err << "clusterd: " << settings.control.socket << ": another daemon is serving this socket\n";
    return code::cantcreat;
  }
  if (!settings.logging.file.empty() && !std::ofstream(settings.logging.file, std::ios::app)) {
    err << "clusterd: " << settings.logging.file_where << ": [logging] file = '"
        << cluster::escape_controls(settings.logging.file) << "': cannot open for appending\n";
    return code::cantcreat;
  }
  return code::ok;
}

void Daemon::defineOptions(Poco::Util::OptionSet& options) {
  ServerApplication::defineOptions(options);  // --daemon, --pidfile
  define_options(options);
}

void Daemon::handleOption(const std::string& name, const std::string& value) {
  if (name == "pidfile") {
    // Absolute: Poco removes the file at exit, after the daemon changed to /.
    const std::string path = absolute_path(value);
    try {
      ServerApplication::handleOption(name, path);
      ::chmod(path.c_str(), 0644);  // Poco writes it under umask 0 when detached
    } catch (const Poco::Exception&) {
      pidfile_error_ = path + ": cannot write the pid file";
    }
    return;
  }
  ServerApplication::handleOption(name, value);
  if (name == "config") config_ = absolute_path(value);
  else if (name == "help") {
    help_ = true;
    stopOptionsProcessing();
  }
}

int Daemon::main(const std::vector<std::string>& args) {
  if (help_) {
    print_help(std::cout, commandName());
    return code::ok;
  }
  if (!args.empty()) {
    std::cerr << "clusterd: unexpected argument '" << args[0] << "' (see --help)\n";
    return code::usage;
  }
  if (config_.empty()) config_ = default_config();
  try {
    return serve();
  } catch (const std::exception& e) {
    std::cerr << "clusterd: internal error: " << e.what() << "\n";
    Poco::Logger::get("clusterd").critical(std::string("internal error: ") + e.what());
    return code::software;
  }
}

int Daemon::serve() {
  // Signals are taken by waitForTerminationRequest(): block them before any thread starts, so
  // no other thread (the cluster's loop) gets them and dies of the default action.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGQUIT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  if (config().getBool("application.runAsDaemon", false)) ::umask(022);  // Poco leaves umask 0

  DaemonConfig settings;
  try {
    settings = DaemonConfig::load(config_);
  } catch (const cluster::ConfigError& e) {
    std::cerr << "clusterd: " << e.what() << "\n";
    return code::config;
  }
  Poco::Logger* log = nullptr;
  try {
    log = &apply_logging(settings.logging);
  } catch (const LogFileError& e) {
    std::cerr << "clusterd: " << e.what() << "\n";
    return code::cantcreat;
  }
  const auto fail = [&](int rc, const std::string& raw) {
    const std::string message = cluster::escape_controls(raw);  // may quote the config file
    std::cerr << "clusterd: " << message << "\n";
    if (settings.logging.file.empty()) return rc;  // the console already has it
    log->critical(message);
    return rc;
  };
  if (!pidfile_error_.empty()) return fail(code::cantcreat, pidfile_error_);
  // Said with the file and line of [plugins] load (the loader only knows the path).
  if (const std::string m = missing_plugin(settings.node); !m.empty()) return fail(code::config, m);

  // Loaded first, so a missing or mismatched module (an installation fault: exit 78, like a
  // plugin's) stops the daemon before it creates or announces anything. Declared before the
  // servers it will start, so it outlives them.
  std::unique_ptr<HttpModule> http_module;
  if (!settings.metrics.listen.empty() || !settings.http.listen.empty()) {
    try {
      http_module = std::make_unique<HttpModule>();
    } catch (const std::exception& e) {
      return fail(code::config, e.what());
    }
  }

  clusterapp::ControlSocket socket;
  try {
    socket = clusterapp::ControlSocket::bind(settings.control.socket);
  } catch (const clusterapp::ControlSocketError& e) {
    return fail(code::cantcreat, e.what());
  }

  MembershipTally tally;  // before the cluster: its hooks use it until the cluster is gone
  std::unique_ptr<cluster::Cluster> c;
  try {
    cluster::NodeConfig node = settings.node;
    // The core's, protocols' and hook sets' own messages go to the [logging] channel too.
    node.options.log_sink = [log](cluster::sdk::LogLevel level, std::string_view message) {
      // Plugins may quote what they received: nothing from the network drives the terminal.
      const std::string m = cluster::escape_controls(message);
      switch (level) {
        case cluster::sdk::LogLevel::trace: log->trace(m); break;
        case cluster::sdk::LogLevel::debug: log->debug(m); break;
        case cluster::sdk::LogLevel::info: log->information(m); break;
        case cluster::sdk::LogLevel::notice: log->notice(m); break;
        case cluster::sdk::LogLevel::warning: log->warning(m); break;
        case cluster::sdk::LogLevel::error: log->error(m); break;
      }
    };
    c = cluster::Cluster::join(node, [log, &tally](cluster::Cluster& joining) {
      log_membership(joining, *log);
      tally.attach(joining);
    });
  } catch (const cluster::ConfigError& e) {
    return fail(code::config, clusterapp::locate_config_error(settings.node.ini, e.what()));
  } catch (const cluster::PluginError& e) {
    return fail(code::config, e.what());
  } catch (const std::exception& e) {
    return fail(code::unavailable, std::string("cannot join: ") + e.what());
  }

  std::unique_ptr<clusterapp::ControlServer> server;
  c->loop().call([&] {
    server = std::make_unique<clusterapp::ControlServer>(*c, std::move(socket));
    server->on_log = [log](const std::string& m) { log->warning(m); };
    server->start();
  });
  const auto& protocols = c->config().protocols;
  const bool group = std::find(protocols.begin(), protocols.end(), "c") != protocols.end();
  log->information("joined as " + c->uuid() + ", tags {" + cluster::tcl::format_list(c->tags()) + "}, protocols {" +
                   cluster::tcl::format_list(protocols) + "}, discovery {" +
                   cluster::tcl::format_list(c->config().discovery_names()) + "}" +
                   (group ? ", group " + group_text(c->config().address, c->config().port) : std::string()) +
                   " remote " + std::to_string(c->config().remote));
  log->information("control socket " + server->path());
  // [metrics] and [http]: one server when they name the same address, else one each.
  std::vector<std::unique_ptr<HttpEndpoint>> http;
  const MetricsConfig& m = settings.metrics;
  const MetricsConfig& h = settings.http;
  try {
    const auto start = [&](const MetricsConfig& where, HttpRoutes routes) {
      http.push_back(http_module->start(HttpStart{c.get(), where.bind, CLUSTER_VERSION, &tally, routes}, where.listen));
    };
    // The same address however written (localhost:9469 and 127.0.0.1:9469) resolves alike: one
    // server, since a second could not bind it.
    if (!m.listen.empty() && !h.listen.empty() && m.bind == h.bind) {
      start(m, HttpRoutes{true, true});
    } else {
      if (!m.listen.empty()) start(m, HttpRoutes{true, false});
      if (!h.listen.empty()) start(h, HttpRoutes{false, true});
    }
  } catch (const std::exception& e) {
    http.clear();
    c->loop().call([&] { server.reset(); });
    c->leave();
    return fail(code::cantcreat, e.what());
  }
  if (!settings.metrics.listen.empty())
    log->information("metrics at http://" + http.front()->address() + "/metrics");
  if (!settings.http.listen.empty()) log->information("status page at http://" + http.back()->address() + "/");

  waitForTerminationRequest();  // SIGINT, SIGTERM, SIGQUIT

  log->information("leaving");
  http.clear();  // no scrape or page reads a cluster that is leaving
  c->loop().call([&] { server.reset(); });  // closes the clients, removes the socket file
  c->leave();
  c.reset();
  log->information("left");
  return code::ok;
}

}  // namespace clusterd
