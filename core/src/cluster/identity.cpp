#include "cluster/identity.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
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

}  // namespace cluster::identity
