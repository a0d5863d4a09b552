#include "cluster/options.hpp"

#include <optional>

#include "cluster/sdk/text.hpp"
#include "cluster/text.hpp"

#include <arpa/inet.h>
#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "cluster/sdk/config.hpp"

namespace cluster {
namespace {

std::vector<std::string> split_list(const std::string& v) {
  return sdk::PluginConfig("", {{"v", v}}).get_list("v");
}

[[noreturn]] void bad(const IniValue& v, const std::string& key, const std::string& why) {
  throw ConfigError(v.where + ": [cluster] " + key + " = '" + v.value + "': " + why);
}

std::uint64_t parse_uint(const IniValue& v, const std::string& key, std::uint64_t max) {
  const std::optional<std::uint64_t> n = sdk::text::parse_uint(v.value);
  if (!n) bad(v, key, "not a non-negative integer");
  if (*n > max) bad(v, key, "must be at most " + std::to_string(max));
  return *n;
}

// "600" (in default_unit), "3s", "1500ms", "2m".
std::chrono::milliseconds parse_duration(const IniValue& v, const std::string& key, std::chrono::milliseconds unit) {
  std::size_t i = 0;
  while (i < v.value.size() && std::isdigit(static_cast<unsigned char>(v.value[i]))) ++i;
  if (i == 0 || i > 12) bad(v, key, "not a duration (e.g. 600, 3s, 1500ms, 2m)");
  const auto n = static_cast<std::int64_t>(*sdk::text::parse_uint(std::string_view(v.value).substr(0, i)));
  const std::string suffix = v.value.substr(i);
  if (suffix.empty()) return unit * n;
  if (suffix == "ms") return std::chrono::milliseconds(n);
  if (suffix == "s") return std::chrono::seconds(n);
  if (suffix == "m") return std::chrono::minutes(n);
  bad(v, key, "unknown unit '" + suffix + "' (use ms, s or m)");
}

// <dir of libcluster.so>/cluster/plugins (an installed tree, wherever it was installed), then
// the folder configured at build time.
std::vector<std::string> default_plugin_dirs() {
  std::vector<std::string> dirs;
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&default_plugin_dirs), &info) != 0 && info.dli_fname != nullptr) {
    const auto beside = std::filesystem::path(info.dli_fname).parent_path() / "cluster" / "plugins";
    std::error_code ec;
    if (std::filesystem::is_directory(beside, ec)) dirs.push_back(beside.string());
  }
  if (std::find(dirs.begin(), dirs.end(), CLUSTER_DEFAULT_PLUGIN_DIR) == dirs.end())
    dirs.emplace_back(CLUSTER_DEFAULT_PLUGIN_DIR);
  return dirs;
}

}  // namespace

std::vector<std::string> Options::discovery_names() const { return split_list(discovery); }

std::string Options::label_problem(const std::string& label) {
  if (label.size() > 255) return "is " + std::to_string(label.size()) + " bytes; at most 255";
  if (has_control(label)) return "holds a control character";
  return {};
}

Options Options::from_ini(const IniFile& ini) {
  Options o;
  const IniSection* s = ini.section("cluster");
  if (s == nullptr) return o;
  static const std::set<std::string> known = {
      "address", "port", "remote", "ttl", "heartbeat", "protocols", "channels", "tags", "hid",
      "interface", "discovery", "failure_detector", "label", "sealer", "bind", "advertise", "ping_delay", "ping_grace", "ping_recent",
      "max_multicast_packet", "max_members", "expiry_grace", "log_level", "max_packet", "max_buffered", "partial_timeout",
      "send_queue_limit", "send_queue_full", "send_queue_block_ms"};
  for (const auto& [key, v] : s->values) {
    if (key == "discovery_interval")  // documented once, never enforced: refused, not ignored
      throw ConfigError(v.where + ": [cluster] discovery_interval is no longer a setting (it was never enforced: "
                                  "discoveries go out at start and on request); remove the line");
    if (!known.count(key)) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw ConfigError(v.where + ": unknown key '" + key + "' in [cluster] (known: " + list + ")");
    }
    if (key == "address") {  // an IPv4 or IPv6 multicast group
      in_addr a{};
      in6_addr a6{};
      if (inet_pton(AF_INET, v.value.c_str(), &a) == 1) {
        if ((ntohl(a.s_addr) >> 28) != 0xE) bad(v, key, "not a multicast address (224.0.0.0/4)");
      } else if (inet_pton(AF_INET6, v.value.c_str(), &a6) == 1) {
        if (a6.s6_addr[0] != 0xff) bad(v, key, "not a multicast address (ff00::/8)");
      } else {
        bad(v, key, "not an IPv4 or IPv6 address");
      }
      o.address = v.value;
    } else if (key == "port") {
      o.port = static_cast<std::uint16_t>(parse_uint(v, key, 65535));
      if (o.port == 0) bad(v, key, "must be 1-65535");
    } else if (key == "remote") {
      o.remote = static_cast<unsigned>(parse_uint(v, key, 255));
    } else if (key == "ttl") {
      o.ttl = parse_duration(v, key, std::chrono::seconds(1));
      if (o.ttl.count() <= 0) bad(v, key, "must be positive");
    } else if (key == "heartbeat") {
      o.heartbeat = parse_duration(v, key, std::chrono::milliseconds(1));
    } else if (key == "protocols") {
      o.protocols = split_list(v.value);
      if (o.protocols.empty()) bad(v, key, "needs at least one protocol id");
    } else if (key == "channels") {
      o.channels.clear();
      for (const auto& c : split_list(v.value)) o.channels.push_back(parse_uint(IniValue{c, v.where}, key, ~0ULL));
    } else if (key == "tags") {
      o.tags = split_list(v.value);
      for (const auto& t : o.tags)
        if (has_control(t)) bad(v, key, "tag '" + t + "' holds a control character");
    } else if (key == "hid") {
      o.hid = v.value;
    } else if (key == "interface") {
      o.interface = v.value;
    } else if (key == "discovery") {
      const auto names = split_list(v.value);
      if (names.empty()) bad(v, key, "needs at least one discovery name");
      for (const auto& n : names)
        if (std::count(names.begin(), names.end(), n) > 1) bad(v, key, "lists '" + n + "' twice");
      o.discovery = v.value;
    } else if (key == "bind" || key == "advertise") {
      if (v.value.empty() || has_control(v.value) || v.value.find_first_of(" \t,") != std::string::npos)
        bad(v, key, "needs one address or host name");
      (key == "bind" ? o.bind : o.advertise) = v.value;
    } else if (key == "failure_detector") {
      const std::string name = v.value;
      if (name.empty() || name.find_first_of(" \t,") != std::string::npos) bad(v, key, "needs one name");
      o.failure_detector = name;
    } else if (key == "label") {
      if (const std::string why = label_problem(v.value); !why.empty()) bad(v, key, why);
      o.label = v.value;
    } else if (key == "sealer") {
      if (v.value.find_first_of(" \t,") != std::string::npos) bad(v, key, "needs one name");
      o.sealer = v.value;
    } else if (key == "ping_delay") {
      o.ping_delay = parse_duration(v, key, std::chrono::milliseconds(1));
    } else if (key == "ping_grace") {
      o.ping_grace = parse_duration(v, key, std::chrono::milliseconds(1));
    } else if (key == "ping_recent") {
      o.ping_recent = parse_duration(v, key, std::chrono::milliseconds(1));
    } else if (key == "log_level") {
      static const std::pair<const char*, sdk::LogLevel> levels[] = {
          {"trace", sdk::LogLevel::trace}, {"debug", sdk::LogLevel::debug}, {"info", sdk::LogLevel::info},
          {"notice", sdk::LogLevel::notice}, {"warning", sdk::LogLevel::warning}, {"error", sdk::LogLevel::error}};
      bool found = false;
      for (const auto& [name, level] : levels)
        if (v.value == name) {
          o.log_level = level;
          found = true;
        }
      if (!found) bad(v, key, "not a level (trace, debug, info, notice, warning, error)");
    } else if (key == "max_multicast_packet") {
      o.max_multicast_packet = parse_uint(v, key, 65000);
      if (o.max_multicast_packet < 64) bad(v, key, "must be at least 64");
    } else if (key == "expiry_grace") {
      o.expiry_grace = parse_duration(v, key, std::chrono::seconds(1));
    } else if (key == "max_members") {
      o.max_members = parse_uint(v, key, 10'000'000);
      if (o.max_members == 0) bad(v, key, "must be at least 1");
    } else if (key == "send_queue_limit") {
      o.send_queue_limit = parse_uint(v, key, 1u << 30);
      if (o.send_queue_limit == 0) bad(v, key, "must be at least 1");
    } else if (key == "send_queue_full") {
      if (v.value == "block") o.send_queue_full = SendQueueFull::block;
      else if (v.value == "fail") o.send_queue_full = SendQueueFull::fail;
      else if (v.value == "drop_oldest") o.send_queue_full = SendQueueFull::drop_oldest;
      else bad(v, key, "not a policy (block, fail, drop_oldest)");
    } else if (key == "send_queue_block_ms") {
      o.send_queue_block_ms = parse_duration(v, key, std::chrono::milliseconds(1));
    } else if (key == "max_packet") {  // stream limits
      o.max_packet = parse_uint(v, key, 64u << 20);
      if (o.max_packet < 64 * 1024) bad(v, key, "must be at least 65536 (a datagram can be that large)");
    } else if (key == "max_buffered") {
      o.max_buffered = parse_uint(v, key, 1ULL << 40);
    } else if (key == "partial_timeout") {
      o.partial_timeout = parse_duration(v, key, std::chrono::seconds(1));
      if (o.partial_timeout.count() <= 0) bad(v, key, "must be positive");
    }
  }
  // Checked once every key is read (any order). The budget counts buffer capacity, which
  // growth by doubling makes up to twice a packet: below four packets, one big packet and
  // another on its way would close a well-behaved peer.
  if (o.max_buffered < 4 * o.max_packet) {
    const IniValue* v = s->find("max_buffered");
    if (v == nullptr) v = s->find("max_packet");
    throw ConfigError(v->where + ": [cluster] max_buffered (" + std::to_string(o.max_buffered) +
                      ") must be at least 4 * max_packet (" + std::to_string(4 * o.max_packet) + ")");
  }
  return o;
}

NodeConfig NodeConfig::load_file(const std::string& path) { return from_ini(IniFile::load(path)); }

NodeConfig NodeConfig::from_ini(IniFile ini) {
  NodeConfig c;
  c.options = Options::from_ini(ini);
  c.plugin_paths = default_plugin_dirs();
  std::vector<std::string> from_env;
  if (const char* env = std::getenv("CLUSTER_PLUGIN_PATH")) {
    std::string cur;
    for (const char* q = env;; ++q) {
      if (*q == ':' || *q == '\0') {
        if (!cur.empty()) from_env.push_back(cur);
        cur.clear();
        if (*q == '\0') break;
      } else {
        cur.push_back(*q);
      }
    }
  }
  if (const IniSection* p = ini.section("plugins")) {
    for (const auto& [key, v] : p->values) {
      if (key == "path") {
        c.plugin_paths = split_list(v.value);
        // Relative paths are relative to the ini file, so a deployment folder can move.
        const auto base = std::filesystem::path(ini.origin()).parent_path();
        for (auto& dir : c.plugin_paths)
          if (!dir.empty() && dir[0] != '/') dir = (base / dir).lexically_normal().string();
      } else if (key == "load") {
        c.load = split_list(v.value);
      } else if (key == "hooks") {
        c.hook_sets = split_list(v.value);
      } else {
        throw ConfigError(v.where + ": unknown key '" + key + "' in [plugins] (known: path, load, hooks)");
      }
    }
  }
  c.plugin_paths.insert(c.plugin_paths.begin(), from_env.begin(), from_env.end());
  c.ini = std::move(ini);
  return c;
}

std::string NodeConfig::resolve_plugin(const std::string& name) const {
  if (name.find('/') != std::string::npos) return name;
  for (const auto& dir : plugin_paths) {
    const auto p = std::filesystem::path(dir) / ("cluster-" + name + ".so");
    std::error_code ec;
    if (std::filesystem::exists(p, ec)) return p.string();
  }
  const std::string first = plugin_paths.empty() ? "." : plugin_paths.front();
  return (std::filesystem::path(first) / ("cluster-" + name + ".so")).string();
}

}  // namespace cluster
