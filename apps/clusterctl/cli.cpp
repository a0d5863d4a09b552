#include "cli.hpp"

#include <sys/random.h>

#include <Poco/Base64Encoder.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "control_config.hpp"
#include "ctl_commands.hpp"
#include "exit_codes.hpp"
#include "interrupt.hpp"
#include "join_backend.hpp"
#include "packet_command.hpp"
#include "socket_backend.hpp"

namespace clusterctl {

namespace code = clusterapp::ctl_exit;

namespace {

const std::vector<OptionSpec> kGlobal = {
    {"socket", OptionSpec::value}, {"join", OptionSpec::value}, {"settle", OptionSpec::value}, {"help", OptionSpec::flag}};

void usage(std::ostream& out) {
  out << "usage: clusterctl [--socket PATH | --join CONFIG [--settle MS]] COMMAND [ARGS]\n"
         "\n"
         "Talks to a running clusterd through its control socket, or with --join joins the\n"
         "cluster itself for one command.\n"
         "\n"
         "global options (before or after the command):\n"
         "  --socket PATH   the daemon's control socket (default "
      << clusterapp::kDefaultControlSocket
      << ")\n"
         "  --join CONFIG   join as the node file CONFIG says instead, run the command, leave\n"
         "  --settle MS     with --join: wait this long for discovery first (default 1500)\n"
         "\n"
         "commands:\n";
  for (const auto& c : commands()) out << "  " << c.name << std::string(9 - c.name.size(), ' ') << c.summary << "\n";
  out << "  keygen   print a new random key for the encrypt sealer (base64 of 32 bytes)\n"
         "  packet   decode|encode bpacket bytes (see clusterctl packet --help)\n"
         "\n"
         "Each command has --help. Exit codes: 0 ok, 1 command failed or no answers, 2 usage,\n"
         "3 cannot reach the daemon (or join the cluster).\n";
}

// 32 bytes from the kernel's generator, in base64: an AES-256 key for the encrypt sealer.
std::string generate_key() {
  unsigned char bytes[32];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error(std::string("getrandom: ") + std::strerror(errno));
    got += static_cast<std::size_t>(n);
  }
  std::ostringstream text;
  Poco::Base64Encoder b64(text);
  b64.write(reinterpret_cast<const char*>(bytes), sizeof bytes);
  b64.close();
  return text.str();
}

void merge(Args& into, const Args& from) {
  for (const auto& [k, v] : from.options) {
    auto& dst = into.options[k];
    dst.insert(dst.end(), v.begin(), v.end());
  }
}

}  // namespace

std::unique_ptr<Backend> default_backend(const Target& target) {
  if (!target.join.empty()) return std::make_unique<JoinBackend>(target.join, target.settle);
  return std::make_unique<SocketBackend>(target.socket);
}

int run(const std::vector<std::string>& args, std::istream& in, std::ostream& out, std::ostream& err,
        const BackendFactory& make_backend) {
  const Command* cmd = nullptr;
  Args a;
  try {
    std::size_t at = 0;
    Args global = parse_args(args, 0, kGlobal, true, &at);
    if (at == args.size()) {
      if (global.has("help")) {
        usage(out);
        return code::ok;
      }
      usage(err);
      return code::usage;
    }
    const std::string& name = args[at];
    if (name == "keygen") {
      if (!global.options.empty() || at + 1 != args.size()) throw UsageError("keygen takes no arguments");
      try {
        out << generate_key() << "\n";
      } catch (const std::exception& e) {
        err << "clusterctl: keygen: " << e.what() << "\n";
        return code::failed;
      }
      return code::ok;
    }
    if (name == "packet") {
      if (!global.options.empty()) throw UsageError("packet takes no global options");
      return run_packet(std::vector<std::string>(args.begin() + static_cast<std::ptrdiff_t>(at), args.end()), in, out, err);
    }
    if (name == "help") {
      const Command* c = at + 1 < args.size() ? find_command(args[at + 1]) : nullptr;
      if (c != nullptr) out << c->help;
      else usage(out);
      return code::ok;
    }
    cmd = find_command(name);
    if (cmd == nullptr) throw UsageError("unknown command '" + name + "' (see clusterctl --help)");
    std::vector<OptionSpec> specs = cmd->options;
    specs.insert(specs.end(), kGlobal.begin(), kGlobal.end());
    a = parse_args(args, at + 1, specs);
    merge(a, global);
    if (a.has("help")) {
      out << cmd->help;
      return code::ok;
    }
    if (a.has("join") && a.has("socket")) throw UsageError("--socket and --join exclude each other");
    if (a.has("settle") && !a.has("join")) throw UsageError("--settle only goes with --join");
    a.number("settle", 1500, 0, 600000);
    cmd->check(a);
  } catch (const UsageError& e) {
    err << "clusterctl: " << (cmd != nullptr ? cmd->name + ": " : std::string()) << e.what() << "\n";
    return code::usage;
  }

  Target target;
  target.socket = a.value("socket", clusterapp::kDefaultControlSocket);
  target.join = a.value("join");
  target.settle = std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(a.number("settle", 1500, 0, 600000)));
  install_interrupt_handlers();
  try {
    std::unique_ptr<Backend> backend = make_backend(target);
    const int rc = cmd->run(a, *backend, out, err);
    out.flush();
    return rc;
  } catch (const Unreachable& e) {
    err << "clusterctl: " << e.what() << "\n";
    return code::unreachable;
  } catch (const CommandFailed& e) {
    err << "clusterctl: " << cmd->name << ": " << e.what() << "\n";
    return code::failed;
  } catch (const Interrupted&) {
    err << "clusterctl: interrupted\n";
    return code::failed;
  } catch (const UsageError& e) {
    err << "clusterctl: " << cmd->name << ": " << e.what() << "\n";
    return code::usage;
  } catch (const std::exception& e) {
    err << "clusterctl: " << cmd->name << ": " << e.what() << "\n";
    return code::failed;
  }
}

}  // namespace clusterctl
