#include "metrics_text.hpp"

#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <utility>

namespace clusterapp {

std::string escape_label_value(const std::string& v);

namespace {

/// A float as Prometheus reads it, in its shortest exact form without an exponent where one
/// is not needed (bucket bounds read le="10", not le="1e+01"); no locale.
std::string number(double v) {
  if (v == static_cast<double>(static_cast<long long>(v)) && v > -1e15 && v < 1e15)
    return std::to_string(static_cast<long long>(v));
  char buf[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string hook_point_label(cluster::HookPoint p) {
  std::string name(cluster::hook_point_name(p));
  for (char& c : name)
    if (c == ' ') c = '_';
  return name;
}

class Writer {
 public:
  void family(const char* name, const char* type, const char* help) {
    out_ += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void sample(const char* name, std::uint64_t value, const std::string& labels = {}) {
    out_ += name;
    if (!labels.empty()) out_ += "{" + labels + "}";
    out_ += " " + std::to_string(value) + "\n";
  }
  /// One family of counters told apart by one label.
  void by_label(const char* name, const char* help, const char* label,
                std::initializer_list<std::pair<const char*, std::uint64_t>> parts) {
    family(name, "counter", help);
    for (const auto& [value, n] : parts) sample(name, n, std::string(label) + "=\"" + value + "\"");
  }
  /// One family of counters whose label values come from the data (escaped).
  void by_map(const char* name, const char* help, const char* label, const std::map<std::string, std::uint64_t>& parts) {
    family(name, "counter", help);
    for (const auto& [value, n] : parts) sample(name, n, std::string(label) + "=\"" + escape_label_value(value) + "\"");
  }
  void sample_real(const char* name, double value, const std::string& labels) {
    out_ += name;
    out_ += "{" + labels + "} " + number(value) + "\n";
  }
  /// The samples of one histogram (its family declared by the caller): cumulative buckets
  /// ending with +Inf, then _sum and _count.
  void histogram(const std::string& name, const cluster::LatencyHistogram& h, const std::string& labels) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < h.counts.size(); ++i) {
      cumulative += h.counts[i];
      const std::string le = i < h.kBounds.size() ? number(h.kBounds[i]) : "+Inf";
      out_ += name + "_bucket{" + labels + ",le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
    }
    out_ += name + "_sum{" + labels + "} " + number(h.sum_seconds) + "\n";
    out_ += name + "_count{" + labels + "} " + std::to_string(h.count) + "\n";
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

std::string escape_label_value(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string prometheus_text(const MetricsSnapshot& s) {
  const cluster::Counters& k = s.counters;
  Writer w;
  w.family("cluster_build_info", "gauge", "Build version and identity of this member (always 1).");
  w.sample("cluster_build_info", 1,
           "version=\"" + escape_label_value(s.version) + "\",uuid=\"" + escape_label_value(s.uuid) + "\"");
  w.family("cluster_members", "gauge", "Members this member knows, by where they run.");
  w.sample("cluster_members", s.local_members, "host=\"local\"");
  w.sample("cluster_members", s.members - s.local_members, "host=\"remote\"");
  w.by_map("cluster_discovered_total", "Members discovered since start, by how they were found.", "how", s.discovered);
  w.by_map("cluster_lost_total", "Members lost since start, by reason.", "reason", s.lost);
  w.family("cluster_packets_received_total", "counter", "Packets framed and decoded.");
  w.sample("cluster_packets_received_total", k.received);
  w.family("cluster_packets_sent_total", "counter", "Packets handed to a protocol successfully.");
  w.sample("cluster_packets_sent_total", k.sent);
  w.by_label("cluster_packets_dropped_total", "Packets dropped on receipt, by the check that refused them.", "reason",
             {{"remote", k.dropped_remote},
              {"malformed", k.dropped_malformed},
              {"own", k.dropped_own},
              {"filter", k.dropped_filter},
              {"channel", k.dropped_channel},
              {"hook", k.dropped_hook},
              {"invalid", k.dropped_invalid},
              {"departed", k.dropped_departed},
              {"label", k.dropped_label},
              {"plain", k.dropped_plain},
              {"unopened", k.dropped_unopened},
              {"replay", k.dropped_replay}});
  w.family("cluster_send_failures_total", "counter", "Sends a protocol failed (the next one was tried).");
  w.sample("cluster_send_failures_total", k.send_failures);
  w.family("cluster_unreachable_total", "counter", "Sends no protocol could deliver.");
  w.sample("cluster_unreachable_total", k.unreachable);
  w.family("cluster_send_queue_full_total", "counter", "send_async requests refused: the send queue stayed full.");
  w.sample("cluster_send_queue_full_total", k.send_queue_full);
  w.family("cluster_send_queue_dropped_total", "counter", "Queued send_async requests dropped by send_queue_full = drop_oldest.");
  w.sample("cluster_send_queue_dropped_total", k.send_queue_dropped);
  w.family("cluster_send_queue_paused_total", "counter",
           "Times the send queue held for a member whose transport had too much output waiting.");
  w.sample("cluster_send_queue_paused_total", k.send_queue_paused);
  w.family("cluster_members_refused_total", "counter", "Newcomers refused because max_members were known.");
  w.sample("cluster_members_refused_total", k.refused_members);
  w.by_label("cluster_connections_closed_total", "Stream connections closed or refused to bound memory and descriptors.",
             "reason",
             {{"over_budget", k.streams_over_budget},
              {"stalled", k.streams_stalled},
              {"refused", k.conns_refused},
              {"evicted", k.conns_evicted},
              {"idle", k.conns_idle_closed}});
  w.by_label("cluster_detector_events_total", "Events of a probing failure detector (swim).", "event",
             {{"probe", k.probes_sent},
              {"probe_indirect", k.probes_indirect},
              {"probe_failed", k.probes_failed},
              {"suspicion", k.suspicions},
              {"refutation", k.refutations},
              {"confirmation", k.confirmations},
              {"nack", k.nacks_sent}});
  w.family("cluster_detector_health", "gauge", "Local health score of the failure detector, 0 = healthy.");
  w.sample("cluster_detector_health", k.detector_health);
  const cluster::Stats& st = s.stats;
  w.family("cluster_members_suspect", "gauge", "Known members the failure detector is in doubt of (still members).");
  w.sample("cluster_members_suspect", st.members_suspect);
  w.family("cluster_protocol_packets_total", "counter",
           "Packets per protocol: decoded (in), handed to the protocol successfully (out).");
  for (const auto& p : st.protocols) {
    const std::string id = "protocol=\"" + escape_label_value(p.protocol) + "\"";
    w.sample("cluster_protocol_packets_total", p.packets_received, id + ",direction=\"in\"");
    w.sample("cluster_protocol_packets_total", p.packets_sent, id + ",direction=\"out\"");
  }
  w.family("cluster_protocol_bytes_total", "counter",
           "Bytes per protocol as the transport delivered (in) or accepted (out) them, framing included.");
  for (const auto& p : st.protocols) {
    const std::string id = "protocol=\"" + escape_label_value(p.protocol) + "\"";
    w.sample("cluster_protocol_bytes_total", p.bytes_received, id + ",direction=\"in\"");
    w.sample("cluster_protocol_bytes_total", p.bytes_sent, id + ",direction=\"out\"");
  }
  w.family("cluster_query_duration_seconds", "histogram",
           "Queries this member asked, from start to end, by outcome (completed: every target answered or it ended early).");
  w.histogram("cluster_query_duration_seconds", st.queries_completed, "outcome=\"completed\"");
  w.histogram("cluster_query_duration_seconds", st.queries_timed_out, "outcome=\"timed_out\"");
  static_assert(cluster::kHookTimeSample == 32, "the help text of cluster_hook_seconds_total names it");
  w.family("cluster_hook_runs_total", "counter", "Runs of the hooks of a hook point.");
  for (const auto& h : st.hooks)
    w.sample("cluster_hook_runs_total", h.runs, "point=\"" + hook_point_label(h.point) + "\"");
  w.family("cluster_hook_seconds_total", "counter",
           "Time in the hooks of a hook point, what they caused included; estimated: one run in 32 is timed and counts for 32.");
  for (const auto& h : st.hooks)
    w.sample_real("cluster_hook_seconds_total", h.seconds, "point=\"" + hook_point_label(h.point) + "\"");
  return w.take();
}

}  // namespace clusterapp
