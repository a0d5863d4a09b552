// clusterctl's cluster commands: how each turns its arguments into a control request and the
// answer into output and an exit code. The same requests go to the daemon or to --join.
#pragma once

#include <chrono>
#include <iosfwd>
#include <string>
#include <vector>

#include "backend.hpp"
#include "cli_args.hpp"

namespace clusterctl {

struct Command {
  std::string name;
  std::string summary;              ///< one line for the command list
  std::string help;                 ///< the full --help text
  std::vector<OptionSpec> options;  ///< besides the global ones
  /// Runs with parsed arguments against `backend`; returns the exit code. Throws UsageError,
  /// Unreachable, CommandFailed, Interrupted.
  int (*run)(const Args& args, Backend& backend, std::ostream& out, std::ostream& err);
  /// Checks the arguments before any connection is made. Throws UsageError.
  void (*check)(const Args& args);
};

/// members, send, query, watch, tags, channel, status.
const std::vector<Command>& commands();
const Command* find_command(const std::string& name);

/// How long to wait for an answer to an ordinary request.
inline constexpr std::chrono::milliseconds kRequestTimeout{10000};

}  // namespace clusterctl
