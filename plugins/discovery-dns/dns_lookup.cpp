// SRV and A/AAAA lookups through libresolv (dns_lookup.hpp). Answers are parsed only through
// ns_initparse/ns_parserr/dn_expand, which check every length against the message.
#include "dns_lookup.hpp"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <strings.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "net.hpp"

namespace cluster::dns {
namespace {

using Clock = std::chrono::steady_clock;
using sdk::Result;

constexpr int kAnswerSize = 65536;
constexpr const char* kTruncated = "answer truncated (too large for UDP; TCP is not used)";

enum class Status { ok, nxdomain, nodata, failed };

struct Answer {
  std::vector<unsigned char> buf;
  ns_msg msg{};
};

struct Srv {
  std::uint16_t priority = 0, weight = 0, port = 0;
  std::string target;
  std::vector<std::string> ips;  // A first, then AAAA
};

/// Parses "ip", "ip:port", "[ipv6]" or "[ipv6]:port".
bool parse_server(std::string_view s, sockaddr_storage& out, std::string& error) {
  std::string_view host = s;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos) {
      error = "server '" + std::string(s) + "': missing ']'";
      return false;
    }
    host = s.substr(1, close - 1);
    const std::string_view rest = s.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || rest.size() == 1)) {
      error = "server '" + std::string(s) + "': expected [ipv6]:port";
      return false;
    }
    if (!rest.empty()) port = rest.substr(1);
  } else if (std::count(s.begin(), s.end(), ':') == 1) {  // ipv4:port (bare IPv6 has several)
    host = s.substr(0, s.find(':'));
    port = s.substr(s.find(':') + 1);
  }
  std::uint16_t number = 53;
  if (!port.empty() && (number = transport::parse_port(port)) == 0) {
    error = "server '" + std::string(s) + "': bad port '" + std::string(port) + "'";
    return false;
  }
  socklen_t len = 0;
  if (host.empty() || !transport::make_address(host, number, out, len)) {
    error = "server '" + std::string(s) + "': not a numeric IPv4 or IPv6 address";
    return false;
  }
  return true;
}

std::string server_text(const sockaddr_storage& ss) {
  const auto* sa = reinterpret_cast<const sockaddr*>(&ss);
  const std::string ip = transport::address_text(sa, sizeof ss);
  const std::string port = std::to_string(transport::address_port(sa));
  return ss.ss_family == AF_INET6 ? "[" + ip + "]:" + port : ip + ":" + port;
}

bool same_name(std::string_view a, std::string_view b) {
  if (!a.empty() && a.back() == '.') a.remove_suffix(1);
  if (!b.empty() && b.back() == '.') b.remove_suffix(1);
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// glibc waits `retrans` s for the first server, (retrans << i) / nscount s (at least 1) for
// server i, and does that `retry` times: the worst case of one query.
int worst_wait(int retrans, int servers) {
  int total = retrans;
  for (int i = 1; i < servers; ++i) total += std::max(1, (retrans << i) / servers);
  return total;
}

/// One lookup's resolver state (res_ninit), its name servers and its deadline.
class Resolver {
 public:
  explicit Resolver(const DnsQuery& q) : q_(q), deadline_(Clock::now() + q.timeout) {}
  ~Resolver() {
    if (ready_) ::res_nclose(&st_);
  }
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  Result init();
  /// Asks for `type` records of `name`. nxdomain and nodata are answers; failed sets error().
  Status ask(const std::string& name, int type, Answer& a);
  /// The A then AAAA addresses of `host`, appended to `ips`.
  Status addresses(const std::string& host, std::vector<std::string>& ips);
  const std::string& error() const { return error_; }

 private:
  Status failed(const std::string& what, const Answer& a, int err);
  void set_budget();

  const DnsQuery& q_;
  const Clock::time_point deadline_;
  struct __res_state st_ {};
  bool ready_ = false;
  std::string servers_;  // for messages
  std::string error_;
};

Result Resolver::init() {
  if (::res_ninit(&st_) != 0) return Result::failure("cannot initialise the resolver (res_ninit)");
  ready_ = true;
  std::vector<sockaddr_storage> list;
  if (!q_.server.empty()) {
    std::string error;
    list.emplace_back();
    if (!parse_server(q_.server, list.back(), error)) return Result::failure(error);
  } else {
    // glibc keeps IPv4 servers in nsaddr_list and IPv6 ones in _u._ext.nsaddrs.
    for (int i = 0; i < st_.nscount && i < MAXNS; ++i) {
      sockaddr_storage ss{};
      if (st_.nsaddr_list[i].sin_family == AF_INET)
        std::memcpy(&ss, &st_.nsaddr_list[i], sizeof(sockaddr_in));
      else if (st_._u._ext.nsaddrs[i] != nullptr && st_._u._ext.nsaddrs[i]->sin6_family == AF_INET6)
        std::memcpy(&ss, st_._u._ext.nsaddrs[i], sizeof(sockaddr_in6));
      else
        continue;
      list.push_back(ss);
    }
    if (list.empty()) return Result::failure("no name server in /etc/resolv.conf");
    // Servers that cannot get a second each within the timeout are not asked.
    const auto seconds = static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(q_.timeout).count());
    while (list.size() > 1 && worst_wait(1, static_cast<int>(list.size())) > seconds) list.pop_back();
  }
  // Install the list the way res_ninit does; res_nclose frees the IPv6 copies.
  for (auto& p : st_._u._ext.nsaddrs) {
    std::free(p);
    p = nullptr;
  }
  st_.nscount = 0;
  st_._u._ext.nscount = 0;  // res_send copies the list again
  for (const sockaddr_storage& ss : list) {
    const int i = st_.nscount;
    st_.nsaddr_list[i] = sockaddr_in{};
    st_._u._ext.nssocks[i] = -1;
    if (ss.ss_family == AF_INET) {
      std::memcpy(&st_.nsaddr_list[i], &ss, sizeof(sockaddr_in));
    } else {
      void* copy = std::malloc(sizeof(sockaddr_in6));
      if (copy == nullptr) return Result::failure("out of memory");
      std::memcpy(copy, &ss, sizeof(sockaddr_in6));
      st_._u._ext.nsaddrs[i] = static_cast<sockaddr_in6*>(copy);
    }
    ++st_.nscount;
    servers_ += (servers_.empty() ? "" : ", ") + server_text(ss);
  }
  // EDNS0 for answers up to 1200 bytes over UDP; never TCP: glibc's TCP path has no timeout.
  st_.options |= RES_USE_EDNS0 | RES_IGNTC;
  st_.options &= ~static_cast<unsigned long>(RES_USEVC | RES_DNSRCH | RES_DEFNAMES);
#ifdef RES_NOAAAA
  st_.options &= ~static_cast<unsigned long>(RES_NOAAAA);
#endif
  return Result::success();
}

void Resolver::set_budget() {
  // Whole seconds left; the few ms already spent (res_ninit, a fast answer) are rounded away.
  using std::chrono::milliseconds, std::chrono::seconds;
  const auto left = std::chrono::duration_cast<seconds>(deadline_ - Clock::now() + milliseconds(50)).count();
  const int n = st_.nscount;
  const int tries = 2 * worst_wait(1, n) <= left ? 2 : 1;  // a second datagram when time allows
  int retrans = 1;
  while (retrans < 30 && tries * worst_wait(retrans + 1, n) <= left) ++retrans;
  st_.retrans = retrans;
  st_.retry = tries;
}

const char* type_name(int type) { return type == ns_t_srv ? "SRV" : type == ns_t_a ? "A" : "AAAA"; }

Status Resolver::ask(const std::string& name, int type, Answer& a) {
  const std::string what = std::string(type_name(type)) + " " + name + ": ";
  if (Clock::now() >= deadline_) {
    error_ = what + "no answer from " + servers_ + " within " + std::to_string(q_.timeout.count()) +
             " ms (server unreachable)";
    return Status::failed;
  }
  set_budget();
  a.buf.assign(kAnswerSize, 0);  // zeroed header: tells a response (QR bit) from none
  errno = 0;
  st_.res_h_errno = 0;
  const int n = ::res_nquery(&st_, name.c_str(), ns_c_in, type, a.buf.data(), kAnswerSize);
  const int err = errno;
  if (n < 0) return failed(what, a, err);
  if (::ns_initparse(a.buf.data(), std::min(n, kAnswerSize), &a.msg) < 0) {
    error_ = what + "malformed answer (its records do not fit the message)";
    return Status::failed;
  }
  if (ns_msg_getflag(a.msg, ns_f_tc)) {
    error_ = what + kTruncated;
    return Status::failed;
  }
  return Status::ok;
}

Status Resolver::failed(const std::string& what, const Answer& a, int err) {
  if ((a.buf[2] & 0x82) == 0x82) {  // a response (QR) with TC: what it lacks may be the answer
    error_ = what + kTruncated;
    return Status::failed;
  }
  if (st_.res_h_errno == HOST_NOT_FOUND) return Status::nxdomain;
  if (st_.res_h_errno == NO_DATA) return Status::nodata;
  if ((a.buf[2] & 0x80) != 0) {  // a response came, with an error code
    const int rcode = a.buf[3] & 0x0f;
    error_ = what + (rcode == ns_r_servfail  ? "server failure (SERVFAIL)"
                     : rcode == ns_r_refused ? "the server refused the query (REFUSED)"
                     : rcode == ns_r_formerr ? "the server could not parse the query (FORMERR)"
                                             : "the server answered with error code " + std::to_string(rcode));
  } else if (st_.res_h_errno == TRY_AGAIN && err == ECONNREFUSED) {
    error_ = what + "cannot reach " + servers_ + " (connection refused or no route; server unreachable)";
  } else if (st_.res_h_errno == TRY_AGAIN) {
    error_ = what + "no answer from " + servers_ + " within " + std::to_string(q_.timeout.count()) +
             " ms (server unreachable)";
  } else {
    error_ = what + "cannot query (h_errno " + std::to_string(st_.res_h_errno) +
             (err != 0 ? ", " + transport::errno_text(err) : std::string()) + ")";
  }
  return Status::failed;
}

/// Appends the addresses of `type` (A or AAAA) in `section` owned by `owner` (any owner when
/// empty). False, with `error`, on a malformed record.
bool collect(Answer& a, ns_sect section, int type, const std::string& owner, std::vector<std::string>& ips,
             std::string& error) {
  const int family = type == ns_t_a ? AF_INET : AF_INET6;
  const unsigned size = type == ns_t_a ? 4 : 16;
  for (int i = 0; i < ns_msg_count(a.msg, section); ++i) {
    ns_rr rr;
    if (::ns_parserr(&a.msg, section, i, &rr) < 0) {
      error = "malformed answer (record " + std::to_string(i) + ")";
      return false;
    }
    if (rr.rr_class != ns_c_in || rr.type != type || (!owner.empty() && !same_name(rr.name, owner))) continue;
    char text[INET6_ADDRSTRLEN];
    if (rr.rdlength != size || ::inet_ntop(family, rr.rdata, text, sizeof text) == nullptr) {
      error =
          std::string("malformed answer (") + type_name(type) + " record of " + std::to_string(rr.rdlength) + " bytes)";
      return false;
    }
    ips.emplace_back(text);
  }
  return true;
}

Status Resolver::addresses(const std::string& host, std::vector<std::string>& ips) {
  for (const int type : {ns_t_a, ns_t_aaaa}) {
    Answer a;
    const Status s = ask(host, type, a);
    if (s == Status::failed) return s;
    if (s == Status::nxdomain) return ips.empty() ? s : Status::ok;
    if (s == Status::ok && !collect(a, ns_s_an, type, {}, ips, error_)) {
      error_ = std::string(type_name(type)) + " " + host + ": " + error_;
      return Status::failed;
    }
  }
  return ips.empty() ? Status::nodata : Status::ok;
}

Result lookup_a(Resolver& r, const DnsQuery& q, std::vector<DnsTarget>& out) {
  std::vector<std::string> ips;
  const Status s = r.addresses(q.name, ips);
  if (s == Status::failed) return Result::failure(r.error());
  if (s == Status::nxdomain) return Result::failure("A/AAAA " + q.name + ": no such name (NXDOMAIN)");
  if (s == Status::nodata) return Result::failure("A/AAAA " + q.name + ": no A or AAAA records");
  for (std::string& ip : ips) out.push_back({q.name, std::move(ip), q.port});
  return Result::success();
}

Result lookup_srv(Resolver& r, const DnsQuery& q, std::vector<DnsTarget>& out) {
  const std::string what = "SRV " + q.name + ": ";
  Answer a;
  const Status s = r.ask(q.name, ns_t_srv, a);
  if (s == Status::failed) return Result::failure(r.error());
  if (s == Status::nxdomain) return Result::failure(what + "no such name (NXDOMAIN)");
  std::vector<Srv> records;
  for (int i = 0; s == Status::ok && i < ns_msg_count(a.msg, ns_s_an); ++i) {
    ns_rr rr;
    if (::ns_parserr(&a.msg, ns_s_an, i, &rr) < 0)
      return Result::failure(what + "malformed answer (record " + std::to_string(i) + ")");
    if (rr.rr_class != ns_c_in || rr.type != ns_t_srv) continue;
    char target[NS_MAXDNAME];
    const int used =
        rr.rdlength < 7 ? -1 : ::dn_expand(ns_msg_base(a.msg), ns_msg_end(a.msg), rr.rdata + 6, target, sizeof target);
    if (used < 0 || used != rr.rdlength - 6) return Result::failure(what + "malformed answer (SRV record)");
    Srv srv;
    srv.priority = static_cast<std::uint16_t>(::ns_get16(rr.rdata));
    srv.weight = static_cast<std::uint16_t>(::ns_get16(rr.rdata + 2));
    srv.port = static_cast<std::uint16_t>(::ns_get16(rr.rdata + 4));
    srv.target = target;
    records.push_back(std::move(srv));
  }
  if (records.empty()) return Result::failure(what + "no SRV records");
  std::stable_sort(records.begin(), records.end(), [](const Srv& x, const Srv& y) {
    return x.priority != y.priority ? x.priority < y.priority : x.weight > y.weight;
  });
  std::string error, skipped;
  for (Srv& srv : records) {
    if (srv.target.empty() || srv.target == ".") continue;  // "." = no such service there (RFC 2782)
    for (const int type : {ns_t_a, ns_t_aaaa})
      if (!collect(a, ns_s_ar, type, srv.target, srv.ips, error)) return Result::failure(what + error);
    if (srv.ips.empty()) {
      const Status t = r.addresses(srv.target, srv.ips);
      if (t == Status::failed) return Result::failure(what + r.error());
      if (t != Status::ok) {
        skipped += (skipped.empty() ? "" : "; ") + srv.target +
                   (t == Status::nxdomain ? ": no such name (NXDOMAIN)" : ": no A or AAAA records");
        continue;
      }
    }
    for (std::string& ip : srv.ips) out.push_back({srv.target, std::move(ip), srv.port});
  }
  if (out.empty())
    return Result::failure(what + (skipped.empty() ? "no target (every SRV target is '.')"
                                                   : "no SRV target has an address (" + skipped + ")"));
  return Result::success();
}

Result check_name(const std::string& name) {
  if (name.empty()) return Result::failure("dns: empty name");
  if (name.size() > NS_MAXDNAME - 2) return Result::failure("dns: name too long");
  for (const char c : name)
    if (c <= ' ' || c > '~') return Result::failure("dns: the name has a character that is not printable ASCII");
  return Result::success();
}

}  // namespace

Result lookup(const DnsQuery& q, std::vector<DnsTarget>& out) noexcept {
  out.clear();
  try {
    if (Result r = check_name(q.name); !r) return r;
    if (q.timeout < std::chrono::seconds(1))
      return Result::failure("dns: the timeout must be at least 1 s (glibc's resolver waits whole seconds)");
    Resolver resolver(q);
    if (Result r = resolver.init(); !r) return r;
    Result r = q.kind == DnsKind::srv ? lookup_srv(resolver, q, out) : lookup_a(resolver, q, out);
    if (!r) out.clear();
    return r;
  } catch (...) {  // only std::bad_alloc can come; this message fits in std::string's own buffer
    out.clear();
    return Result::failure("out of memory");
  }
}

Result check_server(std::string_view server) noexcept {
  try {
    sockaddr_storage ss{};
    std::string error;
    return parse_server(server, ss, error) ? Result::success() : Result::failure(error);
  } catch (...) {
    return Result::failure("out of memory");
  }
}

}  // namespace cluster::dns
