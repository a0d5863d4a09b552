#!/usr/bin/env tclsh
# A live member of a tcl-cluster, running the ORIGINAL implementation.
#
#   TCL_CLUSTER_SRC=/path/to/tcl-cluster \
#     tclsh interop/tclnode.tcl -tags {a b} -answer VALUE -run SECONDS ?options?
#
# Options
#   -tags LIST          tags advertised by this member            (default {})
#   -answer VALUE       answer returned to every query            (default answer-from-<sid>)
#   -eval 0|1           1: evaluate the query text in a safe interp with a tiny
#                       command set instead of answering VALUE; a failing
#                       query is answered with the `error` field
#   -run SECONDS        exit (gracefully: disconnect is broadcast) after SECONDS (default 10)
#   -query-after SECS   after SECS send a query to all other known members and
#                       print QUERY-RESULT lines                  (default: never)
#   -query TEXT         query text                                (default ping)
#   -query-timeout MS   query timeout                             (default 3000)
#   -event-after SECS   after SECS send an event to all other known members
#   -event DATA         event data                                (default hello-from-<sid>)
#   -event-size N       event data of N bytes instead (x...x, N >= 1)
#   -event-count N      send N events, numbered "#<i> " + data from 1 (default 1: no number)
#   -event-gap MS       milliseconds between those events          (default 0); a blocking
#                       wait (`after MS`): the event loop does not run in between, as when an
#                       application sends several events from one handler
#   -event-broadcast 0|1  1: send the event as ONE filtered multicast (-broadcast 1), as the
#                       original does for more than 3 targets; over 4096 bytes tcl-udp splits
#                       it into 4096-byte datagrams
#   -protocols LIST     protocols (the original appends c)       (default {t c})
#   -heartbeat MS       heartbeat interval; default is the original's random
#                       110000-140000 ms chosen once at package load
#   -ttl SECONDS        forget members not heard from for SECONDS (original
#                       default 600; checked only when our own heartbeat fires)
#   -disconnect 0|1     1: broadcast a type-0 disconnect before leaving.  The
#                       original destructor tries to but fails silently (it
#                       calls [disconnect_payload] without [my]), so by default
#                       peers only notice our departure via ttl.
#   -hid HWADDR         override the hardware id (the original reads
#                       /sys/class/net/eth0/address); all members of one
#                       "local" cluster MUST have the same hid
#   -verbose 0|1        print one TX/RX line per packet
#   -wirelog FILE       append one JSON line per encoded (tx) / received (rx)
#                       packet with its full hex; for rx, payload_tcl is what the
#                       original decode returned ("" = dropped: own echo or
#                       filter mismatch)
#
# Output lines (stdout, t= seconds since start):
#   JOINED <sid>@<hid> tags=... protocols=... tcp_port=N heartbeat_ms=N t=...
#   DISCOVERED <sid>@<hid> tags={..} protocols={..} props={..} t=...
#   LOST <sid>@<hid> t=...
#   EVENT <sid>@<hid> data={..} t=...
#   QUERY-IN <sid>@<hid> query={..} answer={..} t=...
#   QUERY-RESULT <sid>@<hid> event=response|error data={..} t=...
#   QUERY-DONE answered=N remaining=N t=...   /  QUERY-NONE (no members known)
#   LOST ... reason=remote|local-shutdown (our own exit destroys our service objects)
#   TX-BCAST / RX lines with -verbose 1
#   STATS {...}  packet counters
#   EXIT t=...

set here [file dirname [file normalize [info script]]]
source [file join $here lib common.tcl]
interop::setup

namespace eval ::node {
  variable t0 [clock milliseconds]
  variable opt [dict create \
    -tags {} -answer {} -eval 0 -run 10 -query-after {} -query ping \
    -query-timeout 3000 -event-after {} -event {} -event-size {} -event-count 1 -event-gap 0 \
    -event-broadcast 0 -protocols {t c} \
    -heartbeat {} -ttl {} -disconnect 0 -hid {} -verbose 0 -wirelog {}]
  variable cluster {}
  variable wirefh {}
  variable stats [dict create tx_encoded 0 rx_raw 0 rx_accepted_c 0 rx_accepted_t 0 tx_bcast_hook 0]
  variable shutting_down 0
}

if {[llength $argv] % 2} { puts stderr "options come in -name value pairs"; exit 2 }
foreach {k v} $argv {
  if {![dict exists $::node::opt $k]} {
    puts stderr "unknown option $k (known: [dict keys $::node::opt])"; exit 2
  }
  dict set ::node::opt $k $v
}
proc ::node::o {k} { variable opt; dict get $opt $k }

proc ::node::t {} {
  variable t0
  format %.3f [expr {([clock milliseconds] - $t0) / 1000.0}]
}
proc ::node::say {line} {
  puts "$line t=[t]"
  flush stdout
}

# errors reported by the original code go through ::onError; define it before
# the package is loaded so packet.tcl keeps ours.
proc ::onError {result options args} {
  ::node::say "ERROR [list $result] context=[list [lindex $args 0]]"
}

package require cluster

# ---- optional runtime wrappers (our harness; original files untouched) -----
if {[::node::o -hid] ne {}} {
  proc ::cluster::hwaddr {{iface {}}} { ::node::o -hid }
} elseif {![file exists /sys/class/net/eth0/address]} {
  puts stderr "/sys/class/net/eth0/address is missing (the original reads the hid from it); pass -hid 02:00:00:00:00:01 or similar"
  exit 2
}

if {[::node::o -wirelog] ne {}} {
  set ::node::wirefh [open [::node::o -wirelog] a]
  fconfigure $::node::wirefh -translation lf -encoding ascii
}
# count (and optionally log) every packet the original encodes / decodes
if 1 {
  rename ::cluster::packet::encode ::cluster::packet::interop_orig_encode
  proc ::cluster::packet::encode {payload} {
    set bytes [::cluster::packet::interop_orig_encode $payload]
    ::node::wire tx $bytes $payload
    return $bytes
  }
  rename ::cluster::packet::decode ::cluster::packet::interop_orig_decode
  proc ::cluster::packet::decode {packet {cluster {}}} {
    set res [::cluster::packet::interop_orig_decode $packet $cluster]
    ::node::wire rx $packet $res
    return $res
  }
}
proc ::node::wire {dir bytes payload} {
  variable wirefh
  variable cluster
  variable stats
  dict incr stats [expr {$dir eq "tx" ? "tx_encoded" : "rx_raw"}]
  if {$wirefh eq {}} { return }
  set own {}
  catch { set own [$cluster sid] }
  if {$own eq {} && $dir eq "tx"} { catch { set own [dict get $payload sid] } }
  puts $wirefh [::interop::json::obj \
    dir [::interop::json::str $dir] \
    node [::interop::json::str $own] \
    t [t] \
    epoch_ms [clock milliseconds] \
    hex [::interop::json::str [binary encode hex $bytes]] \
    payload_tcl [::interop::json::str $payload]]
  flush $wirefh
}

# ---- safe query evaluation ---------------------------------------------------
proc ::node::safe_eval {script} {
  set i [interp create -safe]
  try {
    set allowed {expr string list lindex llength lrange join split concat
                 format set incr lsort lappend if foreach return}
    interp limit $i command -value [expr {[$i eval {info cmdcount}] + 10000}]
    interp limit $i time -seconds [expr {[clock seconds] + 2}]
    foreach c [$i eval {info commands}] {
      if {$c ni $allowed} { interp hide $i $c }
    }
    return [$i eval $script]
  } finally {
    interp delete $i
  }
}

# ---- hook targets --------------------------------------------------------------
proc ::node::desc {service} {
  return "[$service sid]@[$service hid]"
}
proc ::node::discovered {service} {
  set props [$service props]
  if {[string length $props] > 120} { set props "[string range $props 0 119]..." }
  say "DISCOVERED [desc $service] tags=[list [$service tags]] protocols=[list [$service protocols]] props=[list $props] ip=[$service ip]"
}
proc ::node::lost {service} {
  variable shutting_down
  set why [expr {$shutting_down ? "local-shutdown" : "remote"}]
  say "LOST [desc $service] tags=[list [$service tags]] reason=$why"
}
proc ::node::event {service payload} {
  set data {}
  if {[dict exists $payload data]} { set data [dict get $payload data] }
  if {[string length $data] > 120} { set data "[string range $data 0 119]...([string length $data] bytes)" }
  say "EVENT [desc $service] data=[list $data]"
}
proc ::node::answer {service payload} {
  set q {}
  if {[dict exists $payload data]} { set q [dict get $payload data] }
  if {[::node::o -eval]} {
    if {[catch {safe_eval $q} res]} {
      say "QUERY-IN [desc $service] query=[list $q] error=[list $res]"
      # an error raised here becomes the `error` field of the response
      return -code error $res
    }
  } else {
    set res [::node::o -answer]
    if {$res eq {}} { set res "answer-from-[$::node::cluster sid]" }
  }
  say "QUERY-IN [desc $service] query=[list $q] answer=[list $res]"
  return $res
}
proc ::node::rx {protocol payload} {
  variable stats
  dict incr stats rx_accepted_$protocol
  if {[::node::o -verbose]} {
    set p $payload
    foreach k {hid protocols} { dict unset p $k }
    say "RX proto=$protocol [list $p]"
  }
}
proc ::node::bcast {payload} {
  variable stats
  dict incr stats tx_bcast_hook
  if {[::node::o -verbose]} {
    set p $payload
    foreach k {hid protocols} { dict unset p $k }
    say "TX-BCAST [list $p]"
  }
}

# ---- query / event senders ----------------------------------------------------
proc ::node::on_query {evq} {
  # the original passes "$event $query" as ONE argument
  lassign $evq event query
  switch -- $event {
    response - error {
      set svc [$query service]
      set p [$query payload]
      if {$event eq "error"} {
        set data [dict get $p error]
      } else {
        set data [$query result]
      }
      say "QUERY-RESULT [desc $svc] event=$event data=[list $data] ruid=[dict get $p ruid]"
    }
    timeout {
      say "QUERY-TIMEOUT remaining=[llength [$query remaining]]"
    }
    done {
      set answered 0
      catch { set answered [dict size [$query payloads]] }
      say "QUERY-DONE answered=$answered remaining=[llength [$query remaining]]"
    }
  }
}
proc ::node::send_query {} {
  variable cluster
  set n [llength [$cluster services]]
  if {$n == 0} { say "QUERY-NONE no members known"; return }
  say "QUERY-SEND to=$n query=[list [::node::o -query]]"
  set q [$cluster query -resolve {} -query [::node::o -query] \
           -timeout [::node::o -query-timeout] -collect -command ::node::on_query]
  if {$q eq {}} { say "QUERY-NONE query could not be created" }
}
proc ::node::send_event {} {
  variable cluster
  set n [llength [$cluster services]]
  if {$n == 0} { say "EVENT-NONE no members known"; return }
  set count [::node::o -event-count]
  for {set i 1} {$i <= $count} {incr i} {
    if {$i > 1} { after [::node::o -event-gap] }
    send_one_event $n $i $count
  }
}
proc ::node::send_one_event {n i count} {
  variable cluster
  set data [::node::o -event]
  if {[::node::o -event-size] ne {}} {
    set data [string repeat x [::node::o -event-size]]
  } elseif {$data eq {}} {
    set data "hello-from-[$cluster sid]"
  }
  if {$count != 1} { set data "#$i $data" }
  set shown $data
  if {[string length $shown] > 120} { set shown "[string range $shown 0 119]...([string length $data] bytes)" }
  say "EVENT-SEND to=$n data=[list $shown]"
  set args [list -resolve {} -data $data]
  if {[::node::o -event-broadcast]} { lappend args -broadcast 1 }
  $cluster send {*}$args
}

proc ::node::finish {} {
  variable cluster
  variable stats
  variable shutting_down
  say "STATS [list $stats]"
  if {[o -disconnect]} {
    # what the original destructor means to do (it fails there, see -disconnect)
    $cluster broadcast [$cluster disconnect_payload]
    say "DISCONNECT-SENT"
  }
  set shutting_down 1
  catch { $cluster destroy }
  after 300 {
    ::node::say "EXIT"
    exit 0
  }
}

# ---- join ---------------------------------------------------------------------
set joinargs [list -tags [::node::o -tags] -protocols [::node::o -protocols]]
if {[::node::o -heartbeat] ne {}} { lappend joinargs -heartbeat [::node::o -heartbeat] }
if {[::node::o -ttl] ne {}} { lappend joinargs -ttl [::node::o -ttl] }
set ::node::cluster [cluster join {*}$joinargs]
set C $::node::cluster

$C hook service discovered { ::node::discovered $service }
$C hook service lost       { ::node::lost $service }
$C hook event              { ::node::event $service $payload }
$C hook query              { ::node::answer $service $payload }
$C hook evaluate receive   { ::node::rx $protocol $payload }
$C hook broadcast          { ::node::bcast $payload }

set tport {}
catch { set tport [dict get [[$C protocol t] props] port] }
::node::say "JOINED [$C uuid] tags=[list [$C tags]] protocols=[list [$C protocols]] tcp_port=$tport heartbeat_ms=[$C config heartbeat]"

if {[::node::o -query-after] ne {}} {
  after [expr {int([::node::o -query-after] * 1000)}] ::node::send_query
}
if {[::node::o -event-after] ne {}} {
  after [expr {int([::node::o -event-after] * 1000)}] ::node::send_event
}
after [expr {int([::node::o -run] * 1000)}] ::node::finish
vwait forever
