# The Tcl binding's test suite (docs/tcl.md, docs/testing.md): every *.test file here, sourced
# into one interpreter. tcltest's own all.tcl exits 0 whatever failed; this one exits 1 when a
# test failed, so ctest sees it. Usage: tclsh all.tcl ?-file pattern? ?tcltest options...?
package require tcltest 2.5
namespace import ::tcltest::*
set dir [file dirname [file normalize [info script]]]
set pattern *.test
if {[lindex $argv 0] eq "-file"} {
  set pattern [lindex $argv 1]
  set argv [lrange $argv 2 end]
}
configure -verbose {body error skip} {*}$argv
set ::tcltest::testsDirectory $dir
foreach f [lsort [glob -directory $dir $pattern]] {
  puts "== [file tail $f]"
  if {[catch {uplevel #0 [list source $f]} msg]} {
    puts "ERROR sourcing $f: $msg\n$::errorInfo"
    incr ::tcltest::numTests(Failed)
  }
}
set failed $::tcltest::numTests(Failed)
set total $::tcltest::numTests(Total)
cleanupTests
puts "all.tcl: $total tests, $failed failed"
exit [expr {$failed > 0 || $total == 0}]
