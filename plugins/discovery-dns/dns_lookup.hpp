// The resolving half of the dns discovery: blocking SRV and A/AAAA lookups through glibc's
// libresolv. Each call has its own resolver state (res_ninit), so calls may run on any threads
// at once; none may run on the loop thread (docs/plugin-guide.md, "Writing a discovery plugin").
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/sdk/result.hpp"

namespace cluster::dns {

/// One address where a member may be reached.
struct DnsTarget {
  std::string host;  ///< the SRV target, or the queried name for kind a
  std::string ip;    ///< numeric IPv4 or IPv6 address
  std::uint16_t port = 0;

  bool operator==(const DnsTarget& o) const { return host == o.host && ip == o.ip && port == o.port; }
  bool operator!=(const DnsTarget& o) const { return !(*this == o); }
};

enum class DnsKind {
  srv,  ///< SRV records, each target resolved to its A and AAAA addresses
  a,    ///< A and AAAA records of the name itself
};

struct DnsQuery {
  std::string name;  ///< "_cluster._tcp.example.org" (srv) or "node1.example.org" (a); no search list
  DnsKind kind = DnsKind::srv;
  std::uint16_t port = 0;  ///< kind a: the port of every target
  /// "ip", "ip:port", "[ipv6]" or "[ipv6]:port" (port 53 by default); empty: the name servers
  /// of /etc/resolv.conf (IPv4 and IPv6; as many as get a second each within the timeout).
  std::string server;
  /// The whole lookup, at least 1 s: glibc waits in whole seconds. Every query waits the whole
  /// seconds left (at least 1; up to 50 ms already spent are rounded away), so a server that
  /// stops answering in the middle of an SRV lookup that needs several queries can make it
  /// overrun by less than a second.
  std::chrono::milliseconds timeout{2000};
};

/// Resolves `q` into `out` (cleared first). SRV: lowest priority first, then highest weight,
/// then answer order; per target its A then its AAAA addresses (from the answer's additional
/// section, else asked of the same server); targets without an address are skipped, and an
/// error is returned only when none is left. A/AAAA: every A, then every AAAA address.
/// Errors name the query and say why: "no such name (NXDOMAIN)", "no SRV records",
/// "no A or AAAA records", "no answer from <server> within <n> ms (server unreachable)",
/// "cannot reach <server> (connection refused or no route; server unreachable)",
/// "server failure (SERVFAIL)", "malformed answer (...)", "answer truncated (...)".
/// Answers come over UDP only (EDNS0, up to 1200 bytes): glibc's TCP fallback has no timeout,
/// so a truncated answer is an error. Nothing throws.
sdk::Result lookup(const DnsQuery& q, std::vector<DnsTarget>& out) noexcept;

/// Checks a DnsQuery::server value without querying (for config validation).
sdk::Result check_server(std::string_view server) noexcept;

}  // namespace cluster::dns
