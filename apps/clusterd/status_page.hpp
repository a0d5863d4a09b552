// [http]: clusterd's status page. One HTML page with its script and style inline (no CDN, works
// offline) that follows GET /events, a server-sent-events stream of snapshots (status, members,
// recent membership events) once a second. Read-only.
#pragma once

#include <string>

#include "cluster/cluster.hpp"
#include "membership_tally.hpp"

namespace clusterd {

/// The page (text/html), with the snapshot of now inside, so it shows the members before its
/// event stream delivers the first update.
std::string status_page_html(cluster::Cluster& c, const MembershipTally* tally);

/// One snapshot as JSON: {"status": {...as clusterctl status --json}, "members": [...as members
/// --json], "events": [{"at", "what", "uuid", "detail"}]}.
std::string status_snapshot_json(cluster::Cluster& c, const MembershipTally* tally);

}  // namespace clusterd
