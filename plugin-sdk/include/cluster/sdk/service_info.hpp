// What is known of a member (a "service"): the read-only view plugins and hooks get.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace cluster {

/// Ordered key/value pairs, as a Tcl dict ("port 40123").
using Dict = std::vector<std::pair<std::string, std::string>>;

struct ServiceInfo {
  std::string sid;                     ///< service id, unique per member
  std::string hid;                     ///< host id; members on one host share it
  std::string uuid;                    ///< sid@hid
  std::string ip;                      ///< source address it was last heard from ("" = unknown)
  bool local = false;                  ///< on this host
  std::vector<std::string> tags;
  std::vector<std::string> protocols;  ///< in the member's priority order
  std::vector<std::pair<std::string, Dict>> props;  ///< per protocol id
  std::chrono::steady_clock::time_point last_seen{};
  // SDK 1.3 (appended: plugins built against 1.2 see the fields above at the same offsets).
  /// How we found it: "multicast" (its packets came over the group first), the name of the
  /// discovery whose contact it answered ("seeds", "dns", ...), "inbound" (it contacted us
  /// directly: its own discovery found us), or "contact" (it answered a contact we cannot
  /// attribute to one discovery).
  std::string found_by;
  /// When a packet of it last came over a multicast protocol; epoch = never. A member heard
  /// on the group recently is on our segment: filtered multicasts reach it, the others need
  /// direct sends (a cluster may span segments through seeds, DNS or etcd).
  std::chrono::steady_clock::time_point heard_multicast{};

  /// The props the member advertised for `protocol`, or nullptr.
  const Dict* props_for(std::string_view protocol) const noexcept {
    for (const auto& p : props)
      if (p.first == protocol) return &p.second;
    return nullptr;
  }
  /// The value of `key` in props_for(protocol), or "".
  std::string prop(std::string_view protocol, std::string_view key) const {
    if (const Dict* d = props_for(protocol))
      for (const auto& kv : *d)
        if (kv.first == key) return kv.second;
    return {};
  }
};

}  // namespace cluster
