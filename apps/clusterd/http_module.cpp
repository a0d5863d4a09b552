#include "http_module.hpp"  // first: it sets BOOST_DLL_USE_STD_FS

#include <dlfcn.h>

#include <boost/dll/runtime_symbol_info.hpp>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "cluster/plugin_manager.hpp"

namespace clusterd {

namespace {

// Beside clusterd (a build tree), then <dir of libcluster>/cluster/ (an installed tree, the
// way the core finds its plugins).
std::vector<std::filesystem::path> module_places() {
  std::vector<std::filesystem::path> places;
  boost::dll::fs::error_code ec;
  const auto exe = boost::dll::program_location(ec);
  if (!ec) places.push_back(exe.parent_path() / kHttpModuleFile);
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&cluster::plugin_errc_name), &info) != 0 && info.dli_fname != nullptr)
    places.push_back(std::filesystem::path(info.dli_fname).parent_path() / "cluster" / kHttpModuleFile);
  return places;
}

}  // namespace

HttpModule::HttpModule() {
  std::string tried;
  for (const auto& place : module_places()) {
    std::error_code exists;
    if (!std::filesystem::exists(place, exists)) {
      tried += "; " + place.string() + ": no such file";
      continue;
    }
    try {
      library_.load(place.string(), boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    } catch (const std::exception& e) {
      tried += "; " + place.string() + ": " + e.what();
      continue;
    }
    if (!library_.has(kHttpStartSymbol) || !library_.has(kHttpBuildSymbol)) {
      tried += "; " + place.string() + ": not clusterd's HTTP module";
      library_.unload();
      continue;
    }
    const std::string build = library_.get<HttpBuildFunction>(kHttpBuildSymbol)();
    if (build != kHttpBuild) {
      tried += "; " + place.string() + ": from another build ('" + build + "', clusterd is '" + kHttpBuild + "')";
      library_.unload();
      continue;
    }
    path_ = place.string();
    return;
  }
  if (tried.empty()) tried = "; no place to look (neither clusterd's nor libcluster's path is known)";
  throw std::runtime_error(std::string("cannot load ") + kHttpModuleFile + " for [metrics]/[http]: " + tried.substr(2));
}

std::unique_ptr<HttpEndpoint> HttpModule::start(const HttpStart& s, const std::string& listen_as_written) {
  std::string error;
  std::unique_ptr<HttpEndpoint> endpoint(library_.get<HttpStartFunction>(kHttpStartSymbol)(s, error));
  if (!endpoint) throw std::runtime_error("listen = " + listen_as_written + ": " + error);
  return endpoint;
}

}  // namespace clusterd
