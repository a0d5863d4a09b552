// Members that are cluster_probe processes (tests/integration/probe.cpp; its header has the
// line formats), as the integration and reliability suites drive them: the ini a member joins
// with, and the probe's commands and output lines, each wait bounded.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "child_process.hpp"

namespace test_support {

/// What a probe's ini file says.
struct ProbeIni {
  std::string group;  ///< [cluster] address
  int port = 0;
  unsigned remote = 0;
  milliseconds heartbeat{200};
  milliseconds ttl{1000};
  std::string protocols = "u t c";
  std::string interface;     ///< [cluster] interface, when set
  std::string hid;           ///< [cluster] hid, when set
  std::string cluster_ini;   ///< more lines of the [cluster] section
  std::string plugin_dir;    ///< [plugins] path
  std::string load = "udp-multicast tcp unix";
  std::string hooks;             ///< [plugins] hooks (hook sets to attach), when set
  std::string unix_path_prefix;  ///< [unix] path_prefix (written when `load` names unix)
  int tcp_connect_timeout_ms = 500;  ///< [tcp] (bind 0.0.0.0; written when `load` names tcp)
  int tcp_port = 0;                  ///< [tcp] port (0 = ephemeral)
  std::string tcp_bind = "0.0.0.0";  ///< [tcp] bind ("" = no line: [cluster] bind decides)
  std::string extra_ini;             ///< appended to the file
};

/// Writes `ini` to `path`.
void write_probe_ini(const std::string& path, const ProbeIni& ini);

/// Distinct uuids of the probe's "discovered <uuid>" lines.
std::set<std::string> discovered_uuids(const Process& p);

/// The first line of `p` at index >= `from` starting with `prefix`, waiting up to `timeout`.
std::optional<Process::Line> await_line(Process& p, const std::string& prefix, milliseconds timeout,
                                        std::size_t from = 0);

/// The probe's counters ("counters" command); empty when it did not answer.
std::map<std::string, unsigned long long> probe_counters(Process& p);

/// The probe's own props dict ("props" command), or "".
std::string probe_props(Process& p);

/// Asks `p` for the props it knows of the member `sid` / `uuid` ("peer" command) until the
/// `protocol` props have `key` or `timeout` passed; returns its value, or "".
std::string await_peer_prop(Process& p, const std::string& sid, const std::string& uuid, const std::string& protocol,
                            const std::string& key, milliseconds timeout);

/// Lines of the file at `path` containing `text` (0 when there is no such file).
std::size_t count_lines_containing(const std::string& path, const std::string& text);

}  // namespace test_support
