// The plugin entry point. A plugin .so exports exactly one symbol, cluster_plugin_descriptor,
// returning a plain descriptor the host checks (ABI, size, build key) before any C++ call.
// Inside init the plugin registers its protocols, hook sets, discoveries and failure detectors; nothing runs in static
// constructors. Write it with CLUSTER_PLUGIN(...) below.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <string>

#include "cluster/sdk/config.hpp"
#include "cluster/sdk/discovery.hpp"
#include "cluster/sdk/failure_detector.hpp"
#include "cluster/sdk/hooks.hpp"
#include "cluster/sdk/protocol.hpp"
#include "cluster/sdk/sealer.hpp"

namespace cluster::sdk {

/// Another major is refused; a newer minor than the host's is refused (OBS rule).
inline constexpr std::uint32_t kAbiMajor = 1;
inline constexpr std::uint32_t kAbiMinor = 6;

#if defined(__SANITIZE_ADDRESS__)
#define CLUSTER_SDK_ASAN "+asan"
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CLUSTER_SDK_ASAN "+asan"
#endif
#endif
#ifndef CLUSTER_SDK_ASAN
#define CLUSTER_SDK_ASAN ""
#endif
#define CLUSTER_SDK_STR2(x) #x
#define CLUSTER_SDK_STR(x) CLUSTER_SDK_STR2(x)
/// What must match between host and plugin for C++ types (std::string, std::function) to be
/// shared: the standard library, its ABI flavour, and whether AddressSanitizer is on.
#define CLUSTER_SDK_BUILD_KEY                                                            \
  "sdk1;libstdc++" CLUSTER_SDK_STR(_GLIBCXX_RELEASE) ";cxx11abi=" CLUSTER_SDK_STR( \
      _GLIBCXX_USE_CXX11_ABI) CLUSTER_SDK_ASAN

using ProtocolFactory = std::function<std::unique_ptr<Protocol>(ProtocolHost&)>;
using HookSetFactory = std::function<std::unique_ptr<HookSet>(HookSetHost&)>;

/// Handed to a plugin's init: register what the plugin offers.
class Registrar {
 public:
  /// The plugin's validated ini section.
  virtual const PluginConfig& config() const noexcept = 0;
  virtual void log(LogLevel level, std::string_view message) noexcept = 0;
  /// Registers a protocol by id; a second protocol with an id already known fails the load.
  virtual void add_protocol(std::string id, ProtocolFactory factory) noexcept = 0;
  /// Registers a hook set by name; duplicates fail the load.
  virtual void add_hook_set(std::string name, HookSetFactory factory) noexcept = 0;
  /// Registers a discovery ([cluster] discovery = name; SDK 1.2); duplicates fail the load.
  virtual void add_discovery(std::string name, DiscoveryFactory factory) noexcept = 0;
  /// Registers a failure detector ([cluster] failure_detector = name; SDK 1.2); duplicates
  /// fail the load.
  virtual void add_failure_detector(std::string name, FailureDetectorFactory factory) noexcept = 0;
  /// Registers a packet sealer ([cluster] sealer = name; SDK 1.5, appended); duplicates fail
  /// the load.
  virtual void add_sealer(std::string name, SealerFactory factory) noexcept = 0;

 protected:
  ~Registrar() = default;
};

struct PluginDescriptor {
  std::uint32_t abi_major;
  std::uint32_t abi_minor;
  std::uint32_t struct_size;  ///< sizeof(PluginDescriptor) the plugin was built with
  const char* name;
  const char* version;
  const char* build_key;
  const char* description;
  const ConfigKey* config_keys;
  std::uint32_t config_key_count;
  /// Registers protocols/hook sets. Returns false with `error` set to refuse loading.
  bool (*init)(Registrar& registrar, std::string& error) noexcept;
  /// Called once before the library is unloaded (may be null).
  void (*shutdown)() noexcept;
  // SDK 1.2, appended: a 1.0/1.1 descriptor ends before these, and the host reads them only
  // when struct_size covers them (CLUSTER_PLUGIN sets them empty, CLUSTER_PLUGIN_RANGED fills them).
  const ConfigRange* config_ranges;  ///< ranges of integer keys (may be null with count 0)
  std::uint32_t config_range_count;
};

inline constexpr const char* kEntrySymbol = "cluster_plugin_descriptor";

/// Descriptors grow only at their end. A host accepts any struct_size from the first 1.x size up
/// to its own, and reads only the fields the plugin's size covers.
inline constexpr std::uint32_t kDescriptorSizeV1_0 = offsetof(PluginDescriptor, config_ranges);
/// SDK 1.1 did not change the descriptor.
inline constexpr std::uint32_t kDescriptorSizeV1_1 = kDescriptorSizeV1_0;
/// The first size that covers config_ranges and config_range_count.
inline constexpr std::uint32_t kDescriptorSizeV1_2 = sizeof(PluginDescriptor);

}  // namespace cluster::sdk

/// Defines the entry symbol. KEYS is a static array of cluster::sdk::ConfigKey (or nullptr
/// with COUNT 0).
#define CLUSTER_PLUGIN(NAME, VERSION, DESCRIPTION, KEYS, COUNT, INIT, SHUTDOWN)              \
  extern "C" __attribute__((visibility("default"))) const ::cluster::sdk::PluginDescriptor* \
  cluster_plugin_descriptor() noexcept {                                                     \
    static const ::cluster::sdk::PluginDescriptor d{                                         \
        ::cluster::sdk::kAbiMajor, ::cluster::sdk::kAbiMinor,                                \
        sizeof(::cluster::sdk::PluginDescriptor), NAME, VERSION, CLUSTER_SDK_BUILD_KEY,       \
        DESCRIPTION, KEYS, COUNT, INIT, SHUTDOWN, nullptr, 0};                               \
    return &d;                                                                               \
  }

/// CLUSTER_PLUGIN plus RANGES, a static array of cluster::sdk::ConfigRange for integer keys of
/// KEYS (SDK 1.2; see ConfigRange in config.hpp).
#define CLUSTER_PLUGIN_RANGED(NAME, VERSION, DESCRIPTION, KEYS, COUNT, RANGES, RANGE_COUNT, INIT, SHUTDOWN) \
  extern "C" __attribute__((visibility("default"))) const ::cluster::sdk::PluginDescriptor*             \
  cluster_plugin_descriptor() noexcept {                                                                 \
    static const ::cluster::sdk::PluginDescriptor d{                                                     \
        ::cluster::sdk::kAbiMajor, ::cluster::sdk::kAbiMinor,                                            \
        sizeof(::cluster::sdk::PluginDescriptor), NAME, VERSION, CLUSTER_SDK_BUILD_KEY,                   \
        DESCRIPTION, KEYS, COUNT, INIT, SHUTDOWN, RANGES, RANGE_COUNT};                                  \
    return &d;                                                                                           \
  }
