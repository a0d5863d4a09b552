// `cluster_bench run`: the benchmark driver. Runs each scenario with member processes
// (`cluster_bench member`, bench_member.cpp) on loopback inside the private network namespace
// tests/bench/run puts it in, measures the raw-socket floors in the same run (bench_raw.cpp),
// and prints a markdown table, RESULT lines and TARGET lines. docs/benchmarks.md explains
// every figure.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bench_fleet.hpp"
#include "bench_raw.hpp"
#include "bench_zmq.hpp"
#include "bench_util.hpp"
#include "cluster/bpacket/payload_codec.hpp"
#include "cluster/payload.hpp"
#include "netns.hpp"

namespace bench {
namespace {

namespace fs = std::filesystem;

struct Settings {
  bool quick = false;
  std::set<std::string> only;  ///< scenarios to run (empty = all)
  std::set<int> discovery_sizes;  ///< --discovery-sizes (empty = 2,10,50,200)
  std::set<std::string> tput_cases;  ///< --tput-cases u:64,t:1024,... (empty = all)
  double tput_seconds = 0;           ///< --tput-seconds (0 = 0.6 quick, 2 full)
  std::set<std::string> envelopes = {"label", "encrypt"};  ///< --envelopes: variants beside plain
  std::string keyring;  ///< the throwaway keyring of the encrypted variants ("" = none)
  std::string clusterd;        ///< path of clusterd ("" = skip the footprint)
  FleetConfig fleet;
  std::uint16_t next_port = 24100;
  bool wants(const std::string& s) const { return only.empty() || only.count(s) != 0; }
  std::uint16_t port() { return next_port++; }  ///< a fresh multicast port per fleet: no cross-talk
  raw::Env raw() const { return raw::Env{fleet.self, fleet.tmp}; }
};

const std::int64_t g_started = now_ns();

void progress(const std::string& s) {
  std::fprintf(stderr, "[bench %6.1f s] %s\n", static_cast<double>(now_ns() - g_started) / 1e9, s.c_str());
  std::fflush(stderr);
}

// ---- the report ----

struct Row {
  std::string id, measurement, how, result, floor, ratio, target, status;
};

struct Report {
  std::vector<Row> rows;
  std::vector<std::string> results, targets, notes;

  void result(const std::string& name, double v, const std::string& unit) {
    char buf[64];
    if (std::isnan(v)) std::snprintf(buf, sizeof buf, "nan");
    else if (std::fabs(v) >= 1000) std::snprintf(buf, sizeof buf, "%.0f", v);
    else std::snprintf(buf, sizeof buf, "%.4g", v);
    results.push_back("RESULT " + name + " " + buf + " " + unit);
  }
  std::string target(const std::string& what, bool met, const std::string& detail) {
    targets.push_back("TARGET " + what + ": " + (met ? "met" : "missed") + " (" + detail + ")");
    return met ? "**met**" : "**missed**";
  }
  void print() const {
    std::printf("| # | measurement | how | result | raw floor | ratio | target | status |\n");
    std::printf("|---|---|---|---|---|---|---|---|\n");
    for (const auto& r : rows)
      std::printf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.id.c_str(), r.measurement.c_str(), r.how.c_str(),
                  r.result.c_str(), r.floor.c_str(), r.ratio.c_str(), r.target.c_str(), r.status.c_str());
    std::printf("\n");
    for (const auto& n : notes) std::printf("- %s\n", n.c_str());
    if (!notes.empty()) std::printf("\n");
    for (const auto& l : results) std::printf("%s\n", l.c_str());
    for (const auto& l : targets) std::printf("%s\n", l.c_str());
    std::fflush(stdout);
  }
};

std::string ms(double v) { return fmt(v, v < 10 ? 2 : 1) + " ms"; }
std::string us(double v) { return fmt(v, 1) + " µs"; }
std::string plus_us(double v) { return (v >= 0 ? "+" : "") + us(v); }  ///< a difference: "+3.0 µs", "-0.4 µs"

/// Wire sizes of what the product sends, so the raw floors move the same number of bytes.
std::size_t wire_size(cluster::PayloadType type, std::size_t data, bool ruid) {
  cluster::Payload p;
  p.sid = std::string(8, 's');
  p.hid = std::string("00:00:00:00:00:00");
  p.type = static_cast<std::uint64_t>(type);
  p.channel = 0;
  p.protocols = cluster::StringList{"u", "t", "c"};
  p.filter = cluster::StringList{std::string(8, 'f')};
  p.keepalive = true;
  if (ruid) p.ruid = std::string(8, 's') + "-1234";
  p.data = std::string(data, 'x');
  std::string out;
  cluster::bpacket::encode_payload(p, out);
  return out.size();
}

// ---- 1. discovery ----

struct DiscoveryLayout {
  int n;
  std::vector<int> base;  ///< instances per base process (n - 1 in all); the newcomer is separate
  int mesh_rounds, join_rounds;
  std::string rcvbuf;     ///< [udp-multicast] receive_buffer ("default" = the plugin default)
};

/// Sums one key of the "counters" replies of every process.
std::uint64_t counter_sum(Fleet& f, const std::string& key) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f.proc(i).live.empty()) continue;
    for (const auto& kv : split(f.cmd(i, "counters")))
      if (starts_with(kv, key + "=")) sum += std::strtoull(kv.c_str() + key.size() + 1, nullptr, 10);
  }
  return sum;
}

/// Joins counts[i] instances in process procs[i], at most 10 at a time, each batch until all
/// know all (so a large cluster is not a cold start). False when a batch did not converge.
bool bring_up(Fleet& f, const std::vector<std::size_t>& procs, const std::vector<int>& counts, const std::string& opts,
              int deadline_ms) {
  for (std::size_t i = 0; i < procs.size(); ++i)
    for (int left = counts[i]; left > 0; left -= 10) {
      f.cmd(procs[i], "join " + std::to_string(std::min(left, 10)) + " " + f.join_options(opts));
      if (!f.pump([&] { return f.mesh_complete(); }, deadline_ms)) return false;
    }
  return true;
}

void discovery(Settings& s, Report& rep) {
  const bool q = s.quick;
  std::vector<DiscoveryLayout> layouts = {
      {2, {1}, q ? 3 : 10, q ? 8 : 30, "default"},
      {10, std::vector<int>(9, 1), q ? 2 : 5, q ? 4 : 15, "default"},
      {50, std::vector<int>(49, 1), q ? 2 : 5, q ? 3 : 10, "default"},
      {200, {50, 50, 50, 49}, q ? 1 : 5, q ? 2 : 8, "default"},
  };
  if (!q) layouts.push_back({200, {50, 50, 50, 49}, 5, 0, "4194304"});
  const std::string opts = "protocols=u,t,c hb=1000 ttl=3000";
  // The floor of "a newcomer is known": one multicast hop (half a raw multicast round trip).
  auto hop = raw::multicast_ping_pong(s.raw(), s.fleet.group, s.port(), 150, q ? 500 : 2000, 100);
  const double hop_us = percentile(hop, 50) / 2;
  s.port();  // ping_pong used port and port + 1
  rep.result("discovery.raw.multicast_hop_p50_us", hop_us, "us");
  for (const auto& L : layouts) {
    if (!s.discovery_sizes.empty() && !s.discovery_sizes.count(L.n)) continue;
    FleetConfig fc = s.fleet;
    if (L.rcvbuf != "default") fc.rcvbuf = L.rcvbuf;
    const std::string n = std::to_string(L.n);
    const std::string variant = L.rcvbuf == "default" ? "" : " (receive_buffer " + std::to_string(std::atoll(L.rcvbuf.c_str()) >> 20) + " MiB)";
    Fleet f(fc, s.port());
    std::vector<std::size_t> base;
    for (std::size_t i = 0; i < L.base.size(); ++i) base.push_back(f.spawn("disc" + n + "-" + std::to_string(i)));
    const std::size_t newcomer = f.spawn("disc" + n + "-new");
    const std::string how_procs = L.n <= 50 ? n + " processes × 1 instance"
                                            : std::to_string(L.base.size()) + " processes × " + std::to_string(L.base[0]) +
                                                  " instances (one shared loop each) + 1 process × 1";
    const int deadline_ms = L.n >= 200 ? (q ? 5000 : 15000) : 10000;

    // (b) one newcomer joins a running cluster of n - 1: until all others know it, and until it
    // knows all of them. The n - 1 are brought up gradually (at most 10 joins at a time, each
    // batch until all know all), so this measures joining, not a cold start.
    std::vector<double> others_ms, new_ms, join_call_ms;
    int join_incomplete = 0;
    if (L.join_rounds > 0 && !bring_up(f, base, L.base, opts, deadline_ms))
      progress("discovery N=" + n + ": the gradual bring-up did not converge; join rounds may be incomplete");
    for (int r = 0; r < L.join_rounds; ++r) {
      const std::string old = f.proc(newcomer).live.empty() ? std::string() : f.proc(newcomer).live.front();
      if (!old.empty()) {
        f.cmd(newcomer, "leave-all");
        f.pump([&] {
          for (const auto& u : f.live()) {
            auto it = f.lost.find(u);
            if (it == f.lost.end() || !it->second.count(old)) return false;
          }
          return true;
        }, 5000);
      }
      f.sleep_pumping(20 + static_cast<int>(r * 37 % 100));  // vary the phase against heartbeats
      f.clear_events();
      f.cmd(newcomer, "join 1 " + f.join_options(opts));
      const std::string nu = f.proc(newcomer).live.front();
      std::vector<std::string> others;
      for (const auto& u : f.live())
        if (u != nu) others.push_back(u);
      const bool ok = f.pump([&] {
        for (const auto& u : others) {
          auto it = f.disc.find(u);
          if (it == f.disc.end() || !it->second.count(nu)) return false;
        }
        auto it = f.disc.find(nu);
        return it != f.disc.end() && it->second.size() >= others.size();
      }, 5000);
      if (!ok) {
        ++join_incomplete;
        continue;
      }
      const std::int64_t t0 = f.join_t.at(nu);
      std::int64_t t_others = 0, t_new = 0;
      for (const auto& u : others) t_others = std::max(t_others, f.disc.at(u).at(nu));
      for (const auto& [peer, t] : f.disc.at(nu)) t_new = std::max(t_new, t);
      others_ms.push_back(static_cast<double>(t_others - t0) / 1e6);
      new_ms.push_back(static_cast<double>(t_new - t0) / 1e6);
      join_call_ms.push_back(static_cast<double>(f.join_done_t.at(nu) - t0) / 1e6);
    }
    if (L.join_rounds > 0)
      progress("discovery N=" + n + " join: others know it p50 " + ms(median(others_ms)) + ", it knows all p50 " +
               ms(median(new_ms)) + (join_incomplete ? ", " + std::to_string(join_incomplete) + " incomplete" : ""));

    // (a) cold start: everyone leaves, then every instance joins at once; until all know all.
    std::vector<double> mesh_ms;
    int incomplete = 0;
    std::uint64_t drops = 0, filtered_max = 0;
    for (int r = 0; r < L.mesh_rounds; ++r) {
      for (std::size_t i = 0; i < f.size(); ++i) f.send(i, "leave-all");
      for (std::size_t i = 0; i < f.size(); ++i) f.reply(i);
      f.sleep_pumping(300);
      f.clear_events();
      const std::uint64_t drops_before = udp_rcvbuf_errors();
      for (std::size_t i = 0; i < base.size(); ++i)
        f.send(base[i], "join " + std::to_string(L.base[i]) + " " + f.join_options(opts));
      f.send(newcomer, "join 1 " + f.join_options(opts));
      for (std::size_t i = 0; i < f.size(); ++i) f.reply(i);
      const bool ok = f.pump([&] { return f.mesh_complete(); }, deadline_ms);
      const std::uint64_t d = udp_rcvbuf_errors() - drops_before;
      const std::uint64_t filtered = counter_sum(f, "dropped_filter");
      drops += d;
      filtered_max = std::max(filtered_max, filtered);
      if (ok) {
        std::int64_t t0 = INT64_MAX, t1 = 0;
        for (const auto& u : f.live()) t0 = std::min(t0, f.join_t.at(u));
        for (const auto& [obs, m] : f.disc)
          for (const auto& [peer, t] : m) t1 = std::max(t1, t);
        mesh_ms.push_back(static_cast<double>(t1 - t0) / 1e6);
      } else {
        ++incomplete;
      }
      progress("discovery N=" + n + variant + " cold start round " + std::to_string(r + 1) + ": " +
               (ok ? ms(mesh_ms.back()) : "incomplete after " + std::to_string(deadline_ms / 1000) + " s") + "; " +
               std::to_string(d) + " datagrams dropped (receive buffers full), " + std::to_string(filtered) +
               " filtered datagrams discarded by members");
    }

    const std::string key = "discovery." + std::string(L.rcvbuf == "default" ? "" : "rcvbuf4m.");
    const double j50 = median(others_ms), j95 = percentile(others_ms, 95);
    const double k50 = median(new_ms), k95 = percentile(new_ms, 95);
    const double m50 = median(mesh_ms), m95 = percentile(mesh_ms, 95);
    if (L.join_rounds > 0) {
      rep.result(key + "join.n" + n + ".others_know.p50_ms", j50, "ms");
      rep.result(key + "join.n" + n + ".others_know.p95_ms", j95, "ms");
      rep.result(key + "join.n" + n + ".newcomer_knows_all.p50_ms", k50, "ms");
      rep.result(key + "join.n" + n + ".newcomer_knows_all.p95_ms", k95, "ms");
      std::string target = "—", status = "—";
      if (L.n == 2) {
        target = "≤ 20 ms";
        status = rep.target("discovery N=2: the other member knows a newcomer within 20 ms (p95)", j95 <= 20,
                            "p50 " + ms(j50) + ", p95 " + ms(j95));
      }
      rep.result(key + "join.n" + n + ".join_call.p50_ms", median(join_call_ms), "ms");
      rep.rows.push_back({"1", "discovery N=" + n + ": a newcomer is known by all others",
                          how_procs + "; n−1 running, 1 joins (start of Cluster::join → last service_discovered; the join "
                                      "call itself took p50 " + ms(median(join_call_ms)) + "); " +
                              std::to_string(others_ms.size()) + " runs" +
                              (join_incomplete ? " (" + std::to_string(join_incomplete) + " incomplete in 5 s)" : ""),
                          "p50 " + ms(j50) + ", p95 " + ms(j95), "one multicast hop: " + us(hop_us),
                          fmt(j50 * 1000 / hop_us, 0) + "×", target, status});
      rep.rows.push_back({"1", "discovery N=" + n + ": the newcomer knows all others", "same runs",
                          "p50 " + ms(k50) + ", p95 " + ms(k95), "—", "—", "—", "—"});
    }
    rep.result(key + "mesh.n" + n + ".p50_ms", m50, "ms");
    rep.result(key + "mesh.n" + n + ".p95_ms", m95, "ms");
    rep.result(key + "mesh.n" + n + ".incomplete_runs", incomplete, "runs");
    rep.result(key + "mesh.n" + n + ".udp_rcvbuf_drops", static_cast<double>(drops), "datagrams");
    rep.result(key + "mesh.n" + n + ".filtered_discarded_max", static_cast<double>(filtered_max), "datagrams");
    std::string target = "—", status = "—";
    if ((L.n == 50 || L.n == 200) && L.rcvbuf == "default") {
      const double limit = L.n == 50 ? 200 : 1000;
      target = "all know all ≤ " + std::string(L.n == 50 ? "0.2 s" : "1 s");
      status = rep.target("discovery N=" + n + ": all know each other within " + ms(limit) + " (p95 of cold starts)",
                          incomplete == 0 && m95 <= limit,
                          (mesh_ms.empty() ? std::string("no run complete") : "p50 " + ms(m50) + ", p95 " + ms(m95)) +
                              (incomplete ? ", " + std::to_string(incomplete) + " of " + std::to_string(L.mesh_rounds) +
                                                " runs incomplete after " + std::to_string(deadline_ms / 1000) + " s"
                                          : ""));
    }
    const std::string result = mesh_ms.empty() ? "none complete"
                                               : "p50 " + ms(m50) + ", p95 " + ms(m95) +
                                                     (incomplete ? " of the complete runs" : "");
    rep.rows.push_back({"1", "discovery N=" + n + variant + ": cold start, all know all",
                        how_procs + "; all join at once (first Cluster::join → last service_discovered); " +
                            std::to_string(L.mesh_rounds) + " runs" +
                            (incomplete ? ", " + std::to_string(incomplete) + " not complete after " +
                                              std::to_string(deadline_ms / 1000) + " s"
                                        : "") +
                            "; " + std::to_string(drops) + " datagrams dropped on full receive buffers; up to " +
                            std::to_string(filtered_max) + " filtered datagrams discarded per run",
                        result, "—", "—", target, status});
  }
}

// ---- 2. failure detection ----

void failure(Settings& s, Report& rep) {
  const int rounds = s.quick ? 2 : 5;
  const int observers = 4;
  std::mt19937 rng(12345);
  struct Variant {
    std::string key, name, opts;
    bool ping;
  };
  const std::vector<Variant> variants = {
      {"ttl", "kill -9, nobody sends (ttl expiry)", "protocols=u,t,c hb=1000 ttl=3000", false},
      {"ping", "kill -9, then one member sends to it (ping path)",
       "protocols=u,t,c hb=1000 ttl=3000 pdelay=50 pgrace=200 precent=0", true},
  };
  for (const auto& v : variants) {
    Fleet f(s.fleet, s.port());
    std::vector<std::size_t> obs;
    for (int i = 0; i < observers; ++i) obs.push_back(f.spawn("fail-" + v.key + "-obs" + std::to_string(i)));
    for (auto o : obs) f.send(o, "join 1 " + f.join_options(v.opts));
    for (auto o : obs) f.reply(o);
    std::vector<double> detect_ms, first_ms;
    std::map<std::string, int> reasons;
    for (int r = 0; r < rounds; ++r) {
      const std::size_t victim = f.spawn("fail-" + v.key + "-victim" + std::to_string(r));
      f.cmd(victim, "join 1 " + f.join_options(v.opts));
      const std::string vu = f.proc(victim).live.front();
      const std::string vsid = vu.substr(0, vu.find('@'));
      const auto observer_uuids = [&] {
        std::vector<std::string> o;
        for (auto i : obs) o.push_back(f.proc(i).live.front());
        return o;
      }();
      f.pump([&] {
        for (const auto& u : observer_uuids)
          if (!f.disc.count(u) || !f.disc.at(u).count(vu)) return false;
        return true;
      }, 5000);
      // A random point in the heartbeat period, so the kill does not always fall at one phase.
      f.sleep_pumping(200 + static_cast<int>(rng() % (s.quick ? 500 : 1000)));
      const std::int64_t t0 = now_ns();
      f.kill9(victim);
      // kill() returns before the process is gone: wait until it is reaped (its sockets closed),
      // or the send below may still reach it.
      f.proc(victim).child->wait_exit(std::chrono::milliseconds(2000));
      if (v.ping) {
        const std::string sent = f.cmd(obs[0], "send 0 " + vsid + " any");
        if (!starts_with(sent, "sent 0")) progress("ping path: the send to the dead member did not fail: " + sent);
      }
      const bool ok = f.pump([&] {
        for (const auto& u : observer_uuids)
          if (!f.lost.count(u) || !f.lost.at(u).count(vu)) return false;
        return true;
      }, 15000);
      if (!ok) {
        progress("failure " + v.key + ": not every observer evicted the victim within 15 s");
        continue;
      }
      std::int64_t last = 0, first = INT64_MAX;
      for (const auto& u : observer_uuids) {
        const auto& [t, reason] = f.lost.at(u).at(vu);
        last = std::max(last, t);
        first = std::min(first, t);
        ++reasons[reason];
      }
      detect_ms.push_back(static_cast<double>(last - t0) / 1e6);
      first_ms.push_back(static_cast<double>(first - t0) / 1e6);
      progress("failure " + v.key + " round " + std::to_string(r + 1) + ": all evicted after " + ms(detect_ms.back()));
    }
    std::string why;
    for (const auto& [reason, n] : reasons) why += (why.empty() ? "" : ", ") + reason + " ×" + std::to_string(n);
    const double p50 = median(detect_ms), mx = maximum(detect_ms);
    rep.result("failure." + v.key + ".all_evicted.p50_ms", p50, "ms");
    rep.result("failure." + v.key + ".all_evicted.max_ms", mx, "ms");
    rep.result("failure." + v.key + ".first_evicted.p50_ms", median(first_ms), "ms");
    const std::string status = rep.target("failure detection (" + v.key + "): all evicted within 3.5 s (max of runs)",
                                          !detect_ms.empty() && mx <= 3500,
                                          "p50 " + ms(p50) + ", max " + ms(mx));
    rep.rows.push_back({"2", "failure: " + v.name,
                        std::to_string(observers) + " observer processes + 1 victim process; hb 1 s, ttl 3 s" +
                            (v.ping ? ", ping_delay 50 ms, ping_grace 200 ms, ping_recent 0" : "") + "; " +
                            std::to_string(detect_ms.size()) + " runs; kill → last observer's service_lost (" + why + ")",
                        "p50 " + ms(p50) + ", max " + ms(mx) + " (first observer p50 " + ms(median(first_ms)) + ")",
                        v.ping ? "model: ping_delay + ping_grace = 250 ms (a timer at the shortened deadline)"
                               : "model: 2.25–3.25 s (evicted at last heartbeat + ttl + expiry_grace 250 ms, by a timer at the earliest deadline)",
                        "—", "≤ 3.5 s", status});
  }
}

// ---- the envelope variants of the query and throughput suites (issue 14) ----
// Each variant has fleets of its own (their own port: an enveloped member drops a plain one's
// packets), and every repetition runs the variants back to back, so that plain and enveloped
// figures share the load of the moment (the machine is shared).

struct Variant {
  std::string key;    ///< RESULT key part ("" = plain)
  std::string name;   ///< row text
  std::string opts;   ///< join options
  std::size_t extra;  ///< bytes the envelope adds: header 5 + label, sealing 45
  bool sealed;
};

std::vector<Variant> variants(const Settings& s) {
  std::vector<Variant> v = {{"", "plain", "", 0, false}};
  if (s.envelopes.count("label")) v.push_back({"label", "label only", "label=bench", 10, false});
  if (s.envelopes.count("encrypt") && !s.keyring.empty()) v.push_back({"encrypt", "encrypted", "sealer=encrypt", 50, true});
  return v;
}

std::unique_ptr<Fleet> variant_fleet(Settings& s, const Variant& v) {
  FleetConfig fc = s.fleet;
  if (v.sealed) fc.keyring = s.keyring;  // only sealed fleets load the encrypt plugin
  return std::make_unique<Fleet>(fc, s.port());
}

std::string join_line(const Fleet& f, const std::string& opts, const Variant& v, const std::string& more = "") {
  return "join 1 " + f.join_options(opts + (v.opts.empty() ? "" : " " + v.opts) + more);
}

// ---- 3. query round trip ----

void query(Settings& s, Report& rep) {
  const int reps = s.quick ? 2 : 3;
  const std::size_t text = 16;
  const std::size_t req = wire_size(cluster::PayloadType::query, text, true);
  const std::size_t resp = wire_size(cluster::PayloadType::response, text, true);
  const std::string opts = "protocols=u,t,c hb=1000 ttl=10000";
  const auto vs = variants(s);
  // Per variant: process 0 the querier, 1..10 the responders (1 answers "r1").
  std::vector<std::unique_ptr<Fleet>> fleets;
  for (const auto& v : vs) {
    auto f = variant_fleet(s, v);
    const std::string tag = v.key.empty() ? "" : "-" + v.key;
    f->spawn("query-q" + tag);
    for (int i = 0; i < 10; ++i) f->spawn("query-r" + std::to_string(i) + tag);
    f->send(0, join_line(*f, opts, v, " tags=q"));
    for (std::size_t i = 1; i <= 10; ++i) f->send(i, join_line(*f, opts, v, i == 1 ? " tags=r10,r1" : " tags=r10"));
    for (std::size_t i = 0; i <= 10; ++i) f->reply(i);
    Fleet& fr = *f;
    if (!fr.pump([&] { return fr.mesh_complete(); }, 10000))
      throw std::runtime_error("query (" + v.name + "): the 11 members did not meet");
    fleets.push_back(std::move(f));
  }
  fleets.back()->sleep_pumping(300);

  for (const std::string proto : {"u", "t"}) {
    for (const int targets : {1, 10}) {
      const std::size_t count = targets == 1 ? (s.quick ? 1000 : 5000) : (s.quick ? 300 : 2000);
      const std::size_t warm = count / 10;
      struct Best {
        double p50 = NAN, p99 = NAN;
        std::size_t errors = 0;
      };
      std::vector<Best> best(vs.size());
      double best_raw50 = NAN, best_raw99 = NAN;
      for (int r = 0; r < reps; ++r) {
        for (std::size_t k = 0; k < vs.size(); ++k) {
          const std::size_t vi = (k + static_cast<std::size_t>(r)) % vs.size();  // rotate who goes first
          const auto w = split(fleets[vi]->cmd(0,
                                               "query 0 " + std::to_string(count) + " " + std::to_string(warm) + " " +
                                                   proto + " " + std::to_string(text) + " 2000 " + (targets == 1 ? "r1" : "r10"),
                                               120000));
          // Q n errors p50 p90 p99 min max
          const double p50 = std::atof(w.at(3).c_str()), p99 = std::atof(w.at(5).c_str());
          Best& b = best[vi];
          b.errors += std::strtoull(w.at(2).c_str(), nullptr, 10);
          if (std::isnan(b.p50) || p50 < b.p50) {
            b.p50 = p50;
            b.p99 = p99;
          }
        }
        auto raw = raw::ping_pong(s.raw(), proto == "u" ? raw::Kind::unix_stream : raw::Kind::tcp, targets, req, resp,
                                  count, warm);
        const double r50 = percentile(raw, 50), r99 = percentile(raw, 99);
        if (std::isnan(best_raw50) || r50 < best_raw50) {
          best_raw50 = r50;
          best_raw99 = r99;
        }
      }
      const std::string key = "query." + proto + ".to" + std::to_string(targets);
      const double best50 = best[0].p50, best99 = best[0].p99;
      const double ratio = best50 / best_raw50;
      rep.result(key + ".p50_us", best50, "us");
      rep.result(key + ".p99_us", best99, "us");
      rep.result(key + ".raw.p50_us", best_raw50, "us");
      rep.result(key + ".raw.p99_us", best_raw99, "us");
      rep.result(key + ".ratio_p50", ratio, "x");
      std::string target = "—", status = "—";
      if (targets == 1) {
        target = "p50 ≤ 1.5× raw";
        status = rep.target("query to 1 member over " + proto + ": p50 within 1.5x the raw ping-pong", ratio <= 1.5,
                            us(best50) + " vs raw " + us(best_raw50) + " = " + fmt(ratio, 2) + "x");
      }
      progress(key + ": p50 " + us(best50) + " p99 " + us(best99) + ", raw p50 " + us(best_raw50));
      const std::string what = "query round trip to " + std::to_string(targets) + " member" + (targets > 1 ? "s" : "") +
                               " over " + proto;
      rep.rows.push_back(
          {"3", what,
           "1 querier + " + std::to_string(targets) + " responder process" + (targets > 1 ? "es" : "") +
               " (query hook answers at once); " + std::to_string(count) + " sequential queries, " + std::to_string(text) +
               " B text; best p50 of " + std::to_string(reps) +
               (best[0].errors ? "; " + std::to_string(best[0].errors) + " errors" : ""),
           "p50 " + us(best50) + ", p99 " + us(best99),
           "p50 " + us(best_raw50) + ", p99 " + us(best_raw99) + " (" + std::to_string(req) + "/" + std::to_string(resp) +
               " B ping-pong, " + std::to_string(targets) + " echo process" + (targets > 1 ? "es" : "") + ")",
           fmt(ratio, 2) + "× (p99 " + fmt(best99 / best_raw99, 2) + "×)", target, status});
      for (std::size_t vi = 1; vi < vs.size(); ++vi) {
        const Variant& v = vs[vi];
        const Best& b = best[vi];
        const double added = b.p50 - best50, added99 = b.p99 - best99;
        const std::string vkey = key + "." + v.key;
        rep.result(vkey + ".p50_us", b.p50, "us");
        rep.result(vkey + ".p99_us", b.p99, "us");
        rep.result(vkey + ".added_p50_us", added, "us");
        std::string vtarget = "—", vstatus = "—";
        if (v.sealed && targets == 1) {
          vtarget = "≤ +10 µs (p50)";
          vstatus = rep.target("query to 1 member over " + proto + ", encrypted: p50 at most 10 us above plain",
                               added <= 10, us(b.p50) + " vs plain " + us(best50) + " = " + plus_us(added));
        }
        progress(vkey + ": p50 " + us(b.p50) + " p99 " + us(b.p99) + " (" + plus_us(added) + ")");
        rep.rows.push_back({"3", what + ", " + v.name,
                            "the same, [cluster] " + v.opts + " (+" + std::to_string(v.extra) +
                                " B a packet); runs interleaved with the plain ones" +
                                (b.errors ? "; " + std::to_string(b.errors) + " errors" : ""),
                            "p50 " + us(b.p50) + ", p99 " + us(b.p99), "plain: p50 " + us(best50) + ", p99 " + us(best99),
                            plus_us(added) + " p50 (p99 " + plus_us(added99) + ")",
                            vtarget, vstatus});
      }
    }
  }
}

// ---- 4. one-way event throughput ----

void throughput(Settings& s, Report& rep) {
  const int reps = s.quick ? 1 : 3;
  const double seconds = s.tput_seconds > 0 ? s.tput_seconds : s.quick ? 0.6 : 2.0;
  const std::uint64_t count = s.quick ? 1500000 : 6000000;
  const std::string opts = "protocols=u,t,c hb=1000 ttl=10000";
  const auto vs = variants(s);
  // Per variant: process 0 sends, process 1 receives.
  std::vector<std::unique_ptr<Fleet>> fleets;
  std::vector<std::string> rsids;
  for (const auto& v : vs) {
    auto f = variant_fleet(s, v);
    const std::string tag = v.key.empty() ? "" : "-" + v.key;
    f->spawn("tput-send" + tag);
    f->spawn("tput-recv" + tag);
    f->cmd(0, join_line(*f, opts, v));
    f->cmd(1, join_line(*f, opts, v));
    Fleet& fr = *f;
    if (!fr.pump([&] { return fr.mesh_complete(); }, 10000))
      throw std::runtime_error("throughput (" + v.name + "): members did not meet");
    rsids.push_back(f->proc(1).live.front().substr(0, 8));
    fleets.push_back(std::move(f));
  }
  fleets.back()->sleep_pumping(300);

  struct Case {
    std::string proto;
    std::size_t size;
    bool foreign;  ///< Cluster::send from a non-loop thread
    int async_threads = 0;  ///< > 0: Cluster::send_async from this many host threads
    std::string name() const {
      return proto + ":" + std::to_string(size) +
             (async_threads ? ":async" + std::to_string(async_threads) : foreign ? ":foreign" : "");
    }
    std::string host_text() const {
      if (async_threads) return "send_async() from " + std::to_string(async_threads) + " host thread(s) (queued)";
      return "send() from the main thread (posted + waited)";
    }
  };
  struct Best {
    double rate = 0, loss = 0, send_rate = 0;
    std::uint64_t failures = 0, stalls = 0;
  };
  // One blast from process 0 to process 1 of fleet vi; keeps the best rate in b.
  const auto blast = [&](std::size_t vi, const Case& c, std::uint64_t window, Best& b) {
    Fleet& f = *fleets[vi];
    const bool stream = c.proto != "c";
    f.cmd(1, "recv 0 " + std::string(stream ? "1024" : "0"));
    const std::string what = " 0 " + rsids[vi] + " " + c.proto + " " + std::to_string(c.size) + " " +
                             std::to_string(count) + " " + fmt(seconds, 2);
    const std::string cmd = c.async_threads ? "ablast" + what + " " + std::to_string(c.async_threads)
                            : c.foreign     ? "fblast" + what
                                            : "blast" + what + " " + std::to_string(window);
    const auto r = split(f.cmd(0, cmd, static_cast<int>(seconds * 1000) + 30000));
    // B sent failures first last stalled
    const std::uint64_t sent = std::strtoull(r.at(1).c_str(), nullptr, 10);
    b.failures += std::strtoull(r.at(2).c_str(), nullptr, 10);
    if (r.at(5) == "1") ++b.stalls;
    const std::int64_t t_first = std::atoll(r.at(3).c_str()), t_last = std::atoll(r.at(4).c_str());
    // Wait until the receiver has everything, or its count stopped moving for 300 ms.
    std::uint64_t got = 0;
    std::int64_t last_recv = 0, moved = now_ns();
    const std::int64_t limit = now_ns() + 10'000'000'000;
    while (now_ns() < limit) {
      const auto st = split(f.cmd(1, "stats 0"));
      const std::uint64_t n = std::strtoull(st.at(1).c_str(), nullptr, 10);
      last_recv = std::atoll(st.at(3).c_str());
      if (n != got) moved = now_ns();
      got = n;
      if (got >= sent || now_ns() - moved > 300'000'000) break;
      f.sleep_pumping(20);
    }
    const double rate = last_recv > t_first ? static_cast<double>(got) / (static_cast<double>(last_recv - t_first) / 1e9) : 0;
    if (rate > b.rate) {
      b.rate = rate;
      b.loss = sent > 0 ? 100.0 * (1.0 - static_cast<double>(got) / static_cast<double>(sent)) : 0;
      b.send_rate = t_last > t_first ? static_cast<double>(sent) / (static_cast<double>(t_last - t_first) / 1e9) : 0;
    }
  };

  std::vector<Case> cases = {{"u", 64, false}, {"u", 1024, false}, {"t", 64, false},
                             {"t", 1024, false}, {"c", 64, false}, {"c", 1024, false}};
  if (!s.quick) cases.push_back({"u", 64, true});
  // Sends from host threads without waiting (issue 17): 1, 2 and 4 producers.
  if (!s.quick)
    for (int n : {1, 2, 4}) cases.push_back({"u", 64, true, n});
  for (const auto& c : cases) {
    if (!s.tput_cases.empty() &&
        !s.tput_cases.count(c.name()))
      continue;
    const std::size_t wire = wire_size(cluster::PayloadType::event, c.size, false);
    const bool stream = c.proto != "c";
    const std::size_t nv = c.foreign ? 1 : vs.size();  // the foreign-thread case: plain only
    std::vector<Best> best(nv);
    double best_raw = 0, best_raw_loss = 0;
    for (int r = 0; r < reps; ++r) {
      for (std::size_t k = 0; k < nv; ++k) {
        const std::size_t vi = (k + static_cast<std::size_t>(r)) % nv;  // rotate who goes first
        blast(vi, c, stream ? std::min<std::uint64_t>(65536, (8u << 20) / (wire + vs[vi].extra)) : 0, best[vi]);
      }
      raw::Throughput t = stream ? raw::stream(s.raw(), c.proto == "u" ? raw::Kind::unix_stream : raw::Kind::tcp, wire,
                                               count, seconds)
                                 : raw::multicast(s.raw(), s.fleet.group, s.port(), wire, count, seconds);
      if (t.rate() > best_raw) {
        best_raw = t.rate();
        best_raw_loss = t.sent > 0 ? 100.0 * (1.0 - static_cast<double>(t.received) / static_cast<double>(t.sent)) : 0;
      }
    }
    const std::uint64_t window = stream ? std::min<std::uint64_t>(65536, (8u << 20) / wire) : 0;
    const double best_v = best[0].rate, best_loss = best[0].loss, best_send_rate = best[0].send_rate;
    const std::uint64_t failures = best[0].failures, stalls = best[0].stalls;
    const std::string key = "throughput." + c.proto + "." + std::to_string(c.size) +
                            (c.async_threads ? ".host_async.t" + std::to_string(c.async_threads)
                             : c.foreign     ? ".foreign_thread"
                                             : "");
    const double ratio = best_raw > 0 ? best_v / best_raw : NAN;
    // The ZeroMQ baseline: PUSH/PULL over ipc (next to u) and tcp (next to t), same wire size.
    std::string zmq_text;
    if (stream && !c.foreign && zmq_available()) {
      const std::string transport = c.proto == "u" ? "ipc" : "tcp";
      double best_zmq = 0;
      for (int r = 0; r < reps; ++r) best_zmq = std::max(best_zmq, zmq_push_pull(s.raw(), transport, wire, count, seconds).rate());
      rep.result(key + ".zmq.msg_per_s", best_zmq, "msg/s");
      zmq_text = "; ZeroMQ PUSH/PULL over " + transport + ": " + fmt_rate(best_zmq) + " msg/s";
    }
    rep.result(key + ".msg_per_s", best_v, "msg/s");
    rep.result(key + ".sender_msg_per_s", best_send_rate, "msg/s");
    rep.result(key + ".loss_pct", best_loss, "%");
    rep.result(key + ".raw.msg_per_s", best_raw, "msg/s");
    rep.result(key + ".raw.loss_pct", best_raw_loss, "%");
    rep.result(key + ".ratio", ratio, "x");
    std::string target = "—", status = "—";
    const std::string size = c.size == 64 ? "64 B" : "1 KiB";
    if (!c.foreign) {
      if (c.proto == "u") {
        target = "≥ 1M msg/s";
        status = rep.target("throughput u " + size + ": >= 1M msg/s", best_v >= 1e6, fmt_rate(best_v) + " msg/s");
      } else if (c.proto == "t") {
        target = "≥ 500k msg/s";
        status = rep.target("throughput t " + size + ": >= 500k msg/s", best_v >= 5e5, fmt_rate(best_v) + " msg/s");
      } else {
        target = "≥ 80 % of raw";
        status = rep.target("throughput c " + size + ": >= 80% of the raw multicast floor", ratio >= 0.8,
                            fmt_rate(best_v) + " vs raw " + fmt_rate(best_raw) + " msg/s = " + fmt(ratio * 100, 0) + "%");
      }
    }
    progress(key + ": " + fmt_rate(best_v) + " msg/s (loss " + fmt(best_loss, 1) + "%), raw " + fmt_rate(best_raw));
    const std::string what = "events " + c.proto + " " + size;
    rep.rows.push_back(
        {"4", what + (c.async_threads ? ", Cluster::send_async from " + std::to_string(c.async_threads) + " host thread(s)"
                      : c.foreign     ? ", Cluster::send from a non-loop thread"
                                      : ""),
         "sender process → receiver process, " + std::string(c.foreign ? c.host_text()
                                                                       : "send() on the loop thread, 256 per loop turn") +
             (stream && !c.foreign ? ", ≤ " + std::to_string(window) + " un-acked (1 ack event per 1024)"
                                   : ", no flow control") +
             "; ≤ " + fmt(seconds, 1) + " s; " + std::to_string(wire) + " B on the wire; best of " + std::to_string(reps) +
             (failures ? "; " + std::to_string(failures) + " failed sends" : "") +
             (stalls ? "; " + std::to_string(stalls) + " stalled" : ""),
         fmt_rate(best_v) + " msg/s received, loss " + fmt(best_loss, 1) + " % (sent at " + fmt_rate(best_send_rate) + "/s)",
         fmt_rate(best_raw) + " msg/s" + (stream ? "" : ", loss " + fmt(best_raw_loss, 1) + " %") + zmq_text,
         fmt(ratio, 2) + "×", target, status});
    for (std::size_t vi = 1; vi < nv; ++vi) {
      const Variant& v = vs[vi];
      const Best& b = best[vi];
      const double vratio = best_v > 0 ? b.rate / best_v : NAN;
      const std::string vkey = key + "." + v.key;
      rep.result(vkey + ".msg_per_s", b.rate, "msg/s");
      rep.result(vkey + ".loss_pct", b.loss, "%");
      rep.result(vkey + ".ratio_to_plain", vratio, "x");
      std::string vtarget = "—", vstatus = "—";
      if (v.sealed) {
        vtarget = "≥ 0.7× plain";
        vstatus = rep.target("throughput " + c.proto + " " + size + ", encrypted: >= 0.7x plain", vratio >= 0.7,
                             fmt_rate(b.rate) + " vs plain " + fmt_rate(best_v) + " msg/s = " + fmt(vratio, 2) + "x");
      }
      progress(vkey + ": " + fmt_rate(b.rate) + " msg/s (loss " + fmt(b.loss, 1) + "%) = " + fmt(vratio, 2) + "× plain");
      rep.rows.push_back({"4", what + ", " + v.name,
                          "the same, [cluster] " + v.opts + "; " + std::to_string(wire + v.extra) +
                              " B on the wire; runs interleaved with the plain ones" +
                              (b.failures ? "; " + std::to_string(b.failures) + " failed sends" : "") +
                              (b.stalls ? "; " + std::to_string(b.stalls) + " stalled" : ""),
                          fmt_rate(b.rate) + " msg/s received, loss " + fmt(b.loss, 1) + " % (sent at " +
                              fmt_rate(b.send_rate) + "/s)",
                          "plain: " + fmt_rate(best_v) + " msg/s", fmt(vratio, 2) + "× plain", vtarget, vstatus});
    }
  }
}

// ---- 6. footprint of an idle clusterd that knows 200 members ----

long clk_tck() { return ::sysconf(_SC_CLK_TCK); }

/// utime + stime of a process, in clock ticks (-1 when gone).
long long cpu_ticks(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s;
  std::getline(f, s);
  const auto close = s.rfind(')');
  if (close == std::string::npos) return -1;
  const auto w = split(s.substr(close + 2));
  // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
  if (w.size() < 13) return -1;
  return std::atoll(w[11].c_str()) + std::atoll(w[12].c_str());
}

/// A "VmRSS:"-style line of /proc/PID/status, in kB (-1 when missing).
long long status_kb(pid_t pid, const std::string& key) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string l; std::getline(f, l);)
    if (starts_with(l, key + ":")) return std::atoll(l.substr(key.size() + 1).c_str());
  return -1;
}

/// Members clusterd knows, from `{"cmd":"status"}` on its control socket (-1 when it does not
/// answer within a second). Not its log: clusterd logs the first 20 discoveries of a 10 s
/// window one by one and the rest as one summary line at the window's end.
long control_members(const std::string& socket_path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, socket_path.c_str(), sizeof a.sun_path - 1);
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  long members = -1;
  const std::string request = "{\"cmd\":\"status\"}\n";
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    std::string reply;
    char buf[4096];
    for (int reads = 0; reads < 64 && reply.find('\n') == std::string::npos; ++reads) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      reply.append(buf, static_cast<std::size_t>(n));
    }
    const std::string key = "\"members\":";
    if (const auto at = reply.find(key); at != std::string::npos) members = std::atol(reply.c_str() + at + key.size());
  }
  ::close(fd);
  return members;
}

void footprint(Settings& s, Report& rep) {
  if (s.clusterd.empty() || ::access(s.clusterd.c_str(), X_OK) != 0) {
    rep.rows.push_back({"6", "footprint of an idle clusterd", "clusterd not built: skipped", "—", "—", "—", "—", "skipped"});
    rep.notes.push_back("footprint skipped: no clusterd at '" + s.clusterd + "'");
    return;
  }
  const int window = s.quick ? 5 : 10;
  const int members = 200;
  const std::string port = std::to_string(s.port());
  Fleet f(s.fleet, static_cast<std::uint16_t>(std::stoi(port)));
  const std::vector<int> split_of = {50, 50, 50, 50};
  std::vector<std::size_t> procs;
  for (std::size_t i = 0; i < split_of.size(); ++i) procs.push_back(f.spawn("fp-" + std::to_string(i)));
  const std::string opts = "protocols=u,t,c hb=1000 ttl=3000";
  if (!bring_up(f, procs, split_of, opts, 15000)) progress("footprint: the 200 members did not all meet");

  const std::string dir = s.fleet.tmp + "/clusterd";
  fs::create_directories(dir);
  const std::string ini = dir + "/clusterd.ini";
  {
    std::ofstream o(ini);
    o << "[cluster]\naddress = " << s.fleet.group << "\nport = " << port
      << "\nheartbeat = 1000ms\nttl = 3s\nprotocols = u t c\n\n[plugins]\nload = udp-multicast tcp unix\n\n[unix]\npath_prefix = "
      << dir << "/\n\n[control]\nsocket = " << dir << "/clusterd.sock\n\n[logging]\nlevel = information\n";
  }
  ::setenv("CLUSTER_PLUGIN_PATH", s.fleet.plugin_dir.c_str(), 1);
  const std::string log = dir + "/clusterd.log";
  std::vector<std::string> dargv;
  if (const char* wrap = std::getenv("CLUSTER_BENCH_WRAP"))  // profiling: CLUSTER_BENCH_WRAP_MEMBER=clusterd
    if (const char* which = std::getenv("CLUSTER_BENCH_WRAP_MEMBER"); which != nullptr && std::string(which) == "clusterd")
      for (const auto& w : split(wrap)) dargv.push_back(dargv.empty() && w.find('/') == std::string::npos ? "/usr/bin/" + w : w);
  for (const auto& a : {s.clusterd, std::string("--config"), ini}) dargv.push_back(a);
  Child d(dargv, log);
  const auto discovered = [&] { return static_cast<int>(control_members(dir + "/clusterd.sock")); };
  int known = 0;
  const std::int64_t limit = now_ns() + 20'000'000'000;
  while (now_ns() < limit && (known = discovered()) < members) {
    f.sleep_pumping(100);
    d.read_available({});
    if (d.exited()) break;
  }
  // The floor: a plain process that receives the same datagrams (epoll + recv) and drops them.
  Child sink({s.fleet.self, "udp-sink", s.fleet.group, port}, dir + "/udp-sink.err");
  f.sleep_pumping(s.quick ? 1000 : 2000);  // settle: connections made, first heartbeats done
  const pid_t pid = d.pid();
  const long long t0 = cpu_ticks(pid);
  const long long sink0 = cpu_ticks(sink.pid());
  const long long ns0 = sched_ns(pid), sink_ns0 = sched_ns(sink.pid());
  std::vector<long long> member_t0;
  for (auto p : procs) member_t0.push_back(cpu_ticks(f.proc(p).child->pid()));
  const std::int64_t w0 = now_ns();
  const std::uint64_t drops0 = udp_rcvbuf_errors();
  f.sleep_pumping(window * 1000);
  const std::uint64_t window_drops = udp_rcvbuf_errors() - drops0;
  const long long t1 = cpu_ticks(pid);
  const long long sink1 = cpu_ticks(sink.pid());
  const long long ns1 = sched_ns(pid), sink_ns1 = sched_ns(sink.pid());
  const double wall = static_cast<double>(now_ns() - w0) / 1e9;
  const double sink_cpu = 100.0 * static_cast<double>(sink1 - sink0) / static_cast<double>(clk_tck()) / wall;
  const double cpu_exact = 100.0 * static_cast<double>(ns1 - ns0) / 1e9 / wall;
  const double sink_exact = 100.0 * static_cast<double>(sink_ns1 - sink_ns0) / 1e9 / wall;
  const long long anon = status_kb(pid, "RssAnon"), file = status_kb(pid, "RssFile");
  // The largest mappings by RSS (shared libraries, heap).
  std::map<std::string, long long> by_map;
  {
    std::ifstream sm("/proc/" + std::to_string(pid) + "/smaps");
    std::string name;
    for (std::string l; std::getline(sm, l);) {
      const auto w = split(l);
      if (w.empty()) continue;
      if (w[0].find('-') != std::string::npos && w[0].back() != ':') name = w.size() >= 6 ? fs::path(w[5]).filename().string() : "[anon]";
      else if (w[0] == "Rss:" && w.size() >= 2) by_map[name] += std::atoll(w[1].c_str());
    }
  }
  std::vector<std::pair<long long, std::string>> top;
  for (const auto& [name, kb] : by_map) top.emplace_back(kb, name);
  std::sort(top.rbegin(), top.rend());
  std::string top_text;
  for (std::size_t i = 0; i < top.size() && i < 8; ++i)
    top_text += (i ? ", " : "") + top[i].second + " " + fmt(static_cast<double>(top[i].first) / 1024, 2) + " MiB";
  long long member_ticks = 0;
  for (std::size_t i = 0; i < procs.size(); ++i) member_ticks += cpu_ticks(f.proc(procs[i]).child->pid()) - member_t0[i];
  const long long rss = status_kb(pid, "VmRSS"), hwm = status_kb(pid, "VmHWM");
  // RSS counts every shared-library page mapped, and how many the kernel maps per fault varies
  // (large page-cache folios: a plain `sleep` maps 1.5 MiB of files on 6.18, ~1 MiB on 6.1).
  // USS (private pages) is what this process alone costs.
  long long uss = 0, pss = -1;
  {
    std::ifstream sr("/proc/" + std::to_string(pid) + "/smaps_rollup");
    for (std::string l; std::getline(sr, l);) {
      const auto w = split(l);
      if (w.size() < 2) continue;
      if (w[0] == "Pss:") pss = std::atoll(w[1].c_str());
      if (w[0] == "Private_Clean:" || w[0] == "Private_Dirty:") uss += std::atoll(w[1].c_str());
    }
  }
  known = discovered();
  const double cpu = t0 < 0 || t1 < 0 ? NAN : 100.0 * static_cast<double>(t1 - t0) / static_cast<double>(clk_tck()) / wall;
  const double member_cpu = 100.0 * static_cast<double>(member_ticks) / static_cast<double>(clk_tck()) / wall;
  ::kill(pid, SIGTERM);
  d.wait_exit(std::chrono::milliseconds(3000));
  sink.close_stdin();
  sink.wait_exit(std::chrono::milliseconds(2000));

  rep.result("footprint.clusterd.rss_kb", static_cast<double>(rss), "kB");
  rep.result("footprint.clusterd.hwm_kb", static_cast<double>(hwm), "kB");
  rep.result("footprint.clusterd.rss_anon_kb", static_cast<double>(anon), "kB");
  rep.result("footprint.clusterd.rss_file_kb", static_cast<double>(file), "kB");
  rep.result("footprint.clusterd.pss_kb", static_cast<double>(pss), "kB");
  rep.result("footprint.clusterd.uss_kb", static_cast<double>(uss), "kB");
  rep.result("footprint.raw_udp_sink.cpu_pct", sink_cpu, "%");
  rep.result("footprint.clusterd.cpu_pct_schedstat", cpu_exact, "%");
  rep.result("footprint.raw_udp_sink.cpu_pct_schedstat", sink_exact, "%");
  rep.result("footprint.clusterd.cpu_pct", cpu, "%");
  rep.result("footprint.clusterd.members_known", known, "members");
  rep.result("footprint.members.cpu_pct_per_instance", member_cpu / members, "%");
  rep.result("footprint.udp_rcvbuf_drops_in_window", static_cast<double>(window_drops), "datagrams");
  const std::string s_rss = rep.target("footprint: idle clusterd RSS <= 10 MiB with 200 members", rss >= 0 && rss <= 10240,
                                       fmt(static_cast<double>(rss) / 1024, 2) + " MiB = " +
                                           fmt(static_cast<double>(rss) * 1024 / 1e6, 2) + " MB, " + std::to_string(known) +
                                           " known");
  const std::string s_cpu = rep.target("footprint: idle clusterd CPU <= 1% of a core with 200 members", cpu <= 1.0,
                                       fmt(cpu, 2) + "% over " + fmt(wall, 1) + " s");
  const std::string how = "clusterd --config (hb 1 s, ttl 3 s, protocols u t c) + 4 processes × 50 instances (hb 1 s); " +
                          std::to_string(known) + " members known";
  rep.notes.push_back("clusterd RSS by mapping: " + top_text + " (RssAnon " + fmt(static_cast<double>(anon) / 1024, 2) +
                      " MiB, RssFile " + fmt(static_cast<double>(file) / 1024, 2) + " MiB)");
  rep.rows.push_back({"6", "idle clusterd RSS (VmRSS)", how,
                      fmt(static_cast<double>(rss) / 1024, 2) + " MiB = " + fmt(static_cast<double>(rss) * 1024 / 1e6, 2) +
                          " MB (peak " + fmt(static_cast<double>(hwm) / 1024, 2) + " MiB); anon " +
                          fmt(static_cast<double>(anon) / 1024, 2) + " MiB, file-backed " +
                          fmt(static_cast<double>(file) / 1024, 2) + " MiB; PSS " +
                          fmt(static_cast<double>(pss) / 1024, 2) + " MiB, private (USS) " +
                          fmt(static_cast<double>(uss) / 1024, 2) + " MiB",
                      "—", "—", "≤ 10 MiB (10240 kB)", s_rss});
  rep.rows.push_back({"6", "idle clusterd CPU", "utime+stime over " + fmt(wall, 1) + " s (10 ms ticks; schedstat: " +
                                                     fmt(cpu_exact, 2) + " %, floor " + fmt(sink_exact, 2) +
                                                     " %); the 200 instances used " +
                                                     fmt(member_cpu / members, 3) + " % each; " +
                                                     std::to_string(window_drops) + " datagrams dropped meanwhile",
                      fmt(cpu, 2) + " % of one core",
                      fmt(sink_cpu, 2) + " % (a plain epoll+recv process on the same group and port)",
                      sink_cpu > 0 ? fmt(cpu / sink_cpu, 1) + "×" : "—", "≤ 1 %", s_cpu});
}

}  // namespace

int driver_main(int argc, char** argv) {
  Settings s;
  std::string plugin_dir;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") s.quick = true;
    else if (a == "--plugins" && i + 1 < argc) plugin_dir = argv[++i];
    else if (a == "--clusterd" && i + 1 < argc) s.clusterd = argv[++i];
    else if (a == "--rcvbuf" && i + 1 < argc) s.fleet.rcvbuf = argv[++i];
    else if (a == "--tput-cases" && i + 1 < argc)
      for (const auto& x : split(argv[++i], ',')) s.tput_cases.insert(x);
    else if (a == "--tput-seconds" && i + 1 < argc) s.tput_seconds = std::atof(argv[++i]);
    else if (a == "--envelopes" && i + 1 < argc) {
      s.envelopes.clear();
      for (const auto& x : split(argv[++i], ',')) s.envelopes.insert(x);
    }
    else if (a == "--discovery-sizes" && i + 1 < argc)
      for (const auto& x : split(argv[++i], ',')) s.discovery_sizes.insert(std::atoi(x.c_str()));
    else if (a == "--only" && i + 1 < argc)
      for (const auto& x : split(argv[++i], ',')) s.only.insert(x);
    else {
      std::fprintf(stderr,
                   "usage: cluster_bench run --plugins DIR [--clusterd PATH] [--quick] "
                   "[--only discovery,failure,query,throughput,footprint] [--envelopes label,encrypt|none]\n");
      return 2;
    }
  }
  if (!test_support::in_private_netns()) {
    std::fprintf(stderr, "cluster_bench: run me inside a private network namespace (tests/bench/run does; "
                         "tests/plugins/netns-run sets CLUSTER_NETNS=1)\n");
    return 77;
  }
  if (plugin_dir.empty()) {
    std::fprintf(stderr, "cluster_bench: --plugins DIR is required\n");
    return 2;
  }
  char tmpl[] = "/tmp/cbench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  s.fleet.tmp = tmpl;
  s.fleet.plugin_dir = plugin_dir;
  s.fleet.self = fs::read_symlink("/proc/self/exe").string();
  Report rep;
  if (s.envelopes.count("encrypt") && (s.wants("query") || s.wants("throughput"))) {
    s.keyring = s.fleet.tmp + "/keyring";  // in the mkdtemp folder (0700), removed with it
    std::string why;
    if (!fs::exists(plugin_dir + "/cluster-encrypt.so")) why = "no cluster-encrypt.so in " + plugin_dir;
    else if (!write_keyring(s.keyring)) why = "cannot write " + s.keyring;
    if (!why.empty()) {
      rep.notes.push_back(why + ": the encrypted variants are skipped");
      progress(rep.notes.back());
      s.keyring.clear();
    }
  }
  int rc = 0;
  const std::vector<std::pair<std::string, std::function<void(Settings&, Report&)>>> scenarios = {
      {"discovery", discovery}, {"failure", failure}, {"query", query}, {"throughput", throughput}, {"footprint", footprint}};
  for (const auto& [name, fn] : scenarios) {
    if (!s.wants(name)) continue;
    const std::int64_t t0 = now_ns();
    progress(name + "...");
    try {
      fn(s, rep);
    } catch (const std::exception& e) {
      rc = 1;
      rep.notes.push_back(name + " failed: " + e.what());
      progress(name + " FAILED: " + e.what());
    }
    progress(name + " took " + fmt(static_cast<double>(now_ns() - t0) / 1e9, 1) + " s");
  }
  rep.print();
  std::error_code ec;
  if (rc == 0) fs::remove_all(s.fleet.tmp, ec);
  else std::fprintf(stderr, "cluster_bench: kept %s (member stderr)\n", s.fleet.tmp.c_str());
  return rc;
}

}  // namespace bench
