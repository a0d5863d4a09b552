# tclsh run-example.tcl EXAMPLE: runs a seed example as it is, with stdout flushed per line (the
# test reads it through a pipe, and the example never exits: it is killed at the end).
fconfigure stdout -buffering line
set argv0 [lindex $argv 0]
set argv [lrange $argv 1 end]
source $argv0
