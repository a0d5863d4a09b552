#include "identity.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <vector>

namespace cluster::identity {
namespace {

std::string read_mac(const std::filesystem::path& iface) {
  std::ifstream in(iface / "address");
  std::string mac;
  std::getline(in, mac);
  std::transform(mac.begin(), mac.end(), mac.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return mac;
}

}  // namespace

std::string default_hid() {
  namespace fs = std::filesystem;
  const fs::path net("/sys/class/net");
  std::error_code ec;
  if (fs::exists(net / "eth0", ec)) {
    const std::string mac = read_mac(net / "eth0");
    if (mac.size() == 17) return mac;
  }
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(net, ec)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    if (n == "lo") continue;
    const std::string mac = read_mac(net / n);
    if (mac.size() == 17 && mac != "00:00:00:00:00:00") return mac;
  }
  return "00:00:00:00:00:00";
}

std::string make_sid(std::mt19937_64& rng) {
  static constexpr char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string s(8, ' ');
  for (auto& c : s) c = chars[rng() % (sizeof chars - 1)];
  return s;
}

bool is_local_address(const std::string& ip) {
  if (ip.empty() || ip.rfind("127.", 0) == 0 || ip == "::1") return true;
  static std::mutex mu;
  static std::set<std::string> addrs;
  static std::chrono::steady_clock::time_point refreshed{};
  std::lock_guard<std::mutex> lock(mu);
  if (addrs.count(ip)) return true;
  const auto now = std::chrono::steady_clock::now();
  if (now - refreshed < std::chrono::seconds(1)) return false;
  refreshed = now;
  addrs.clear();
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return false;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr) continue;
    char buf[INET6_ADDRSTRLEN] = {};
    if (a->ifa_addr->sa_family == AF_INET)
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, buf, sizeof buf);
    else if (a->ifa_addr->sa_family == AF_INET6)
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr, buf, sizeof buf);
    else
      continue;
    addrs.insert(buf);
  }
  freeifaddrs(list);
  return addrs.count(ip) != 0;
}

}  // namespace cluster::identity
