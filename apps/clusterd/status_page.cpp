#include "status_page.hpp"

#include "commands.hpp"
#include "json_text.hpp"

namespace clusterd {
namespace {

clusterapp::JsonPtr run(cluster::Cluster& c, const char* cmd) {
  clusterapp::JsonPtr req = clusterapp::object();
  req->set("cmd", std::string(cmd));
  clusterapp::JsonPtr answer;
  clusterapp::execute(c, req, [&](clusterapp::JsonPtr r) { answer = std::move(r); });
  return answer;
}

const char* const kPage = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cluster status</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em;margin:0 0 .2em}
#who{color:#555;margin-bottom:1em}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border-bottom:1px solid #ddd;padding:.25em .8em;text-align:left;font-family:ui-monospace,monospace;font-size:13px}
th{background:#f4f4f4}
#state{font-size:12px;color:#888}
.lost{color:#a33}.discovered{color:#363}
</style></head><body>
<h1>cluster</h1>
<div id="who">connecting&hellip; <span id="state"></span></div>
<h2>Members (<span id="count">0</span>)</h2>
<table><thead><tr><th>uuid</th><th>address</th><th>tags</th><th>protocols</th><th>last seen</th><th>found by</th></tr></thead>
<tbody id="members"></tbody></table>
<h2>Counters</h2><table><tbody id="counters"></tbody></table>
<h2>Recent events</h2><ul id="events"></ul>
<script>
"use strict";
function cell(row, text) { const td = document.createElement("td"); td.textContent = text; row.appendChild(td); }
function render(s) {
  const st = s.status || {};
  document.getElementById("who").firstChild.textContent =
    (st.uuid || "?") + "  tags {" + (st.tags || []).join(" ") + "}  protocols " + (st.protocols || []).join(" ") + " ";
  const body = document.getElementById("members");
  body.textContent = "";
  for (const m of s.members || []) {
    const row = document.createElement("tr");
    row.dataset.uuid = m.uuid;
    cell(row, m.uuid); cell(row, m.ip || "-"); cell(row, (m.tags || []).join(" "));
    cell(row, (m.protocols || []).join(" ")); cell(row, m.last_seen + " ms ago"); cell(row, m.found_by || "-");
    body.appendChild(row);
  }
  document.getElementById("count").textContent = (s.members || []).length;
  const counters = document.getElementById("counters");
  counters.textContent = "";
  for (const [k, v] of Object.entries(st.counters || {})) {
    const row = document.createElement("tr"); cell(row, k); cell(row, String(v)); counters.appendChild(row);
  }
  const events = document.getElementById("events");
  events.textContent = "";
  for (const e of (s.events || []).slice().reverse()) {
    const li = document.createElement("li");
    li.className = e.what;
    li.dataset.uuid = e.uuid;
    li.textContent = new Date(e.at).toISOString() + "  " + e.what + " " + e.uuid + " (" + e.detail + ")";
    events.appendChild(li);
  }
  document.getElementById("state").textContent = "updated " + new Date().toLocaleTimeString();
}
const initial = /*SNAPSHOT*/null;
if (initial) render(initial);  // what the server knew when it sent the page; then live updates
const source = new EventSource("events");
source.onmessage = (ev) => { render(JSON.parse(ev.data)); document.body.dataset.live = "yes"; };
source.onerror = () => {  // EventSource retries a dropped stream, not a refused one (503)
  document.getElementById("state").textContent =
      source.readyState === EventSource.CLOSED ? "not live (too many viewers?): reload to retry" : "disconnected: retrying";
};
</script></body></html>
)html";

}  // namespace

std::string status_page_html(cluster::Cluster& c, const MembershipTally* tally) {
  std::string page(kPage);
  // Inside a <script>: a "<" in a member's tag must not end it. JSON has "<" only inside
  // strings, where \u003c means the same.
  std::string snapshot;
  for (char ch : status_snapshot_json(c, tally)) {
    if (ch == '<') snapshot += "\\u003c";
    else snapshot += ch;
  }
  const std::string mark = "/*SNAPSHOT*/null";
  page.replace(page.find(mark), mark.size(), snapshot);
  return page;
}

std::string status_snapshot_json(cluster::Cluster& c, const MembershipTally* tally) {
  clusterapp::JsonPtr snap = clusterapp::object();
  // Both on the loop thread (execute()'s contract), in one turn: the count and the list agree.
  clusterapp::JsonPtr status, members;
  c.loop().call([&] {
    status = run(c, "status");
    members = run(c, "members");
  });
  if (status) status->remove("ok");
  snap->set("status", status);
  if (members) snap->set("members", members->getArray("members"));
  clusterapp::JsonArrayPtr events = new Poco::JSON::Array;
  if (tally != nullptr)
    for (const auto& e : tally->recent()) {
      clusterapp::JsonPtr o = clusterapp::object();
      o->set("at", static_cast<Poco::Int64>(e.at_ms));
      o->set("what", e.what);
      o->set("uuid", clusterapp::utf8_safe(e.uuid));
      o->set("detail", clusterapp::utf8_safe(e.detail));
      events->add(o);
    }
  snap->set("events", events);
  return clusterapp::to_line(snap);
}

}  // namespace clusterd
