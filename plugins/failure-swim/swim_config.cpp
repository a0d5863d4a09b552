#include "swim_config.hpp"

#include <algorithm>
#include <map>

namespace cluster::swim {

Params params_from(const sdk::PluginConfig& c) {
  Params p;
  p.probe_interval = std::chrono::milliseconds(c.get_int("probe_interval_ms"));
  p.probe_timeout = std::chrono::milliseconds(c.get_int("probe_timeout_ms"));
  p.indirect_checks = static_cast<int>(c.get_int("indirect_checks"));
  p.suspicion_mult = static_cast<int>(c.get_int("suspicion_mult"));
  p.suspicion_max_mult = static_cast<int>(c.get_int("suspicion_max_mult"));
  p.awareness_max = static_cast<int>(c.get_int("awareness_max"));
  p.gossip_interval = std::chrono::milliseconds(c.get_int("gossip_interval_ms"));
  p.gossip_nodes = static_cast<int>(c.get_int("gossip_nodes"));
  p.retransmit_mult = static_cast<int>(c.get_int("retransmit_mult"));
  p.protocols = c.get_list("protocol");
  return p;
}

Params default_params() {
  std::map<std::string, std::string, std::less<>> values;
  for (const auto& k : kKeys) values[k.name] = k.default_value;
  return params_from(sdk::PluginConfig("swim", std::move(values)));
}

std::string check_params(const Params& p) {
  if (p.probe_timeout >= p.probe_interval)
    return "[swim] probe_timeout_ms (" + std::to_string(p.probe_timeout.count()) +
           ") must be below probe_interval_ms (" + std::to_string(p.probe_interval.count()) +
           "): the indirect probes need the rest of the round";
  if (p.protocols.empty()) return "[swim] protocol: needs at least one protocol id to probe over (e.g. d t)";
  if (std::find(p.protocols.begin(), p.protocols.end(), "c") != p.protocols.end())
    return "[swim] protocol: 'c' is the multicast protocol; probes go to one member (d, t or u)";
  return {};
}

}  // namespace cluster::swim
