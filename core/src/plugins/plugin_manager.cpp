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
};

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
  std::map<std::string, Entry<sdk::ProtocolFactory>, std::less<>> protocols;
  std::map<std::string, Entry<sdk::HookSetFactory>, std::less<>> hook_sets;
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
    std::vector<std::pair<std::string, sdk::ProtocolFactory>> protocols;
    std::vector<std::pair<std::string, sdk::HookSetFactory>> hook_sets;
    bool failed = false;

   private:
    const sdk::PluginConfig& config_;
    std::string path_;
  };
};

PluginManager::PluginManager() : impl_(std::make_unique<Impl>()) {}

PluginManager::~PluginManager() {
  // Factories hold code of their libraries: drop them first, then release the libraries in
  // reverse load order. A library still held by a live plugin object stays loaded (and is shut
  // down) until that object goes.
  impl_->protocols.clear();
  impl_->hook_sets.clear();
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
  for (const auto& [id, f] : reg.protocols)
    if (has_protocol(id) || std::count_if(reg.protocols.begin(), reg.protocols.end(),
                                          [&idr = id](const auto& p) { return p.first == idr; }) > 1)
      throw PluginError(PluginErrc::duplicate, path, "protocol id '" + id + "' is already registered");
  for (const auto& [n, f] : reg.hook_sets)
    if (has_hook_set(n) || std::count_if(reg.hook_sets.begin(), reg.hook_sets.end(),
                                         [&nr = n](const auto& h) { return h.first == nr; }) > 1)
      throw PluginError(PluginErrc::duplicate, path, "hook set '" + n + "' is already registered");
  loaded->desc = d;
  loaded->info = {name, d->version ? d->version : "", d->description ? d->description : "", path, {}, {}};
  for (auto& [id, f] : reg.protocols) {
    loaded->info.protocols.push_back(id);
    impl_->protocols.emplace(id, Entry<sdk::ProtocolFactory>{std::move(f), loaded->lib, loaded->config.get()});
  }
  for (auto& [n, f] : reg.hook_sets) {
    loaded->info.hook_sets.push_back(n);
    impl_->hook_sets.emplace(n, Entry<sdk::HookSetFactory>{std::move(f), loaded->lib, loaded->config.get()});
  }
  impl_->infos.push_back(loaded->info);
  impl_->loaded.push_back(std::move(loaded));
  return impl_->infos.back();  // a copy
}

void PluginManager::add_protocol(std::string id, sdk::ProtocolFactory factory) {
  if (has_protocol(id)) throw PluginError(PluginErrc::duplicate, "(in-process)", "protocol id '" + id + "' is already registered");
  impl_->protocols.emplace(std::move(id), Entry<sdk::ProtocolFactory>{std::move(factory), nullptr, &impl_->empty_config});
}

void PluginManager::add_hook_set(std::string name, sdk::HookSetFactory factory) {
  if (has_hook_set(name)) throw PluginError(PluginErrc::duplicate, "(in-process)", "hook set '" + name + "' is already registered");
  impl_->hook_sets.emplace(std::move(name), Entry<sdk::HookSetFactory>{std::move(factory), nullptr, &impl_->empty_config});
}

bool PluginManager::has_protocol(std::string_view id) const { return impl_->protocols.count(id) != 0; }
bool PluginManager::has_hook_set(std::string_view name) const { return impl_->hook_sets.count(name) != 0; }

std::vector<std::string> PluginManager::protocol_ids() const {
  std::vector<std::string> out;
  for (const auto& [id, e] : impl_->protocols) out.push_back(id);
  return out;
}

std::vector<std::string> PluginManager::hook_set_names() const {
  std::vector<std::string> out;
  for (const auto& [n, e] : impl_->hook_sets) out.push_back(n);
  return out;
}

const std::vector<PluginInfo>& PluginManager::plugins() const noexcept { return impl_->infos; }

const sdk::PluginConfig& PluginManager::protocol_config(std::string_view id) const {
  return *impl_->protocols.at(std::string(id)).config;
}

const sdk::PluginConfig& PluginManager::hook_set_config(std::string_view name) const {
  return *impl_->hook_sets.at(std::string(name)).config;
}

std::shared_ptr<sdk::Protocol> PluginManager::create_protocol(std::string_view id, sdk::ProtocolHost& host) const {
  const auto& e = impl_->protocols.at(std::string(id));
  std::unique_ptr<sdk::Protocol> p;
  try {
    p = e.factory(host);
  } catch (...) {  // factories should be noexcept; a throwing one counts as a refusal
    return nullptr;
  }
  if (!p) return nullptr;
  Library lib = e.lib;  // the deleter keeps the library loaded while the object lives
  return std::shared_ptr<sdk::Protocol>(p.release(), [lib](sdk::Protocol* q) { delete q; });
}

std::shared_ptr<sdk::HookSet> PluginManager::create_hook_set(std::string_view name, sdk::HookSetHost& host) const {
  const auto& e = impl_->hook_sets.at(std::string(name));
  std::unique_ptr<sdk::HookSet> h;
  try {
    h = e.factory(host);
  } catch (...) {
    return nullptr;
  }
  if (!h) return nullptr;
  Library lib = e.lib;
  return std::shared_ptr<sdk::HookSet>(h.release(), [lib](sdk::HookSet* q) { delete q; });
}

}  // namespace cluster
