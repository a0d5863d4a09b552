// clusterd: joins the cluster an ini file describes, logs who comes and goes, and serves the
// control socket clusterctl talks to. See docs/cli.md.
#include <Poco/Exception.h>
#include <sys/resource.h>

#include <cstring>
#include <iostream>

#include "daemon_app.hpp"
#include "exit_codes.hpp"

namespace {

// Every connection costs a descriptor and the usual soft limit (1024) is far below the hard
// one: take what we may. The transports keep reserved_fds of it free (docs/transports.md).
void raise_nofile_limit() noexcept {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

int main(int argc, char** argv) {
  namespace code = clusterapp::daemon_exit;
  // Poco's option errors would be logged to nowhere and exit 78: check the command line first
  // with the same option set, and report usage errors as one line, exit 64.
  clusterd::CommandLine cl;
  try {
    cl = clusterd::parse_command_line(argc, argv);
  } catch (const clusterd::UsageError& e) {
    std::cerr << "clusterd: " << e.what() << "\n";
    return code::usage;
  }
  if (cl.help) {
    const char* slash = std::strrchr(argv[0], '/');
    clusterd::print_help(std::cout, slash != nullptr ? slash + 1 : argv[0]);
    return code::ok;
  }
  // Poco detaches before the daemon reads anything, and then stderr is /dev/null.
  if (cl.daemon)
    if (const int rc = clusterd::Daemon::preflight(cl, std::cerr); rc != code::ok) return rc;
  raise_nofile_limit();
  try {
    clusterd::Daemon app;
    return app.run(argc, argv);
  } catch (const Poco::Exception& e) {
    std::cerr << "clusterd: " << e.displayText() << "\n";
    return code::software;
  } catch (const std::exception& e) {
    std::cerr << "clusterd: " << e.what() << "\n";
    return code::software;
  }
}
