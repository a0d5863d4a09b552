// cluster_probe members (probe.hpp).
#include "probe.hpp"

#include <fstream>

#include "strings.hpp"

namespace test_support {

void write_probe_ini(const std::string& path, const ProbeIni& o) {
  std::ofstream f(path);
  f << "[cluster]\n"
    << "address = " << o.group << "\n"
    << "port = " << o.port << "\n"
    << "remote = " << o.remote << "\n"
    << "heartbeat = " << o.heartbeat.count() << "ms\n"
    << "ttl = " << o.ttl.count() << "ms\n"
    << "protocols = " << o.protocols << "\n";
  if (!o.interface.empty()) f << "interface = " << o.interface << "\n";
  if (!o.hid.empty()) f << "hid = " << o.hid << "\n";
  f << o.cluster_ini;
  f << "\n[plugins]\n"
    << "path = " << o.plugin_dir << "\n"
    << "load = " << o.load << "\n";
  if (!o.hooks.empty()) f << "hooks = " << o.hooks << "\n";
  if (o.load.find("unix") != std::string::npos) f << "\n[unix]\npath_prefix = " << o.unix_path_prefix << "\n";
  if (o.load.find("tcp") != std::string::npos)
    f << "\n[tcp]\n" << (o.tcp_bind.empty() ? std::string() : "bind = " + o.tcp_bind + "\n") << "port = " << o.tcp_port << "\nconnect_timeout_ms = " << o.tcp_connect_timeout_ms
      << "\n";
  f << o.extra_ini;
}

std::set<std::string> discovered_uuids(const Process& p) {
  std::set<std::string> out;
  for (const auto& l : p.lines())
    if (starts_with(l.text, "discovered ")) out.insert(l.text.substr(11));
  return out;
}

std::optional<Process::Line> await_line(Process& p, const std::string& prefix, milliseconds timeout, std::size_t from) {
  std::optional<Process::Line> found;
  wait_until(
      {&p},
      [&] {
        found = p.find_prefix(prefix, from);
        return found.has_value();
      },
      Clock::now() + timeout);
  return found;
}

std::map<std::string, unsigned long long> probe_counters(Process& p) {
  std::map<std::string, unsigned long long> out;
  const std::string reply = p.command("counters", "counters ");
  for (const auto& w : words(reply)) {
    const auto eq = w.find('=');
    if (eq != std::string::npos) out[w.substr(0, eq)] = std::stoull(w.substr(eq + 1));
  }
  return out;
}

std::string probe_props(Process& p) {
  const std::string reply = p.command("props", "props ");
  return starts_with(reply, "props ") ? reply.substr(6) : std::string();
}

std::string await_peer_prop(Process& p, const std::string& sid, const std::string& uuid, const std::string& protocol,
                            const std::string& key, milliseconds timeout) {
  std::string value;
  wait_until(
      {},
      [&] {
        const std::string reply = p.command("peer " + sid, "peer ");
        const std::string head = "peer " + uuid + " ";
        value = starts_with(reply, head) ? prop(reply.substr(head.size()), protocol, key) : std::string();
        return !value.empty();
      },
      Clock::now() + timeout);
  return value;
}

std::size_t count_lines_containing(const std::string& path, const std::string& text) {
  std::ifstream in(path);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);)
    if (line.find(text) != std::string::npos) ++n;
  return n;
}

}  // namespace test_support
