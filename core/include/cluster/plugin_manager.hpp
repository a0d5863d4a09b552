// Loads plugin .so files with Boost.DLL and keeps their protocol and hook-set factories.
// Every failure is a PluginError naming the plugin path; a bad plugin never takes the host down.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/export.hpp"
#include "cluster/ini.hpp"
#include "cluster/sdk/plugin.hpp"

namespace cluster {

enum class PluginErrc {
  file_missing,    ///< no file at the path
  open_failed,     ///< dlopen failed (not an ELF, a missing dependency, ...): dlerror text
  not_a_plugin,    ///< no cluster_plugin_descriptor symbol
  abi_mismatch,    ///< another SDK major, a newer minor, or a different descriptor size
  build_mismatch,  ///< built with another standard library / sanitizer setting
  duplicate,       ///< a protocol id, hook-set name or plugin name already registered
  init_failed,     ///< the plugin's init refused (its own message follows)
  bad_config,      ///< unknown key or invalid value in the plugin's ini section
};

CLUSTER_API std::string_view plugin_errc_name(PluginErrc e) noexcept;

class CLUSTER_API PluginError : public std::runtime_error {
 public:
  PluginError(PluginErrc code, std::string path, const std::string& message);
  PluginErrc code() const noexcept { return code_; }
  const std::string& path() const noexcept { return path_; }

 private:
  PluginErrc code_;
  std::string path_;
};

struct PluginInfo {
  std::string name, version, description, path;
  std::vector<std::string> protocols, hook_sets, discoveries, failure_detectors, sealers;
};

class CLUSTER_API PluginManager {
 public:
  PluginManager();
  ~PluginManager();  ///< shutdown() and unload, in reverse load order
  PluginManager(const PluginManager&) = delete;
  PluginManager& operator=(const PluginManager&) = delete;

  /// Loads `path`, validates `section` (may be null) against the plugin's schema and runs its
  /// init. Throws PluginError. On failure nothing of the plugin stays registered.
  PluginInfo load(const std::string& path, const IniSection* section = nullptr);
  /// The same, taking the plugin's settings from `ini`: the section named `section_name`, or,
  /// when that is empty, the section named after the plugin (its descriptor name).
  PluginInfo load(const std::string& path, const IniFile& ini, const std::string& section_name = {});

  /// Registers an in-process protocol or hook set (host apps, tests); no library involved.
  void add_protocol(std::string id, sdk::ProtocolFactory factory);
  void add_hook_set(std::string name, sdk::HookSetFactory factory);
  void add_discovery(std::string name, sdk::DiscoveryFactory factory);
  void add_failure_detector(std::string name, sdk::FailureDetectorFactory factory);
  void add_sealer(std::string name, sdk::SealerFactory factory);

  bool has_protocol(std::string_view id) const;
  bool has_hook_set(std::string_view name) const;
  bool has_discovery(std::string_view name) const;
  bool has_failure_detector(std::string_view name) const;
  bool has_sealer(std::string_view name) const;
  std::vector<std::string> protocol_ids() const;
  std::vector<std::string> hook_set_names() const;
  /// Includes the built-in "multicast" discovery and "ttl" failure detector.
  std::vector<std::string> discovery_names() const;
  std::vector<std::string> failure_detector_names() const;
  std::vector<std::string> sealer_names() const;
  const std::vector<PluginInfo>& plugins() const noexcept;
  /// The validated config of the plugin that registered protocol `id` / hook set `name`.
  const sdk::PluginConfig& protocol_config(std::string_view id) const;
  const sdk::PluginConfig& hook_set_config(std::string_view name) const;
  const sdk::PluginConfig& discovery_config(std::string_view name) const;
  const sdk::PluginConfig& failure_detector_config(std::string_view name) const;
  const sdk::PluginConfig& sealer_config(std::string_view name) const;
  /// The SDK minor the plugin of discovery `name` was built against (calls added later skip it).
  std::uint32_t discovery_abi_minor(std::string_view name) const;
  /// Same for failure detector `name` (FailureDetector::message() needs 1.4).
  std::uint32_t failure_detector_abi_minor(std::string_view name) const;
  /// Same for protocol `id` (Protocol::backlog() needs 1.6).
  std::uint32_t protocol_abi_minor(std::string_view id) const;

  /// Creates a protocol instance; the returned object keeps its library loaded. Throws
  /// PluginError(duplicate) never; std::out_of_range for an unknown id.
  std::shared_ptr<sdk::Protocol> create_protocol(std::string_view id, sdk::ProtocolHost& host) const;
  std::shared_ptr<sdk::HookSet> create_hook_set(std::string_view name, sdk::HookSetHost& host) const;
  std::shared_ptr<sdk::Discovery> create_discovery(std::string_view name, sdk::DiscoveryHost& host) const;
  std::shared_ptr<sdk::FailureDetector> create_failure_detector(std::string_view name,
                                                                sdk::FailureDetectorHost& host) const;
  std::shared_ptr<sdk::PacketSealer> create_sealer(std::string_view name, sdk::SealerHost& host) const;

 private:
  PluginInfo load_impl(const std::string& path,
                       const std::function<const IniSection*(const std::string&)>& section_for);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Validates an ini section against a schema: unknown keys and values of the wrong type are
/// refused with "file:line: ..." (ConfigError); missing keys get their defaults.
CLUSTER_API sdk::PluginConfig validate_section(const std::string& section_name,
                                               const IniSection* section,
                                               const sdk::ConfigKey* keys, std::size_t count);

}  // namespace cluster
