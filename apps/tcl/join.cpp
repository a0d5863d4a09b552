#include "join.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "tcl_util.hpp"

namespace cluster::tclbind {
namespace {

// The in-tree plugin serving each protocol id (plugins/transport-*).
const std::map<std::string, std::string> kProtocolPlugins = {
    {"c", "udp-multicast"}, {"t", "tcp"}, {"u", "unix"}, {"d", "udp"}, {"s", "tls"}};

const std::vector<std::string> kKnown = {"-address", "-port", "-ttl",  "-heartbeat", "-channels", "-remote",
                                         "-tags",    "-protocols", "-config", "-hid", "-interface", "-label"};

// A value written into the generated ini must read back as itself.
std::string ini_value(const std::string& option, const std::string& v) {
  for (const char ch : v)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == ';' || ch == '#')
      fail(option + ": \"" + v + "\" cannot be passed on (control character, ';' or '#'); use -config FILE",
           {"ARGS", "VALUE"});
  return v;
}

long long ranged(Tcl_Interp* interp, Tcl_Obj* o, const std::string& option, long long lo, long long hi) {
  const long long v = integer(interp, o, option.c_str());
  if (v < lo || v > hi)
    fail(option + ": " + std::to_string(v) + " is out of range (" + std::to_string(lo) + ".." + std::to_string(hi) + ")",
         {"ARGS", "VALUE"});
  return v;
}

// Plugin folders: ::cluster::plugin_path (the build tree's pkgIndex.tcl sets it) first.
void add_plugin_path(Tcl_Interp* interp, NodeConfig& node) {
  if (const char* p = Tcl_GetVar2(interp, "::cluster::plugin_path", nullptr, TCL_GLOBAL_ONLY)) {
    const auto dirs = elements(interp, Tcl_NewStringObj(p, -1));
    node.plugin_paths.insert(node.plugin_paths.begin(), dirs.begin(), dirs.end());
  }
}

}  // namespace

NodeConfig parse_join(Tcl_Interp* interp, int objc, Tcl_Obj* const objv[], int from) {
  if ((objc - from) % 2 != 0) fail("cluster join: options come in -name value pairs", {"ARGS"});
  std::vector<std::pair<std::string, Tcl_Obj*>> opts;
  std::string config_file;
  std::vector<std::string> protocols{"t", "c"};
  for (int i = from; i < objc; i += 2) {
    const std::string k = text(objv[i]);
    opts.emplace_back(k, objv[i + 1]);
    if (k == "-config") config_file = text(objv[i + 1]);
    if (k == "-protocols") protocols = elements(interp, objv[i + 1]);
  }
  NodeConfig node;
  if (!config_file.empty()) {
    node = NodeConfig::load_file(config_file);
  } else {
    // The seed's defaults (t c), as an ini the core validates like any node file.
    std::string ini = "[cluster]\n[plugins]\nload =";
    std::set<std::string> plugins;
    bool has_c = false;
    for (const auto& p : protocols) {
      auto it = kProtocolPlugins.find(p);
      if (it == kProtocolPlugins.end())
        fail("cluster join: no plugin known for protocol \"" + p + "\" (known: c t u d s); use -config FILE",
             {"ARGS", "PROTOCOL"});
      has_c = has_c || p == "c";
      if (plugins.insert(it->second).second) ini += " " + it->second;
    }
    if (!has_c && plugins.insert("udp-multicast").second) ini += " udp-multicast";
    ini += "\n";
    for (const auto& [k, v] : opts) {
      if (k.size() < 2 || k[0] != '-') fail("cluster join: expected an option, got \"" + k + "\"", {"ARGS"});
      auto it = kProtocolPlugins.find(k.substr(1));
      if (it == kProtocolPlugins.end()) continue;
      if (!plugins.count(it->second))
        fail("cluster join: " + k + " configures protocol \"" + k.substr(1) + "\", which -protocols does not list",
             {"ARGS", "PROTOCOL"});
      ini += "[" + it->second + "]\n";
      Tcl_Obj* list_obj = v;
      const auto kv = elements(interp, list_obj);
      if (kv.size() % 2 != 0) fail("cluster join: " + k + " expects a dict {key value ...}", {"ARGS", "VALUE"});
      for (std::size_t j = 0; j < kv.size(); j += 2)
        ini += ini_value(k, kv[j]) + " = " + ini_value(k, kv[j + 1]) + "\n";
    }
    node = NodeConfig::from_ini(IniFile::parse(ini, "cluster join"));
  }
  Options& o = node.options;
  for (const auto& [k, v] : opts) {
    if (k == "-config") continue;
    if (kProtocolPlugins.count(k.substr(1)) != 0) {
      if (!config_file.empty())
        fail("cluster join: " + k + " cannot be combined with -config (set the plugin's section in the file)",
             {"ARGS", "OPTION"});
      continue;
    }
    if (k == "-address") o.address = text(v);
    else if (k == "-port") o.port = static_cast<std::uint16_t>(ranged(interp, v, k, 1, 65535));
    else if (k == "-ttl") o.ttl = std::chrono::seconds(ranged(interp, v, k, 1, 86400 * 365));
    else if (k == "-heartbeat") o.heartbeat = std::chrono::milliseconds(ranged(interp, v, k, 0, 86400000));
    else if (k == "-remote") o.remote = static_cast<unsigned>(ranged(interp, v, k, 0, 255));
    else if (k == "-tags") o.tags = elements(interp, v);
    else if (k == "-hid") o.hid = text(v);
    else if (k == "-interface") o.interface = text(v);
    else if (k == "-label") {
      o.label = text(v);
      if (auto why = Options::label_problem(o.label); !why.empty()) fail("cluster join: -label " + why, {"ARGS", "VALUE"});
    } else if (k == "-protocols") {
      o.protocols = protocols;
      if (o.protocols.empty()) fail("cluster join: -protocols is empty", {"ARGS", "VALUE"});
    } else if (k == "-channels") {
      o.channels.clear();
      int n = 0;
      Tcl_Obj** items = nullptr;
      if (Tcl_ListObjGetElements(interp, v, &n, &items) != TCL_OK) fail("-channels: not a list", {"ARGS", "VALUE"});
      for (int j = 0; j < n; ++j)
        o.channels.push_back(static_cast<std::uint64_t>(ranged(interp, items[j], "-channels", 0, 1LL << 53)));
    } else {
      std::string all;
      for (const auto& kn : kKnown) all += (all.empty() ? "" : ", ") + kn;
      fail("cluster join: unknown option \"" + k + "\", should be one of " + all + " or -<protocol id>",
           {"ARGS", "OPTION"});
    }
  }
  add_plugin_path(interp, node);
  return node;
}

std::unique_ptr<Cluster> join_on_loop(const NodeConfig& node, const std::shared_ptr<PluginManager>& plugins,
                                      EventLoop& loop, const std::function<void(Cluster&)>& prepare) {
  // What Cluster::join(NodeConfig) checks, in the same words (core/src/cluster/cluster.cpp).
  static const std::set<std::string> core_sections = {"cluster", "plugins", "control", "logging", "metrics", "http"};
  std::set<std::string> plugin_sections;
  for (const auto& name : node.load) {
    const bool by_name = name.find('/') == std::string::npos;
    const PluginInfo info = plugins->load(node.resolve_plugin(name), node.ini, by_name ? name : std::string());
    plugin_sections.insert(by_name ? name : info.name);
  }
  for (const auto& s : node.ini.sections())
    if (!core_sections.count(s.name) && !plugin_sections.count(s.name))
      throw ConfigError(s.where + ": section [" + s.name + "] belongs to no loaded plugin");
  for (const auto& h : node.hook_sets)
    if (!plugins->has_hook_set(h))
      throw ConfigError(node.ini.origin() + ": [plugins] hooks names '" + h + "', which no loaded plugin provides");
  return Cluster::join(node.options, plugins, loop, [&](Cluster& c) {
    for (const auto& h : node.hook_sets) c.use_hook_set(h);
    if (prepare) prepare(c);
  });
}

}  // namespace cluster::tclbind
