#include "cluster/plugin_manager.hpp"

#include "cluster/sdk/text.hpp"

#define BOOST_DLL_USE_STD_FS
#include <boost/dll/shared_library.hpp>

#include <algorithm>
#include <cctype>
#include <functional>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <system_error>

#include "policies/builtin_policies.hpp"

namespace cluster {

std::string_view plugin_errc_name(PluginErrc e) noexcept {
  switch (e) {
    case PluginErrc::file_missing: return "file missing";
    case PluginErrc::open_failed: return "cannot open";
    case PluginErrc::not_a_plugin: return "not a plugin";
    case PluginErrc::abi_mismatch: return "ABI mismatch";
    case PluginErrc::build_mismatch: return "build mismatch";
    case PluginErrc::duplicate: return "duplicate";
    case PluginErrc::init_failed: return "init failed";
    case PluginErrc::bad_config: return "bad config";
  }
  return "?";
}

PluginError::PluginError(PluginErrc code, std::string path, const std::string& message)
    : std::runtime_error("plugin " + path + ": " + std::string(plugin_errc_name(code)) + ": " + message),
      code_(code),
      path_(std::move(path)) {}

namespace {

// A loaded library. Its plugin's shutdown() runs when the last object holding it goes, just
// before dlclose: never while plugin objects are alive.
struct LoadedLibrary {
  boost::dll::shared_library lib;
  void (*shutdown)() noexcept = nullptr;
  ~LoadedLibrary() {
    if (shutdown != nullptr) shutdown();
  }
};
using Library = std::shared_ptr<LoadedLibrary>;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

template <class Factory>
struct Entry {
  Factory factory;
  Library lib;  // null for in-process registrations
  const sdk::PluginConfig* config;
  std::uint32_t abi_minor = sdk::kAbiMinor;  // what the plugin was built against: newer calls skip older plugins
};
template <class Factory>
using Registry = std::map<std::string, Entry<Factory>, std::less<>>;

// What one plugin registered under `kind`: refused whole when a name is taken (by an earlier
// plugin or twice by this one).
template <class Factory>
void check_unique(const Registry<Factory>& known, const std::vector<std::pair<std::string, Factory>>& added,
                  const std::string& path, const char* kind) {
  for (const auto& [name, f] : added)
    if (known.count(name) != 0 || std::count_if(added.begin(), added.end(),
                                                [&n = name](const auto& a) { return a.first == n; }) > 1)
      throw PluginError(PluginErrc::duplicate, path, std::string(kind) + " '" + name + "' is already registered");
}

template <class Factory>
void commit(Registry<Factory>& known, std::vector<std::pair<std::string, Factory>>& added, const Library& lib,
            const sdk::PluginConfig* config, std::uint32_t abi_minor, std::vector<std::string>& names) {
  for (auto& [name, f] : added) {
    names.push_back(name);
    known.emplace(name, Entry<Factory>{std::move(f), lib, config, abi_minor});
  }
}

template <class Factory>
void add_in_process(Registry<Factory>& known, std::string name, Factory f, const sdk::PluginConfig* config,
                    const char* kind) {
  if (known.count(name) != 0)
    throw PluginError(PluginErrc::duplicate, "(in-process)", std::string(kind) + " '" + name + "' is already registered");
  known.emplace(std::move(name), Entry<Factory>{std::move(f), nullptr, config, sdk::kAbiMinor});
}

template <class Factory>
std::vector<std::string> names_of(const Registry<Factory>& known) {
  std::vector<std::string> out;
  for (const auto& [name, e] : known) out.push_back(name);
  return out;
}

// Creates an object; the returned pointer keeps its library loaded while it lives. A factory
// that throws or returns null refuses (nullptr).
template <class Object, class Factory, class Host>
std::shared_ptr<Object> create(const Registry<Factory>& known, std::string_view name, Host& host) {
  const auto& e = known.at(std::string(name));
  std::unique_ptr<Object> o;
  try {
    o = e.factory(host);
  } catch (...) {  // factories should be noexcept; a throwing one counts as a refusal
    return nullptr;
  }
  if (!o) return nullptr;
  Library lib = e.lib;
  return std::shared_ptr<Object>(o.release(), [lib](Object* q) { delete q; });
}

bool valid_integer(const std::string& v) { return sdk::text::parse_int(v).has_value(); }

bool valid_boolean(const std::string& v) {
  static const char* words[] = {"0", "1", "true", "false", "yes", "no", "on", "off"};
  return std::any_of(std::begin(words), std::end(words), [&](const char* w) { return v == w; });
}

}  // namespace

sdk::PluginConfig validate_section(const std::string& section_name, const IniSection* section,
                                   const sdk::ConfigKey* keys, std::size_t count) {
  std::map<std::string, std::string, std::less<>> values;
  bool open_schema = false;
  for (std::size_t i = 0; i < count; ++i) {
    if (std::string_view(keys[i].name) == "*") open_schema = true;
    else values[keys[i].name] = keys[i].default_value;
  }
  // Ini keys arrive lowercased; schema names may use any case.
  auto spec_of = [&](const std::string& key) -> const sdk::ConfigKey* {
    for (std::size_t i = 0; i < count; ++i)
      if (key == lower(keys[i].name)) return &keys[i];
    return nullptr;
  };
  if (section != nullptr) {
    for (const auto& [key, v] : section->values) {
      const sdk::ConfigKey* spec = spec_of(key);
      if (spec == nullptr && open_schema) {
        values[key] = v.value;
        continue;
      }
      if (spec == nullptr) {
        std::string known;
        for (std::size_t i = 0; i < count; ++i) known += (i ? ", " : "") + std::string(keys[i].name);
        throw ConfigError(v.where + ": unknown key '" + key + "' in [" + section_name + "]" +
                          (known.empty() ? " (this plugin takes no keys)" : " (known: " + known + ")"));
      }
      if (spec->type == sdk::ConfigType::integer && !valid_integer(v.value))
        throw ConfigError(v.where + ": [" + section_name + "] " + key + " = '" + v.value + "' is not an integer");
      if (spec->type == sdk::ConfigType::boolean && !valid_boolean(v.value))
        throw ConfigError(v.where + ": [" + section_name + "] " + key + " = '" + v.value +
                          "' is not a boolean (true/false, yes/no, on/off, 1/0)");
      values[spec->name] = v.value;
    }
  }
  return sdk::PluginConfig(section_name, std::move(values));
}

namespace {

std::string range_text(const sdk::ConfigRange& r) {
  return std::to_string(r.min) + ".." + std::to_string(r.max);
}

/// The ranges a descriptor declares (SDK 1.2: only when struct_size covers the fields), checked
/// against the schema, then applied to `config`: a configured value outside its range throws a
/// ConfigError naming the file and line, the key and the range.
void check_ranges(const sdk::PluginDescriptor& d, const std::string& section_name, const IniSection* section,
                  const sdk::PluginConfig& config) {
  constexpr std::size_t end_of_ranges =
      offsetof(sdk::PluginDescriptor, config_range_count) + sizeof(d.config_range_count);
  if (d.struct_size < end_of_ranges || d.config_range_count == 0) return;
  if (d.config_ranges == nullptr) throw ConfigError("plugin declares " + std::to_string(d.config_range_count) +
                                                    " config ranges but no array of them");
  for (std::uint32_t i = 0; i < d.config_range_count; ++i) {
    const sdk::ConfigRange& r = d.config_ranges[i];
    const std::string key = r.key != nullptr ? r.key : "";
    const sdk::ConfigKey* spec = nullptr;
    for (std::uint32_t k = 0; k < d.config_key_count; ++k)
      if (d.config_keys[k].name != nullptr && key == d.config_keys[k].name) spec = &d.config_keys[k];
    if (spec == nullptr || spec->type != sdk::ConfigType::integer)
      throw ConfigError("plugin declares a range for '" + key + "', which is no integer key of its schema");
    if (r.min > r.max) throw ConfigError("plugin declares an empty range " + range_text(r) + " for '" + key + "'");
    const auto def = sdk::text::parse_int(spec->default_value != nullptr ? spec->default_value : "");
    if (!def || *def < r.min || *def > r.max)
      throw ConfigError("plugin's default " + key + " = '" + (spec->default_value ? spec->default_value : "") +
                        "' is outside its own range " + range_text(r));
    const std::string& value = config.get(key);
    const auto n = sdk::text::parse_int(value);
    if (n && *n >= r.min && *n <= r.max) continue;
    // Ini keys arrive lowercased: find the line the value came from.
    std::string where = section_name;
    if (section != nullptr)
      for (const auto& [k, v] : section->values)
        if (k == lower(key)) where = v.where;
    throw ConfigError(where + ": [" + section_name + "] " + key + " = '" + value + "' is out of range (" +
                      range_text(r) + ")");
  }
}

}  // namespace

struct PluginManager::Impl {
  struct Loaded {
    PluginInfo info;
    Library lib;
    const sdk::PluginDescriptor* desc = nullptr;
    std::unique_ptr<sdk::PluginConfig> config;
  };
  std::vector<std::unique_ptr<Loaded>> loaded;
  std::vector<PluginInfo> infos;  // returned by value from load(): references never dangle
  Registry<sdk::ProtocolFactory> protocols;
  Registry<sdk::HookSetFactory> hook_sets;
  Registry<sdk::DiscoveryFactory> discoveries;
  Registry<sdk::FailureDetectorFactory> failure_detectors;
  Registry<sdk::SealerFactory> sealers;
  sdk::PluginConfig empty_config;

  // Collects what init registers; committed only when the whole load succeeded.
  class Registrar final : public sdk::Registrar {
   public:
    Registrar(const sdk::PluginConfig& c, std::string path) : config_(c), path_(std::move(path)) {}
    const sdk::PluginConfig& config() const noexcept override { return config_; }
    void log(sdk::LogLevel level, std::string_view message) noexcept override {
      // There is no cluster yet while plugins load: warnings and errors go to stderr.
      if (level < sdk::LogLevel::warning) return;
      try {
        std::cerr << "plugin " << path_ << ": " << message << "\n";
      } catch (...) {
      }
    }
    void add_protocol(std::string id, sdk::ProtocolFactory f) noexcept override {
      try { protocols.emplace_back(std::move(id), std::move(f)); } catch (...) { failed = true; }
    }
    void add_hook_set(std::string name, sdk::HookSetFactory f) noexcept override {
      try { hook_sets.emplace_back(std::move(name), std::move(f)); } catch (...) { failed = true; }
    }
    void add_discovery(std::string name, sdk::DiscoveryFactory f) noexcept override {
      try { discoveries.emplace_back(std::move(name), std::move(f)); } catch (...) { failed = true; }
    }
    void add_failure_detector(std::string name, sdk::FailureDetectorFactory f) noexcept override {
      try { failure_detectors.emplace_back(std::move(name), std::move(f)); } catch (...) { failed = true; }
    }
    void add_sealer(std::string name, sdk::SealerFactory f) noexcept override {
      try { sealers.emplace_back(std::move(name), std::move(f)); } catch (...) { failed = true; }
    }
    std::vector<std::pair<std::string, sdk::ProtocolFactory>> protocols;
    std::vector<std::pair<std::string, sdk::HookSetFactory>> hook_sets;
    std::vector<std::pair<std::string, sdk::DiscoveryFactory>> discoveries;
    std::vector<std::pair<std::string, sdk::FailureDetectorFactory>> failure_detectors;
    std::vector<std::pair<std::string, sdk::SealerFactory>> sealers;
    bool failed = false;

   private:
    const sdk::PluginConfig& config_;
    std::string path_;
  };
};

PluginManager::PluginManager() : impl_(std::make_unique<Impl>()) {
  // The defaults every member has, whatever it loads (builtin_policies.hpp says why built in).
  add_discovery(policies::kMulticastDiscovery, policies::make_multicast_beacon);
  add_failure_detector(policies::kTtlDetector, policies::make_ttl_detector);
}

PluginManager::~PluginManager() {
  // Factories hold code of their libraries: drop them first, then release the libraries in
  // reverse load order. A library still held by a live plugin object stays loaded (and is shut
  // down) until that object goes.
  impl_->protocols.clear();
  impl_->hook_sets.clear();
  impl_->discoveries.clear();
  impl_->failure_detectors.clear();
  impl_->sealers.clear();
  while (!impl_->loaded.empty()) impl_->loaded.pop_back();
}

PluginInfo PluginManager::load(const std::string& path, const IniFile& ini, const std::string& section_name) {
  return load_impl(path, [&](const std::string& plugin_name) {
    return ini.section(section_name.empty() ? plugin_name : section_name);
  });
}

PluginInfo PluginManager::load(const std::string& path, const IniSection* section) {
  return load_impl(path, [section](const std::string&) { return section; });
}

PluginInfo PluginManager::load_impl(const std::string& path,
                                    const std::function<const IniSection*(const std::string&)>& section_for) {
  namespace fs = std::filesystem;
  std::error_code fec;
  if (!fs::exists(path, fec)) throw PluginError(PluginErrc::file_missing, path, "no such file");
  auto loaded = std::make_unique<Impl::Loaded>();
  try {
    loaded->lib = std::make_shared<LoadedLibrary>();
    loaded->lib->lib.load(fs::path(path), boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    throw PluginError(PluginErrc::open_failed, path, e.what());
  }
  if (!loaded->lib->lib.has(sdk::kEntrySymbol))
    throw PluginError(PluginErrc::not_a_plugin, path,
                      std::string("no ") + sdk::kEntrySymbol + " symbol (not built with CLUSTER_PLUGIN?)");
  using EntryFn = const sdk::PluginDescriptor*() noexcept;
  const sdk::PluginDescriptor* d = loaded->lib->lib.get<EntryFn>(sdk::kEntrySymbol)();
  if (d == nullptr) throw PluginError(PluginErrc::not_a_plugin, path, "descriptor is null");
  if (d->abi_major != sdk::kAbiMajor || d->abi_minor > sdk::kAbiMinor)
    throw PluginError(PluginErrc::abi_mismatch, path,
                      "plugin SDK ABI " + std::to_string(d->abi_major) + "." + std::to_string(d->abi_minor) +
                          ", host " + std::to_string(sdk::kAbiMajor) + "." + std::to_string(sdk::kAbiMinor));
  if (d->struct_size < sdk::kDescriptorSizeV1_0 || d->struct_size > sizeof(sdk::PluginDescriptor))
    throw PluginError(PluginErrc::abi_mismatch, path,
                      "descriptor size " + std::to_string(d->struct_size) + ", host accepts " +
                          std::to_string(sdk::kDescriptorSizeV1_0) + ".." +
                          std::to_string(sizeof(sdk::PluginDescriptor)));
  if (d->build_key == nullptr || std::strcmp(d->build_key, CLUSTER_SDK_BUILD_KEY) != 0)
    throw PluginError(PluginErrc::build_mismatch, path,
                      std::string("built as '") + (d->build_key ? d->build_key : "") + "', host is '" +
                          CLUSTER_SDK_BUILD_KEY + "'");
  const std::string name = d->name != nullptr ? d->name : "";
  for (const auto& l : impl_->loaded)
    if (l->info.name == name)
      throw PluginError(PluginErrc::duplicate, path, "plugin '" + name + "' already loaded from " + l->info.path);
  const IniSection* section = section_for(name);
  try {
    const std::string section_name = section != nullptr ? section->name : name;
    loaded->config = std::make_unique<sdk::PluginConfig>(
        validate_section(section_name, section, d->config_keys, d->config_key_count));
    check_ranges(*d, section_name, section, *loaded->config);
  } catch (const ConfigError& e) {
    throw PluginError(PluginErrc::bad_config, path, e.what());
  }
  Impl::Registrar reg(*loaded->config, path);
  std::string error;
  if (d->init == nullptr || !d->init(reg, error))
    throw PluginError(PluginErrc::init_failed, path, error.empty() ? "init returned false" : error);
  // From here on a failure still shuts the plugin down (when the library is released).
  loaded->lib->shutdown = d->shutdown;
  if (reg.failed) throw PluginError(PluginErrc::init_failed, path, "registering failed (out of memory)");
  check_unique(impl_->protocols, reg.protocols, path, "protocol id");
  check_unique(impl_->hook_sets, reg.hook_sets, path, "hook set");
  check_unique(impl_->discoveries, reg.discoveries, path, "discovery");
  check_unique(impl_->failure_detectors, reg.failure_detectors, path, "failure detector");
  check_unique(impl_->sealers, reg.sealers, path, "sealer");
  loaded->desc = d;
  loaded->info = {name, d->version ? d->version : "", d->description ? d->description : "", path, {}, {}, {}, {}, {}};
  const sdk::PluginConfig* config = loaded->config.get();
  commit(impl_->protocols, reg.protocols, loaded->lib, config, d->abi_minor, loaded->info.protocols);
  commit(impl_->hook_sets, reg.hook_sets, loaded->lib, config, d->abi_minor, loaded->info.hook_sets);
  commit(impl_->discoveries, reg.discoveries, loaded->lib, config, d->abi_minor, loaded->info.discoveries);
  commit(impl_->failure_detectors, reg.failure_detectors, loaded->lib, config, d->abi_minor, loaded->info.failure_detectors);
  commit(impl_->sealers, reg.sealers, loaded->lib, config, d->abi_minor, loaded->info.sealers);
  impl_->infos.push_back(loaded->info);
  impl_->loaded.push_back(std::move(loaded));
  return impl_->infos.back();  // a copy
}

void PluginManager::add_protocol(std::string id, sdk::ProtocolFactory factory) {
  add_in_process(impl_->protocols, std::move(id), std::move(factory), &impl_->empty_config, "protocol id");
}
void PluginManager::add_hook_set(std::string name, sdk::HookSetFactory factory) {
  add_in_process(impl_->hook_sets, std::move(name), std::move(factory), &impl_->empty_config, "hook set");
}
void PluginManager::add_discovery(std::string name, sdk::DiscoveryFactory factory) {
  add_in_process(impl_->discoveries, std::move(name), std::move(factory), &impl_->empty_config, "discovery");
}
void PluginManager::add_failure_detector(std::string name, sdk::FailureDetectorFactory factory) {
  add_in_process(impl_->failure_detectors, std::move(name), std::move(factory), &impl_->empty_config,
                 "failure detector");
}

void PluginManager::add_sealer(std::string name, sdk::SealerFactory factory) {
  add_in_process(impl_->sealers, std::move(name), std::move(factory), &impl_->empty_config, "sealer");
}

bool PluginManager::has_protocol(std::string_view id) const { return impl_->protocols.count(id) != 0; }
bool PluginManager::has_hook_set(std::string_view name) const { return impl_->hook_sets.count(name) != 0; }
bool PluginManager::has_discovery(std::string_view name) const { return impl_->discoveries.count(name) != 0; }
bool PluginManager::has_failure_detector(std::string_view name) const {
  return impl_->failure_detectors.count(name) != 0;
}

bool PluginManager::has_sealer(std::string_view name) const { return impl_->sealers.count(name) != 0; }

std::vector<std::string> PluginManager::protocol_ids() const { return names_of(impl_->protocols); }
std::vector<std::string> PluginManager::hook_set_names() const { return names_of(impl_->hook_sets); }
std::vector<std::string> PluginManager::discovery_names() const { return names_of(impl_->discoveries); }
std::vector<std::string> PluginManager::failure_detector_names() const { return names_of(impl_->failure_detectors); }
std::vector<std::string> PluginManager::sealer_names() const { return names_of(impl_->sealers); }

const std::vector<PluginInfo>& PluginManager::plugins() const noexcept { return impl_->infos; }

const sdk::PluginConfig& PluginManager::protocol_config(std::string_view id) const {
  return *impl_->protocols.at(std::string(id)).config;
}
const sdk::PluginConfig& PluginManager::hook_set_config(std::string_view name) const {
  return *impl_->hook_sets.at(std::string(name)).config;
}
const sdk::PluginConfig& PluginManager::discovery_config(std::string_view name) const {
  return *impl_->discoveries.at(std::string(name)).config;
}
std::uint32_t PluginManager::discovery_abi_minor(std::string_view name) const {
  return impl_->discoveries.at(std::string(name)).abi_minor;
}

std::uint32_t PluginManager::protocol_abi_minor(std::string_view id) const {
  return impl_->protocols.at(std::string(id)).abi_minor;
}

std::uint32_t PluginManager::failure_detector_abi_minor(std::string_view name) const {
  return impl_->failure_detectors.at(std::string(name)).abi_minor;
}
const sdk::PluginConfig& PluginManager::failure_detector_config(std::string_view name) const {
  return *impl_->failure_detectors.at(std::string(name)).config;
}

const sdk::PluginConfig& PluginManager::sealer_config(std::string_view name) const {
  return *impl_->sealers.at(std::string(name)).config;
}

std::shared_ptr<sdk::Protocol> PluginManager::create_protocol(std::string_view id, sdk::ProtocolHost& host) const {
  return create<sdk::Protocol>(impl_->protocols, id, host);
}
std::shared_ptr<sdk::HookSet> PluginManager::create_hook_set(std::string_view name, sdk::HookSetHost& host) const {
  return create<sdk::HookSet>(impl_->hook_sets, name, host);
}
std::shared_ptr<sdk::Discovery> PluginManager::create_discovery(std::string_view name, sdk::DiscoveryHost& host) const {
  return create<sdk::Discovery>(impl_->discoveries, name, host);
}
std::shared_ptr<sdk::FailureDetector> PluginManager::create_failure_detector(std::string_view name,
                                                                             sdk::FailureDetectorHost& host) const {
  return create<sdk::FailureDetector>(impl_->failure_detectors, name, host);
}

std::shared_ptr<sdk::PacketSealer> PluginManager::create_sealer(std::string_view name, sdk::SealerHost& host) const {
  return create<sdk::PacketSealer>(impl_->sealers, name, host);
}

}  // namespace cluster
