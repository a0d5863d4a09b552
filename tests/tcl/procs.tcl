# Child tclsh processes for examples.test and interop.test: started with a wrapper script,
# their output collected line by line, stopped (killed) at the end of the test.
namespace eval ::proc {
  variable out
  array set out {}
}

# Starts `tclsh script ?args?` as `name`; TCLLIBPATH and LD_PRELOAD are inherited.
proc ::proc::start {name script args} {
  variable out
  set out($name) {}
  set ch [open |[list [info nameofexecutable] $script {*}$args 2>@1] r]
  fconfigure $ch -blocking 0 -buffering line
  fileevent $ch readable [list ::proc::read $name $ch]
  set ::proc::chan($name) $ch
  return $ch
}

proc ::proc::read {name ch} {
  variable out
  while {[gets $ch line] >= 0} { lappend out($name) $line }
  if {[eof $ch]} { fileevent $ch readable {} }
}

proc ::proc::lines {name} { variable out; return $out($name) }

# Whether a line of `name` matches the glob pattern.
proc ::proc::saw {name pattern} {
  variable out
  expr {[lsearch -glob $out($name) $pattern] >= 0}
}

proc ::proc::stop {args} {
  foreach name $args {
    if {![info exists ::proc::chan($name)]} continue
    set ch $::proc::chan($name)
    unset ::proc::chan($name)
    foreach p [pid $ch] { catch {exec kill $p} }
    catch {close $ch}
  }
}
