// A live feed of membership changes and events, one JSON object per change:
//   {"event": "discovered", "uuid", "ip", "tags", "local"}
//   {"event": "lost", "uuid", "ip", "tags", "reason"}
//   {"event": "tags", "uuid", "tags"}                      (a member changed its tags)
//   {"event": "event", "uuid", "channel", "protocol", "data"}
#pragma once

#include <functional>
#include <vector>

#include "cluster/cluster.hpp"
#include "json_text.hpp"

namespace clusterapp {

class Watch {
 public:
  using Emit = std::function<void(JsonPtr)>;
  /// Adds the hooks that feed `emit`. Construct and destroy on the cluster's loop thread; `emit`
  /// runs there, inside a hook: it must be short and must not destroy this Watch.
  Watch(cluster::Cluster& c, Emit emit);
  ~Watch();  ///< removes the hooks
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

 private:
  cluster::Cluster& cluster_;
  std::vector<cluster::HookId> hooks_;
};

}  // namespace clusterapp
