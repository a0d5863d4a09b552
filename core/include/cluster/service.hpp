// A member of the cluster as seen from here (the seed's $service).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cluster/export.hpp"
#include "cluster/sdk/result.hpp"
#include "cluster/sdk/service_info.hpp"

namespace cluster {

class Cluster;

/// A handle to a known member. Handles stay valid after the member is lost (info() then shows
/// its last state and alive() is false). Thread-safety: like Cluster, call from any thread;
/// calls off the loop thread are run on it and wait.
class CLUSTER_API Service {
 public:
  const std::string& sid() const noexcept { return sid_; }
  const std::string& hid() const noexcept { return hid_; }
  std::string uuid() const { return sid_ + "@" + hid_; }
  /// A snapshot of everything known (tags, protocols, props, ip, last_seen, local).
  ServiceInfo info() const;
  std::string ip() const { return info().ip; }
  std::vector<std::string> tags() const { return info().tags; }
  bool local() const { return info().local; }
  /// Props per protocol as a Tcl dict string: "t {port 40123} u {path /tmp/x.sock}".
  std::string props() const;
  /// Props for one protocol, e.g. {port 40123}.
  Dict proto_props(const std::string& protocol) const {
    const ServiceInfo i = info();
    const Dict* d = i.props_for(protocol);
    return d != nullptr ? *d : Dict{};
  }
  std::chrono::steady_clock::time_point last_seen() const { return info().last_seen; }
  bool alive() const;
  /// Sends an event (type 6) with `data` to this member on `channel`.
  sdk::Result send(const std::string& data, std::uint64_t channel = 0);
  /// Queries this member alone (options.resolve/resolver are ignored).
  std::shared_ptr<class Query> query(const std::string& text, struct QueryOptions options);

  Service(Cluster& cluster, std::string sid, std::string hid);

 private:
  Cluster* cluster_;
  std::string sid_, hid_;
};

using ServicePtr = std::shared_ptr<Service>;

}  // namespace cluster
