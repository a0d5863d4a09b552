// A member of the cluster as seen from here (the seed's $service).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cluster/export.hpp"
#include "cluster/sdk/result.hpp"
#include "cluster/sdk/service_info.hpp"
#include "cluster/send_outcome.hpp"

namespace cluster {

class Cluster;
class Lifeline;

/// A handle to a known member. Handles stay valid after the member is lost, after leave() and
/// after the Cluster is destroyed: alive() is then false, info() shows the last state known,
/// send() fails ("... is gone", "the cluster has left", "the cluster is gone") and query()
/// finishes at once with an error answer. Thread-safety: like Cluster, call from any thread;
/// calls off the loop thread are run on it and wait (so destroy the Cluster off its loop thread
/// while other threads may still be calling: ~Cluster waits for those calls).
class CLUSTER_API Service : public std::enable_shared_from_this<Service> {
 public:
  const std::string& sid() const noexcept { return sid_; }
  const std::string& hid() const noexcept { return hid_; }
  /// sid@hid; kept, so a send by handle builds no string.
  const std::string& uuid() const noexcept { return uuid_; }
  /// A snapshot of everything known (tags, protocols, props, ip, last_seen, local); the last
  /// one known when the member is lost or the cluster is gone.
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
  /// Known and reachable: false once the member is lost, we left, or the cluster is gone.
  bool alive() const;
  /// Sends an event (type 6) with `data` to this member on `channel`.
  sdk::Result send(const std::string& data, std::uint64_t channel = 0);
  /// Like Cluster::send_async to this member (docs/host-apps.md); `closed` once the cluster
  /// left or is gone.
  Queued send_async(std::string data, std::uint64_t channel = 0, SendDone done = {});
  /// Queries this member alone (options.resolve/resolver are ignored).
  std::shared_ptr<class Query> query(const std::string& text, struct QueryOptions options);

  /// Internal: created by the cluster for each member it learns of.
  Service(std::shared_ptr<Lifeline> life, std::string sid, std::string hid);
  /// Internal: keeps `info` as the state info() shows once the member or the cluster is gone.
  void remember(const ServiceInfo& info);

 private:
  ServiceInfo last() const;

  std::shared_ptr<Lifeline> life_;
  std::string sid_, hid_, uuid_;
  mutable std::mutex last_mu_;
  mutable ServiceInfo last_;  ///< refreshed by every info() while the cluster knows the member
};

using ServicePtr = std::shared_ptr<Service>;

}  // namespace cluster
