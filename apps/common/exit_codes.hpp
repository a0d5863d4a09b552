// Exit codes of the operator tools (documented in docs/cli.md).
#pragma once

namespace clusterapp {

/// clusterd: the sysexits.h values, so service managers can tell failures apart.
namespace daemon_exit {
inline constexpr int ok = 0;
inline constexpr int usage = 64;        ///< EX_USAGE: bad command line
inline constexpr int unavailable = 69;  ///< EX_UNAVAILABLE: cannot join (a protocol failed to start)
inline constexpr int software = 70;     ///< EX_SOFTWARE: internal error
inline constexpr int oserr = 71;        ///< EX_OSERR: fork/chdir failed while daemonizing
inline constexpr int cantcreat = 73;    ///< EX_CANTCREAT: control socket, pid file or log file
inline constexpr int config = 78;       ///< EX_CONFIG: bad configuration, plugin errors
}  // namespace daemon_exit

/// clusterctl.
namespace ctl_exit {
inline constexpr int ok = 0;
inline constexpr int failed = 1;       ///< the command failed, or nobody answered / was reached
inline constexpr int usage = 2;        ///< bad command line
inline constexpr int unreachable = 3;  ///< cannot reach the daemon (or join the cluster)
}  // namespace ctl_exit

}  // namespace clusterapp
