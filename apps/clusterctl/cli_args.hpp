// A small command-line parser for clusterctl: --name, --name VALUE, --name=VALUE and
// --name V1 V2 ... (a list runs until the next --option).
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace clusterctl {

/// A bad command line; what() is the one-line reason. Exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct OptionSpec {
  enum Kind { flag, value, list };
  std::string name;  ///< without the leading "--"
  Kind kind = flag;
};

struct Args {
  std::map<std::string, std::vector<std::string>> options;  ///< flags map to an empty list
  std::vector<std::string> positional;

  bool has(const std::string& name) const { return options.count(name) != 0; }
  /// The option's (last) value, or `fallback`.
  std::string value(const std::string& name, const std::string& fallback = {}) const;
  std::vector<std::string> values(const std::string& name) const;
  /// The value as a number in [min, max]. Throws UsageError.
  std::uint64_t number(const std::string& name, std::uint64_t fallback, std::uint64_t min,
                       std::uint64_t max) const;
};

/// Parses args[from..]. With `stop_at_positional`, stops at the first positional argument and
/// reports its index in `*stopped` (args.size() when there is none). Throws UsageError.
Args parse_args(const std::vector<std::string>& args, std::size_t from, const std::vector<OptionSpec>& specs,
                bool stop_at_positional = false, std::size_t* stopped = nullptr);

}  // namespace clusterctl
