# node.tcl on the ORIGINAL package (TCL_CLUSTER_SRC, loaded unchanged by the interop harness's
# tests/interop/reference/lib/common.tcl). The harness's one addition: the shared hid.
fconfigure stdout -buffering line
set here [file dirname [file normalize [info script]]]
source [file join $here .. .. interop reference lib common.tcl]
interop::setup
proc ::onError {result options args} { puts "ERROR $result" }
package require -exact cluster 1.1.8
proc ::cluster::hwaddr {{iface {}}} { return $::env(INTEROP_HID) }
source [file join $here node.tcl]
