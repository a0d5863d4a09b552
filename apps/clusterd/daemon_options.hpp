// clusterd's command line: the options, their help, and a check of argv before the daemon
// starts (so usage errors print one line and exit 64, even with --daemon).
#pragma once

#include <Poco/Util/OptionSet.h>

#include <iosfwd>
#include <stdexcept>
#include <string>

namespace clusterd {

/// A bad command line; what() is the one-line reason.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CommandLine {
  std::string config;    ///< --config, made absolute (the daemon changes to / when detaching)
  std::string pidfile;   ///< --pidfile, absolute
  bool daemon = false;   ///< --daemon
  bool help = false;     ///< --help
};

/// Adds clusterd's own options (--config, --help). ServerApplication adds --daemon, --pidfile.
void define_options(Poco::Util::OptionSet& options);
/// The whole option set, including ServerApplication's --daemon and --pidfile.
Poco::Util::OptionSet all_options();

/// Parses argv with the same option set the daemon uses. Throws UsageError.
CommandLine parse_command_line(int argc, char** argv);

/// An absolute, normalized form of a path given on the command line.
std::string absolute_path(const std::string& path);

void print_help(std::ostream& out, const std::string& command);

}  // namespace clusterd
