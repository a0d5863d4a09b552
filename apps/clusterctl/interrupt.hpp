// SIGINT/SIGTERM as a flag, so clusterctl can stop a watch (exit 0) or leave a joined cluster
// gracefully instead of dying.
#pragma once

namespace clusterctl {

/// Installs the handlers (without SA_RESTART: blocking calls return EINTR).
void install_interrupt_handlers();
bool interrupted() noexcept;
/// For tests: sets or clears the flag.
void set_interrupted(bool value) noexcept;

}  // namespace clusterctl
