// clusterd's Prometheus text (apps/common/metrics_text.*) and its [metrics] section: every
// family has HELP and TYPE lines, label values are escaped, members split by host, the
// envelope's drop reasons are there; listen values are checked at load.
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>

#include "cluster/options.hpp"
#include "http_config.hpp"
#include "metrics_text.hpp"

using namespace clusterapp;

namespace {

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST(Metrics, EveryFamilyHasHelpAndTypeAndEverySampleAFamily) {
  MetricsSnapshot s;
  s.members = 5;
  s.local_members = 2;
  s.counters.received = 7;
  s.counters.dropped_label = 3;
  s.counters.probes_sent = 11;
  s.counters.send_queue_paused = 6;
  s.version = "0.1.0";
  s.uuid = "ab\"c\\d@host";
  s.discovered = {{"multicast", 4}, {"seeds", 1}};
  s.lost = {{"left", 2}, {"a\"b", 1}};
  s.stats.protocols.push_back({"t", 100, 2, 300, 4});
  s.stats.queries_completed.record(std::chrono::microseconds(300));
  s.stats.hooks.push_back({cluster::HookPoint::service_lost, 3, 0.5});
  const std::string text = prometheus_text(s);
  EXPECT_NE(text.find("cluster_members{host=\"local\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cluster_members{host=\"remote\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cluster_packets_received_total 7\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cluster_packets_dropped_total{reason=\"label\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cluster_detector_events_total{event=\"probe\"} 11\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cluster_send_queue_paused_total 6\n"), std::string::npos) << text;
  EXPECT_NE(text.find("uuid=\"ab\\\"c\\\\d@host\""), std::string::npos) << text;
  EXPECT_NE(text.find("cluster_discovered_total{how=\"multicast\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cluster_lost_total{reason=\"left\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cluster_lost_total{reason=\"a\\\"b\"} 1\n"), std::string::npos) << text;
  // Each sample's metric name was declared by a TYPE line before it, once.
  std::istringstream lines(text);
  std::string line, declared;
  while (std::getline(lines, line)) {
    ASSERT_FALSE(line.empty());
    if (line.rfind("# TYPE ", 0) == 0) {
      declared = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_EQ(count_of(text, "# TYPE " + declared + " "), 1u) << declared;
      EXPECT_EQ(count_of(text, "# HELP " + declared + " "), 1u) << declared;
      continue;
    }
    if (line[0] == '#') continue;
    const std::string name = line.substr(0, line.find_first_of("{ "));
    const bool histogram = text.find("# TYPE " + declared + " histogram") != std::string::npos;
    if (histogram)
      EXPECT_TRUE(name == declared + "_bucket" || name == declared + "_sum" || name == declared + "_count") << line;
    else
      EXPECT_EQ(name, declared) << line;
    if (name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0) {
      EXPECT_NE(text.find("# TYPE " + name + " counter"), std::string::npos) << name;
    }
  }
}

TEST(Metrics, ProtocolTrafficQueryLatencyAndHookTime) {
  MetricsSnapshot s;
  s.stats.members_suspect = 1;
  s.stats.protocols.push_back({"t", 100, 2, 300, 4});
  s.stats.protocols.push_back({"c", 10, 1, 0, 0});
  s.stats.queries_completed.record(std::chrono::microseconds(300));  // (250 us, 500 us]
  s.stats.queries_completed.record(std::chrono::milliseconds(2));    // (1 ms, 2.5 ms]
  s.stats.queries_timed_out.record(std::chrono::seconds(30));        // above 10 s
  s.stats.hooks.push_back({cluster::HookPoint::evaluate_receive, 64, 0.25});
  const std::string text = prometheus_text(s);
  for (const char* line : {
           "cluster_members_suspect 1\n",
           "cluster_protocol_packets_total{protocol=\"t\",direction=\"in\"} 2\n",
           "cluster_protocol_packets_total{protocol=\"t\",direction=\"out\"} 4\n",
           "cluster_protocol_bytes_total{protocol=\"t\",direction=\"in\"} 100\n",
           "cluster_protocol_bytes_total{protocol=\"t\",direction=\"out\"} 300\n",
           "cluster_protocol_bytes_total{protocol=\"c\",direction=\"in\"} 10\n",
           // Buckets are cumulative, le values in the shortest form, +Inf last.
           "cluster_query_duration_seconds_bucket{outcome=\"completed\",le=\"0.00025\"} 0\n",
           "cluster_query_duration_seconds_bucket{outcome=\"completed\",le=\"0.0005\"} 1\n",
           "cluster_query_duration_seconds_bucket{outcome=\"completed\",le=\"0.0025\"} 2\n",
           "cluster_query_duration_seconds_bucket{outcome=\"completed\",le=\"10\"} 2\n",
           "cluster_query_duration_seconds_bucket{outcome=\"completed\",le=\"+Inf\"} 2\n",
           "cluster_query_duration_seconds_sum{outcome=\"completed\"} 0.0023\n",
           "cluster_query_duration_seconds_count{outcome=\"completed\"} 2\n",
           "cluster_query_duration_seconds_bucket{outcome=\"timed_out\",le=\"10\"} 0\n",
           "cluster_query_duration_seconds_bucket{outcome=\"timed_out\",le=\"+Inf\"} 1\n",
           "cluster_query_duration_seconds_count{outcome=\"timed_out\"} 1\n",
           "cluster_hook_runs_total{point=\"evaluate_receive\"} 64\n",
           "cluster_hook_seconds_total{point=\"evaluate_receive\"} 0.25\n",
       })
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
}

TEST(Metrics, LabelValuesAreEscaped) {
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(escape_label_value("plain"), "plain");
}

TEST(Metrics, ListenIsCheckedAtLoad) {
  const auto load = [](const std::string& text) {
    return clusterd::MetricsConfig::from_ini(cluster::IniFile::parse(text, "m.ini"));
  };
  EXPECT_EQ(load("[cluster]\n").listen, "");
  EXPECT_EQ(load("[metrics]\nlisten = 127.0.0.1:9469\n").listen, "127.0.0.1:9469");
  EXPECT_EQ(load("[metrics]\nlisten = [::1]:9469\n").listen, "[::1]:9469");
  EXPECT_EQ(load("[metrics]\nlisten =\n").listen, "");
  // Resolved at load to the numeric address the module binds: two spellings of one address
  // compare equal, so [metrics] and [http] share a server (Processes.HttpPortInUse...).
  EXPECT_EQ(load("[metrics]\nlisten = 127.0.0.1:9469\n").bind, "127.0.0.1:9469");
  EXPECT_EQ(load("[metrics]\nlisten = localhost:0\n").bind, "127.0.0.1:0");  // IPv4 first, as Poco
  EXPECT_EQ(load("[metrics]\nlisten = [::1]:9469\n").bind, "[::1]:9469");
  EXPECT_EQ(load("[metrics]\nlisten = [0:0::1]:65535\n").bind, "[::1]:65535");
  for (const char* bad : {"[metrics]\nlisten = 127.0.0.1\n", "[metrics]\nlisten = 127.0.0.1:99999\n",
                          "[metrics]\nport = 1\n", "[metrics]\nlisten = ::1:9469\n",
                          "[metrics]\nlisten = [::1]9469\n", "[metrics]\nlisten = 127.0.0.1:http\n",
                          "[metrics]\nlisten = 127.0.0.1:-1\n", "[metrics]\nlisten = :9469\n"}) {
    try {
      load(bad);
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const cluster::ConfigError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("m.ini:2: ", 0), 0u) << e.what();
    }
  }
}
