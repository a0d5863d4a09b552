# node.tcl on our binding. The harness's one addition: the hid both members share (the original
# reads it from eth0, which a test namespace lacks).
fconfigure stdout -buffering line
package require cluster 2.0
rename ::cluster::join ::cluster::join_with_system_hid
proc ::cluster::join {args} { ::cluster::join_with_system_hid -hid $::env(INTEROP_HID) {*}$args }
source [file join [file dirname [info script]] node.tcl]
