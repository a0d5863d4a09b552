# Shared by the *.test files: the package, bounded waits, members on a fast profile.
package require cluster 2.0

namespace eval ::t {
  variable port 23500  ;# each test's members use a port of their own (no cross-talk)
}

# Runs the event loop until `cond` (an expression, evaluated at global level) holds or `ms`
# pass; returns whether it held. Every wait of the suite is bounded by it.
proc ::t::wait_until {cond {ms 8000}} {
  set deadline [expr {[clock milliseconds] + $ms}]
  while {![uplevel #0 [list expr $cond]]} {
    if {[clock milliseconds] >= $deadline} { return 0 }
    after 20 [list set ::t::tick 1]
    vwait ::t::tick
  }
  return 1
}

# Lets the event loop run for `ms`.
proc ::t::pause {ms} {
  after $ms [list set ::t::paused 1]
  vwait ::t::paused
}

# A fresh port for the next group of members.
proc ::t::next_port {} { variable port; incr port }

# A member on the current port, fast heartbeats.
proc ::t::member {args} {
  variable port
  cluster join -port $port -heartbeat 500 -ttl 5 {*}$args
}

# Destroys clusters that exist (test cleanup).
proc ::t::gone {args} {
  foreach c $args {
    if {$c ne {} && [info commands $c] ne {}} { rename $c {} }
  }
}
