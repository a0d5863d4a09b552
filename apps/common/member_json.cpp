#include "member_json.hpp"

namespace clusterapp {

JsonPtr props_json(const cluster::ServiceInfo& info) {
  JsonPtr props = object();
  for (const auto& [protocol, dict] : info.props) {
    JsonPtr p = object();
    for (const auto& [key, value] : dict) p->set(utf8_safe(key), utf8_safe(value));
    props->set(utf8_safe(protocol), p);
  }
  return props;
}

JsonPtr member_json(const cluster::ServiceInfo& info, std::chrono::steady_clock::time_point now) {
  JsonPtr m = object();
  m->set("uuid", utf8_safe(info.uuid));
  m->set("sid", utf8_safe(info.sid));
  m->set("hid", utf8_safe(info.hid));
  m->set("ip", utf8_safe(info.ip));
  m->set("tags", string_array(info.tags));
  m->set("protocols", string_array(info.protocols));
  m->set("props", props_json(info));
  m->set("local", info.local);
  m->set("found_by", utf8_safe(info.found_by));
  const auto ago = std::chrono::duration_cast<std::chrono::milliseconds>(now - info.last_seen).count();
  m->set("last_seen", static_cast<Poco::Int64>(ago < 0 ? 0 : ago));
  return m;
}

}  // namespace clusterapp
