#include "loop_driver.hpp"

#include <chrono>
#include <thread>

namespace cluster::tclbind {

namespace {
// The longest the timer sleeps without a deadline: a safety net only (the descriptor wakes us
// for everything but timers).
constexpr std::chrono::milliseconds kIdleCap{1000};
}  // namespace

LoopDriver::LoopDriver(EventLoop& loop, Turn turn, void* owner) : loop_(loop), turn_(turn), owner_(owner) {
  loop_.set_owner(std::this_thread::get_id());
  resume();
  rearm();
}

LoopDriver::~LoopDriver() { stop(); }

void LoopDriver::rearm() {
  if (stopped_) return;
  if (timer_ != nullptr) Tcl_DeleteTimerHandler(timer_);
  timer_ = Tcl_CreateTimerHandler(static_cast<int>(loop_.next_timeout(kIdleCap).count()), on_timer, this);
}

void LoopDriver::suspend() {
  if (!watching_) return;
  Tcl_DeleteFileHandler(loop_.descriptor());
  watching_ = false;
}

void LoopDriver::resume() {
  if (watching_ || stopped_) return;
  Tcl_CreateFileHandler(loop_.descriptor(), TCL_READABLE, on_readable, this);
  watching_ = true;
}

void LoopDriver::stop() {
  suspend();
  if (timer_ != nullptr) Tcl_DeleteTimerHandler(timer_);
  timer_ = nullptr;
  stopped_ = true;
}

// Both copy what they need first: the turn may free the driver.
void LoopDriver::on_readable(ClientData data, int) {
  auto* self = static_cast<LoopDriver*>(data);
  self->turn_(self->owner_);
}

void LoopDriver::on_timer(ClientData data) {
  auto* self = static_cast<LoopDriver*>(data);
  self->timer_ = nullptr;  // fired: the token is spent
  self->turn_(self->owner_);
}

}  // namespace cluster::tclbind
