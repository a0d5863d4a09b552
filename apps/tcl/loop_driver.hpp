// Runs a cluster's EventLoop from Tcl's notifier, on the interpreter's thread: a Tcl file
// handler on the loop's epoll descriptor (sockets and posted work) and a Tcl timer for the loop's
// next deadline, each calling `turn` (which calls run_once(0ms)). So hooks and query callbacks
// run inside Tcl's event loop (vwait, update, after and Tk keep working) and never off its thread.
#pragma once

#include <tcl.h>

#include "cluster/event_loop.hpp"

namespace cluster::tclbind {

class LoopDriver {
 public:
  /// `turn(owner)` runs one turn; it may delete the driver (its owner is being freed).
  using Turn = void (*)(void* owner);
  LoopDriver(EventLoop& loop, Turn turn, void* owner);
  ~LoopDriver();
  LoopDriver(const LoopDriver&) = delete;
  LoopDriver& operator=(const LoopDriver&) = delete;

  /// Schedules the timer for the loop's next deadline: after every turn and after every command
  /// that may have added a timer (a query's timeout, a tags heartbeat).
  void rearm();
  /// Stops watching the descriptor (a turn is running and a hook re-entered Tcl's event loop: the
  /// loop must not run inside itself, and a readable descriptor would spin the notifier).
  void suspend();
  /// Watches it again (after the turn).
  void resume();
  /// Removes the handlers for good (the cluster is being deleted).
  void stop();

 private:
  static void on_readable(ClientData data, int mask);
  static void on_timer(ClientData data);

  EventLoop& loop_;
  Turn turn_;
  void* owner_;
  Tcl_TimerToken timer_ = nullptr;
  bool watching_ = false;
  bool stopped_ = false;
};

}  // namespace cluster::tclbind
