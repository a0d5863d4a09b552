# One script for both packages (interop.test runs it on the original and on our binding):
#   tclsh node.tcl TAG OTHER_TAG
# joins with -tags TAG, answers queries with "answer-from-TAG", reports discoveries, queries the
# member tagged OTHER_TAG after 3 s and exits after 9 s. Only the seed's documented API.
package require cluster

set tag [lindex $argv 0]
set other [lindex $argv 1]
set cluster [cluster join -tags [list $tag] -heartbeat 1000]

$cluster hook query { return "answer-from-[lindex [$cluster tags] 0]" }
$cluster hook service discovered { puts "DISCOVERED [$service tags]" }

proc QueryResponse {event} {
  lassign $event action query
  switch -- $action {
    response { puts "RESPONSE [$query result]"; return [$query result] }
    done { puts "DONE" }
  }
}

after 3000 { $::cluster query -collect -resolve $::other -command QueryResponse -query hello -timeout 3000 }
after 9000 { exit 0 }
vwait forever
