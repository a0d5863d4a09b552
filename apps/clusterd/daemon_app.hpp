// clusterd as a Poco::Util::ServerApplication: --daemon and --pidfile are Poco's; main() loads
// the node file, sets up logging, binds the control socket, joins, serves until SIGTERM/SIGINT,
// then leaves gracefully.
#pragma once

#include <Poco/Util/ServerApplication.h>

#include <iosfwd>
#include <string>
#include <vector>

#include "daemon_options.hpp"

namespace clusterd {

class Daemon final : public Poco::Util::ServerApplication {
 public:
  /// Checks what can be checked before detaching (config, control socket, log file, plugin
  /// files), so `--daemon` reports those errors on the terminal. Returns an exit code (0 = fine).
  static int preflight(const CommandLine& cl, std::ostream& err);

 protected:
  void defineOptions(Poco::Util::OptionSet& options) override;
  void handleOption(const std::string& name, const std::string& value) override;
  int main(const std::vector<std::string>& args) override;

 private:
  int serve();

  std::string config_;
  std::string pidfile_error_;
  bool help_ = false;
};

}  // namespace clusterd
