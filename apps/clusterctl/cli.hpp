// clusterctl's entry point: global options, command dispatch, exit codes.
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "backend.hpp"

namespace clusterctl {

/// Where a command goes: --socket PATH (default /run/cluster/clusterd.sock) or --join CONFIG.
struct Target {
  std::string socket;
  std::string join;                       ///< "" = talk to the daemon
  std::chrono::milliseconds settle{1500};  ///< --settle, with --join
};

/// Makes the backend for a target; tests substitute their own.
using BackendFactory = std::function<std::unique_ptr<Backend>(const Target&)>;
/// SocketBackend or JoinBackend.
std::unique_ptr<Backend> default_backend(const Target& target);

/// Runs clusterctl with `args` (argv without the program name); returns the exit code
/// (0 ok, 1 failed / no answers, 2 usage, 3 cannot reach the daemon).
int run(const std::vector<std::string>& args, std::istream& in, std::ostream& out, std::ostream& err,
        const BackendFactory& make_backend = default_backend);

}  // namespace clusterctl
