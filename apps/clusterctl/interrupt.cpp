#include "interrupt.hpp"

#include <csignal>

namespace clusterctl {

namespace {

volatile std::sig_atomic_t g_interrupted = 0;

void on_signal(int) { g_interrupted = 1; }

}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

bool interrupted() noexcept { return g_interrupted != 0; }
void set_interrupted(bool value) noexcept { g_interrupted = value ? 1 : 0; }

}  // namespace clusterctl
