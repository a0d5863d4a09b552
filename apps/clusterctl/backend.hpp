// Where clusterctl's commands go: a running clusterd (its control socket), or a cluster that
// clusterctl joins itself for one command (--join). Both speak the control protocol's JSON.
#pragma once

#include <chrono>
#include <functional>
#include <stdexcept>

#include "json_text.hpp"

namespace clusterctl {

/// The daemon (or the cluster) cannot be reached; exit code 3. what() is one line.
class Unreachable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The command ran and failed; exit code 1. what() is one line.
class CommandFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The user interrupted the command (SIGINT/SIGTERM).
class Interrupted : public std::runtime_error {
 public:
  Interrupted() : std::runtime_error("interrupted") {}
};

class Backend {
 public:
  virtual ~Backend() = default;
  /// Runs one request; returns the response object. Throws Unreachable (also when no answer
  /// comes within `timeout`) or Interrupted.
  virtual clusterapp::JsonPtr request(const clusterapp::JsonPtr& req, std::chrono::milliseconds timeout) = 0;
  /// Streams watch events to `on_event` until interrupted (returns normally). Throws Unreachable
  /// when the stream ends or cannot start.
  virtual void watch(const std::function<void(const clusterapp::JsonPtr&)>& on_event) = 0;
};

}  // namespace clusterctl
