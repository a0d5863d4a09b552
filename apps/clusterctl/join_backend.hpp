// `clusterctl --join CONFIG`: joins the cluster itself for one command, waits --settle for
// discovery, runs the command through the same code as the daemon (clusterapp::execute), and
// leaves gracefully.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "backend.hpp"
#include "cluster/cluster.hpp"

namespace clusterctl {

class JoinBackend final : public Backend {
 public:
  /// Joins as `config` says and waits `settle` (returns early when interrupted). Throws
  /// Unreachable with the config/plugin/join error ("file:line: reason").
  JoinBackend(const std::string& config, std::chrono::milliseconds settle);
  ~JoinBackend() override;  ///< leaves gracefully
  JoinBackend(const JoinBackend&) = delete;
  JoinBackend& operator=(const JoinBackend&) = delete;

  clusterapp::JsonPtr request(const clusterapp::JsonPtr& req, std::chrono::milliseconds timeout) override;
  void watch(const std::function<void(const clusterapp::JsonPtr&)>& on_event) override;

 private:
  std::unique_ptr<cluster::Cluster> cluster_;
};

}  // namespace clusterctl
