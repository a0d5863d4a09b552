#include "net.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "cluster/sdk/text.hpp"

namespace cluster::transport {
namespace {

// strerror_r is the GNU variant (returns char*) or the XSI one (returns int).
[[maybe_unused]] const char* strerror_pick(int rc, const char* buf) { return rc == 0 ? buf : "unknown error"; }
[[maybe_unused]] const char* strerror_pick(const char* text, const char*) { return text; }

// Link-local unicast and interface/link-local multicast: meaningless without an interface.
bool needs_scope(const in6_addr& a) {
  return IN6_IS_ADDR_LINKLOCAL(&a) || IN6_IS_ADDR_MC_LINKLOCAL(&a) || IN6_IS_ADDR_MC_NODELOCAL(&a);
}

}  // namespace

std::string errno_text(int err) {
  char buf[256] = {0};
  return strerror_pick(::strerror_r(err, buf, sizeof buf), buf);
}

std::string sys_error(std::string_view what) {
  const int err = errno;
  std::string s(what);
  s += ": ";
  s += errno_text(err);
  return s;
}

void close_fd(int& fd) noexcept {
  if (fd < 0) return;
  const int saved = errno;
  ::close(fd);
  errno = saved;
  fd = -1;
}

bool set_int_option(int fd, int level, int name, int value) noexcept {
  return ::setsockopt(fd, level, name, &value, sizeof value) == 0;
}

std::string address_text(const sockaddr* sa, socklen_t len) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in sin;
    std::memcpy(&sin, sa, sizeof sin);
    if (::inet_ntop(AF_INET, &sin.sin_addr, buf, sizeof buf) == nullptr) return {};
    return buf;
  }
  if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, sa, sizeof sin6);
    if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
      in_addr v4;
      std::memcpy(&v4, &sin6.sin6_addr.s6_addr[12], sizeof v4);
      if (::inet_ntop(AF_INET, &v4, buf, sizeof buf) == nullptr) return {};
      return buf;
    }
    if (::inet_ntop(AF_INET6, &sin6.sin6_addr, buf, sizeof buf) == nullptr) return {};
    std::string text = buf;
    // The index, not the name: no system call per address (and it is what the kernel gives).
    if (sin6.sin6_scope_id != 0 && needs_scope(sin6.sin6_addr)) text += "%" + std::to_string(sin6.sin6_scope_id);
    return text;
  }
  return {};
}

std::string host_port(std::string_view ip, std::uint16_t port) {
  std::string out = ip.find(':') != std::string_view::npos ? "[" + std::string(ip) + "]" : std::string(ip);
  return out + ":" + std::to_string(port);
}

bool is_any_address(std::string_view ip) noexcept { return ip.empty() || ip == "0.0.0.0" || ip == "::"; }

bool is_loopback_address(std::string_view ip) noexcept { return ip == "::1" || ip.substr(0, 4) == "127."; }

std::string resolve_address(const std::string& host, std::string& error) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (make_address(host, 0, ss, len)) return host;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const int gai = ::getaddrinfo(host.c_str(), nullptr, &hints, &list);
  if (gai != 0) {
    error = "cannot resolve '" + host + "': " + ::gai_strerror(gai);
    return {};
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(list, ::freeaddrinfo);
  for (const addrinfo* a = list; a != nullptr; a = a->ai_next)
    if (std::string text = address_text(a->ai_addr, a->ai_addrlen); !text.empty()) return text;
  error = "cannot resolve '" + host + "': no IPv4 or IPv6 address";
  return {};
}

std::uint16_t address_port(const sockaddr* sa) noexcept {
  if (sa->sa_family == AF_INET) {
    sockaddr_in sin;
    std::memcpy(&sin, sa, sizeof sin);
    return ntohs(sin.sin_port);
  }
  if (sa->sa_family == AF_INET6) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, sa, sizeof sin6);
    return ntohs(sin6.sin6_port);
  }
  return 0;
}

bool make_address(std::string_view ip, std::uint16_t port, sockaddr_storage& out, socklen_t& len) {
  const std::string text(ip);
  out = sockaddr_storage{};
  sockaddr_in sin{};
  if (::inet_pton(AF_INET, text.c_str(), &sin.sin_addr) == 1) {
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    std::memcpy(&out, &sin, sizeof sin);
    len = sizeof sin;
    return true;
  }
  sockaddr_in6 sin6{};
  const std::size_t percent = text.find('%');
  if (::inet_pton(AF_INET6, text.substr(0, percent).c_str(), &sin6.sin6_addr) == 1) {
    if (percent != std::string::npos) {
      const std::string scope = text.substr(percent + 1);
      const auto index = sdk::text::parse_uint(scope, 0xffffffffu);
      sin6.sin6_scope_id = index ? static_cast<std::uint32_t>(*index) : ::if_nametoindex(scope.c_str());
      if (sin6.sin6_scope_id == 0) return false;
    }
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(port);
    std::memcpy(&out, &sin6, sizeof sin6);
    len = sizeof sin6;
    return true;
  }
  return false;
}

std::uint16_t parse_port(std::string_view text) noexcept {
  return static_cast<std::uint16_t>(sdk::text::parse_uint(text, 65535).value_or(0));
}

bool LocalAddresses::is_local(std::string_view ip) {
  if (ip.empty()) return false;
  if (is_loopback_address(ip)) return true;
  auto known = [&] { return std::find(addresses_.begin(), addresses_.end(), ip) != addresses_.end(); };
  if (loaded_ && known()) return true;
  const auto now = Clock::now();
  if (loaded_ && now - last_refresh_ < std::chrono::seconds(1)) return false;
  last_refresh_ = now;
  refresh();
  return known();
}

std::vector<InterfaceAddress> interface_addresses(int family) {
  std::vector<InterfaceAddress> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  std::unique_ptr<ifaddrs, void (*)(ifaddrs*)> guard(list, ::freeifaddrs);
  for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_name == nullptr) continue;
    const int f = a->ifa_addr->sa_family;
    if ((f != AF_INET && f != AF_INET6) || (family != AF_UNSPEC && f != family)) continue;
    InterfaceAddress entry;
    entry.name = a->ifa_name;
    entry.flags = a->ifa_flags;
    entry.length = f == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    std::memcpy(&entry.address, a->ifa_addr, entry.length);
    out.push_back(std::move(entry));
  }
  return out;
}

void LocalAddresses::refresh() {
  addresses_.clear();
  loaded_ = true;
  for (const InterfaceAddress& a : interface_addresses()) {
    std::string text = address_text(reinterpret_cast<const sockaddr*>(&a.address), a.length);
    if (!text.empty() && std::find(addresses_.begin(), addresses_.end(), text) == addresses_.end())
      addresses_.push_back(std::move(text));
  }
}

}  // namespace cluster::transport
