#include "cli_args.hpp"

#include <algorithm>
#include <cstdint>

#include "cluster/sdk/text.hpp"

namespace clusterctl {

std::string Args::value(const std::string& name, const std::string& fallback) const {
  auto it = options.find(name);
  return it == options.end() || it->second.empty() ? fallback : it->second.back();
}

std::vector<std::string> Args::values(const std::string& name) const {
  auto it = options.find(name);
  return it == options.end() ? std::vector<std::string>{} : it->second;
}

std::uint64_t Args::number(const std::string& name, std::uint64_t fallback, std::uint64_t min,
                           std::uint64_t max) const {
  if (!has(name)) return fallback;
  const std::string v = value(name);
  const auto parsed = cluster::sdk::text::parse_uint(v, max);
  const std::uint64_t n = parsed.value_or(0);
  if (!parsed || n < min)
    throw UsageError("--" + name + " wants a number from " + std::to_string(min) + " to " + std::to_string(max) +
                     ", not '" + v + "'");
  return n;
}

namespace {

bool is_option(const std::string& a) { return a.size() > 2 && a.compare(0, 2, "--") == 0; }

}  // namespace

Args parse_args(const std::vector<std::string>& args, std::size_t from, const std::vector<OptionSpec>& specs,
                bool stop_at_positional, std::size_t* stopped) {
  Args out;
  if (stopped != nullptr) *stopped = args.size();
  for (std::size_t i = from; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      out.positional.insert(out.positional.end(), args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    if (!is_option(a)) {
      if (stop_at_positional) {
        if (stopped != nullptr) *stopped = i;
        return out;
      }
      out.positional.push_back(a);
      continue;
    }
    const auto eq = a.find('=');
    const std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    auto spec = std::find_if(specs.begin(), specs.end(), [&](const OptionSpec& s) { return s.name == name; });
    if (spec == specs.end()) throw UsageError("unknown option --" + name);
    auto& vals = out.options[name];
    if (spec->kind == OptionSpec::flag) {
      if (eq != std::string::npos) throw UsageError("--" + name + " takes no value");
      continue;
    }
    if (eq != std::string::npos) {
      vals.push_back(a.substr(eq + 1));
      continue;
    }
    if (spec->kind == OptionSpec::value) {
      if (i + 1 >= args.size()) throw UsageError("--" + name + " needs a value");
      vals.push_back(args[++i]);
      continue;
    }
    const std::size_t before = vals.size();
    while (i + 1 < args.size() && !is_option(args[i + 1]) && args[i + 1] != "--") vals.push_back(args[++i]);
    if (vals.size() == before) throw UsageError("--" + name + " needs at least one value");
  }
  return out;
}

}  // namespace clusterctl
