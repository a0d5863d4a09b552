// `cluster_bench scale`: the scale suite (docs/benchmarks.md, "Scale"), run by
// `tests/bench/run --only scale` inside the private network namespace of tests/plugins/netns-run.
// Not part of `cluster_bench run`: it takes minutes.
//
//   cluster_bench scale --plugins DIR [--quick] [--csv FILE] [--sizes 0,1000,...] [--hb MS]
//                       [--burst MS] [--window S] [--fleet N[:HB[:STAGGER]],...|0] [--fleet-per K] [--fleet-hb MS]
//                       [--fleet-stagger MS] [--fleet-rcvbuf default,BYTES]
//
// Two parts:
//  1. Synthetic members (bench_synth.cpp): for each N of --sizes one `cluster_bench synth`
//     process multicasts the heartbeats of N members (a full one each at once, then bare ones
//     every --hb ms), and ONE real observer instance (a member process, protocols c, remote = 1,
//     max_members raised) takes them in. Per N: time until the observer has discovered all N
//     (cold-start storm), datagrams dropped (RcvbufErrors), then over --window seconds the
//     observer process' on-CPU time (/proc/PID/task/*/schedstat), its Counters::received, and
//     the bytes its "c" protocol received (Cluster::stats); heap in use (mallinfo2) before the
//     synth starts and after the window. Per member: memory = heap growth / N, CPU per heartbeat
//     = (CPU rate - the N = 0 run's) / packets received per second.
//  2. Real fleets (--fleet N[:HB[:STAGGER]],..., 0 = none; HB and STAGGER in ms, default --fleet-hb
//     and --fleet-stagger): member processes of --fleet-per instances (100) on one shared loop
//     each (cold start: every process joins its instances in one go), hb --fleet-hb, protocols c,
//     quiet (no per-pair lines): each instance reports once when it knows N - 1 (join option
//     await). Cold-start convergence (p50 and last instance), drops, then over the window the
//     processes' CPU and Counters::received, heap and RSS per process.
// Prints a markdown table and RESULT lines; --csv writes one row per measurement for
// tests/bench/scale_plot (the model, the PNG).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench_fleet.hpp"
#include "bench_util.hpp"
#include "netns.hpp"

namespace bench {
namespace {

namespace fs = std::filesystem;

const std::int64_t g_started = now_ns();

void progress(const std::string& s) {
  std::fprintf(stderr, "[scale %6.1f s] %s\n", static_cast<double>(now_ns() - g_started) / 1e9, s.c_str());
  std::fflush(stderr);
}

/// Udp InErrors of this network namespace (/proc/net/snmp): datagrams dropped because a
/// socket's receive buffer was full (RcvbufErrors) or UDP memory as a whole ran short
/// (MemErrors: net.ipv4.udp_mem; 1,000 sockets × 4 MiB reach it).
std::uint64_t udp_in_errors() {
  std::ifstream f("/proc/net/snmp");
  std::vector<std::string> h, v;
  for (std::string l; std::getline(f, l);) {
    if (!starts_with(l, "Udp:")) continue;
    if (h.empty()) h = split(l);
    else {
      v = split(l);
      break;
    }
  }
  for (std::size_t i = 0; i < h.size() && i < v.size(); ++i)
    if (h[i] == "InErrors") return std::strtoull(v[i].c_str(), nullptr, 10);
  return 0;
}

struct Mem {
  double heap = NAN, anon_kb = NAN, rss_kb = NAN;
};
Mem mem(Fleet& f, std::size_t p) {
  const auto w = split(f.cmd(p, "mem"));
  Mem m;
  if (w.size() == 4) {
    m.heap = std::atof(w[1].c_str());
    m.anon_kb = std::atof(w[2].c_str());
    m.rss_kb = std::atof(w[3].c_str());
  }
  return m;
}

struct Traffic {
  double bytes = 0, packets = 0, received = 0;
};
Traffic traffic(Fleet& f, std::size_t p, int idx) {
  const auto w = split(f.cmd(p, "traffic " + std::to_string(idx)));
  Traffic t;
  if (w.size() == 4) {
    t.bytes = std::atof(w[1].c_str());
    t.packets = std::atof(w[2].c_str());
    t.received = std::atof(w[3].c_str());
  }
  return t;
}

double counter(Fleet& f, std::size_t p, const std::string& key) {
  for (const auto& kv : split(f.cmd(p, "counters")))
    if (starts_with(kv, key + "=")) return std::atof(kv.c_str() + key.size() + 1);
  return 0;
}

/// One row of the CSV (and of the table).
struct Row {
  std::string kind;  ///< synth | fleet
  long n = 0;        ///< members (synth: synthetic ones the observer hears; fleet: instances)
  long procs = 1, hb_ms = 0, burst_ms = 0;
  std::string rcvbuf = "default";
  double heap_before = NAN, heap_after = NAN, anon_before_kb = NAN, anon_after_kb = NAN;
  double mem_per_member = NAN;   ///< bytes of heap per known member
  double anon_per_member = NAN;  ///< bytes of RssAnon per known member
  double rx_per_s = NAN;         ///< packets received per second per member
  double bytes_per_s = NAN;      ///< bytes received over "c" per second per member
  double cpu_ns_per_s = NAN;     ///< observer process CPU (synth) / per member (fleet), ns per s
  double cpu_ns_per_hb = NAN;    ///< per received heartbeat (synth: minus the N = 0 baseline)
  double sink_ns_per_hb = NAN;   ///< the floor: a plain epoll + recv process on the same group and port
  double conv_ms = NAN, conv_p50_ms = NAN;
  double drops_conv = NAN, drops_window = NAN;
  double known = NAN;      ///< synth: what the observer knows; fleet: instances that knew all in time
  double known_avg = NAN;  ///< fleet: members known by instance 0 of each process after the window (mean)
  long stagger_ms = 0;     ///< fleet: pause between two processes' joins
  long bare_b = 0, full_b = 0;
  double seconds = NAN;  ///< how long this measurement took
};

std::string num(double v, int d = 1) { return std::isnan(v) ? "nan" : fmt(v, d); }

struct Settings {
  bool quick = false;
  std::vector<long> sizes;
  long hb_ms = 1000, burst_ms = 0;
  double window = 10;
  struct FleetSpec {
    long n, hb_ms, stagger_ms;
  };
  std::vector<FleetSpec> fleets;  ///< real fleets: N[:hb ms[:stagger ms]]
  long evict_n = 10000;           ///< mass eviction: synthetic members (0 = none)
  double evict_frac = 0.1;        ///< ... of which this fraction stops at once
  long fleet_per = 100, fleet_hb_ms = 5000, fleet_stagger_ms = 0;
  std::vector<std::string> fleet_rcvbufs;
  std::string csv;
  FleetConfig fc;
  std::uint16_t next_port = 25100;
};

Row synth_run(Settings& s, long n, double base_cpu_ns_per_s) {
  const std::int64_t began = now_ns();
  Row r;
  r.kind = "synth";
  r.n = n;
  r.hb_ms = s.hb_ms;
  r.burst_ms = s.burst_ms;
  const std::uint16_t port = s.next_port++;
  Fleet f(s.fc, port);
  const std::size_t obs = f.spawn("scale-obs-" + std::to_string(n));
  std::string opts = "protocols=c hb=1000 ttl=60000 remote=1 quiet=1 maxm=" + std::to_string(n + 1000);
  if (n > 0) opts += " await=" + std::to_string(n);
  f.cmd(obs, "join 1 " + f.join_options(opts));
  f.sleep_pumping(1000);
  const Mem m0 = mem(f, obs);
  r.heap_before = m0.heap;
  r.anon_before_kb = m0.anon_kb;
  const pid_t pid = f.proc(obs).child->pid();
  const std::string uuid = f.proc(obs).uuid_by_idx.at(0);

  std::unique_ptr<Child> synth;
  std::int64_t t_start = 0;
  const std::uint64_t drops0 = udp_in_errors();
  if (n > 0) {
    const double limit = (s.window + 60);
    synth = std::make_unique<Child>(
        std::vector<std::string>{s.fc.self, "synth", "--group", s.fc.group, "--port", std::to_string(port), "--members",
                                 std::to_string(n), "--hb", std::to_string(s.hb_ms), "--burst",
                                 std::to_string(s.burst_ms), "--seconds", fmt(limit, 0)},
        s.fc.tmp + "/synth-" + std::to_string(n) + ".err");
    const std::int64_t until = now_ns() + 20'000'000'000;
    while (t_start == 0 && now_ns() < until && !synth->exited()) {
      synth->read_available([&](const std::string& l) {
        const auto w = split(l);
        if (w.size() == 3 && w[0] == "sizes") {
          r.full_b = std::atol(w[1].c_str());
          r.bare_b = std::atol(w[2].c_str());
        }
        if (w.size() == 2 && w[0] == "start") t_start = std::atoll(w[1].c_str());
      });
      ::usleep(2000);
      synth->reap();
    }
    if (t_start == 0) throw std::runtime_error("synth " + std::to_string(n) + " did not start");
    // Cold start: until the observer has discovered all n (bounded: a few heartbeat periods).
    const int limit_ms = static_cast<int>(std::max<long>(20000, 8 * s.hb_ms));
    if (f.pump([&] { return f.reached.count(uuid) != 0; }, limit_ms))
      r.conv_ms = static_cast<double>(f.reached.at(uuid) - t_start) / 1e6;
    r.drops_conv = static_cast<double>(udp_in_errors() - drops0);
    f.sleep_pumping(1500);  // the bare heartbeats' steady state
  }
  // The floor beside it: `cluster_bench udp-sink` (epoll + recv until EAGAIN, drops everything).
  std::unique_ptr<Child> sink;
  if (n > 0) {
    sink = std::make_unique<Child>(std::vector<std::string>{s.fc.self, "udp-sink", s.fc.group, std::to_string(port)},
                                   s.fc.tmp + "/sink-" + std::to_string(n) + ".err");
    bool ready = false;
    const std::int64_t until = now_ns() + 10'000'000'000;
    while (!ready && now_ns() < until && !sink->exited()) {
      sink->read_available([&](const std::string& l) { ready = ready || starts_with(l, "ready"); });
      ::usleep(2000);
      sink->reap();
    }
    f.sleep_pumping(300);
  }
  const std::uint64_t d1 = udp_in_errors();
  const Traffic t0 = traffic(f, obs, 0);
  const long long c0 = sched_ns(pid), k0 = sink ? sched_ns(sink->pid()) : 0;
  const std::int64_t w0 = now_ns();
  f.sleep_pumping(static_cast<int>(s.window * 1000));
  const Traffic t1 = traffic(f, obs, 0);
  const long long c1 = sched_ns(pid), k1 = sink ? sched_ns(sink->pid()) : 0;
  const double wall = static_cast<double>(now_ns() - w0) / 1e9;
  if (sink) {
    sink->close_stdin();
    sink->wait_exit(std::chrono::milliseconds(3000));
  }
  r.drops_window = static_cast<double>(udp_in_errors() - d1);
  const Mem m1 = mem(f, obs);
  r.heap_after = m1.heap;
  r.anon_after_kb = m1.anon_kb;
  r.known = std::atof(split(f.cmd(obs, "known 0")).back().c_str());
  r.rx_per_s = (t1.received - t0.received) / wall;
  r.bytes_per_s = (t1.bytes - t0.bytes) / wall;
  r.cpu_ns_per_s = static_cast<double>(c1 - c0) / wall;
  if (n > 0) {
    r.mem_per_member = (r.heap_after - r.heap_before) / static_cast<double>(n);
    r.anon_per_member = (r.anon_after_kb - r.anon_before_kb) * 1024 / static_cast<double>(n);
    if (r.rx_per_s > 0) r.sink_ns_per_hb = static_cast<double>(k1 - k0) / wall / r.rx_per_s;
    if (r.rx_per_s > 0) r.cpu_ns_per_hb = (r.cpu_ns_per_s - (std::isnan(base_cpu_ns_per_s) ? 0 : base_cpu_ns_per_s)) / r.rx_per_s;
  }
  if (synth) {
    synth->close_stdin();
    synth->wait_exit(std::chrono::milliseconds(5000));
  }
  r.seconds = static_cast<double>(now_ns() - began) / 1e9;
  return r;
}

/// Mass eviction: n synthetic members known by one observer (hb --hb, ttl 3 periods), then
/// a fraction of them stops at once (at a period start; their last heartbeats spread over the
/// period before). Measures when each is lost (from its own last heartbeat), the spread of the
/// service_lost times, and the observer's CPU in 250 ms samples against its steady rate.
struct Evict {
  long n = 0, k = 0, lost = 0;
  long ttl_ms = 0;
  double delay_p50_ms = NAN, delay_max_ms = NAN, delay_min_ms = NAN, spread_ms = NAN;
  double steady_pct = NAN, peak_pct = NAN, extra_us_per_eviction = NAN;
  double seconds = NAN;
};

Evict evict_run(Settings& s, long n, double frac) {
  const std::int64_t began = now_ns();
  Evict e;
  e.n = n;
  e.ttl_ms = 3 * s.hb_ms;
  const std::uint16_t port = s.next_port++;
  Fleet f(s.fc, port);
  const std::size_t obs = f.spawn("scale-evict-" + std::to_string(n));
  f.cmd(obs, "join 1 " + f.join_options("protocols=c hb=1000 ttl=" + std::to_string(e.ttl_ms) +
                                        " remote=1 quiet=2 maxm=" + std::to_string(n + 1000) + " await=" + std::to_string(n)));
  const pid_t pid = f.proc(obs).child->pid();
  const std::string uuid = f.proc(obs).uuid_by_idx.at(0);
  const double stop_after = 8 + 2.0 * static_cast<double>(s.hb_ms) / 1000;  // converged (~3 periods) and steady first
  Child synth({s.fc.self, "synth", "--group", s.fc.group, "--port", std::to_string(port), "--members", std::to_string(n),
               "--hb", std::to_string(s.hb_ms), "--burst", "0", "--seconds", fmt(stop_after + 30, 0), "--stop-after",
               fmt(stop_after, 1), "--stop-frac", fmt(frac, 3)},
              s.fc.tmp + "/synth-evict.err");
  std::int64_t t_stop = 0;
  auto read_synth = [&] {
    synth.read_available([&](const std::string& l) {
      const auto w = split(l);
      if (w.size() == 3 && w[0] == "stopped") {
        t_stop = std::atoll(w[1].c_str());
        e.k = std::atol(w[2].c_str());
      }
    });
  };
  if (!f.pump([&] {
        read_synth();
        return f.reached.count(uuid) != 0;
      }, 30000))
    throw std::runtime_error("eviction: the observer did not discover all " + std::to_string(n));
  // Steady CPU: from now until the stop.
  f.sleep_pumping(1000);
  const long long c_steady0 = sched_ns(pid);
  const std::int64_t ts0 = now_ns();
  f.pump([&] {
    read_synth();
    return t_stop != 0;
  }, static_cast<int>(stop_after * 1000) + 10000);
  if (t_stop == 0) throw std::runtime_error("eviction: the synth did not report its stop");
  f.pump([&] { return now_ns() >= t_stop; }, 5000);
  const long long c_steady1 = sched_ns(pid);
  const double steady_ns_per_s = static_cast<double>(c_steady1 - c_steady0) / (static_cast<double>(now_ns() - ts0) / 1e9);
  e.steady_pct = steady_ns_per_s / 1e7;
  // 250 ms CPU samples until ttl + grace + 2 periods after the stop, or until all k are lost.
  std::vector<std::pair<std::int64_t, long long>> samples{{now_ns(), sched_ns(pid)}};
  const std::int64_t end = t_stop + (e.ttl_ms + 2 * s.hb_ms + 2000) * 1'000'000LL;
  f.pump([&] {
    const std::int64_t t = now_ns();
    if (t - samples.back().first >= 250'000'000) samples.emplace_back(t, sched_ns(pid));
    return t >= end;
  }, static_cast<int>((end - now_ns()) / 1'000'000) + 1000);
  // Who was lost, when, relative to its last heartbeat (member i: about t_stop - hb + i * hb / n).
  std::vector<double> delays, at;
  const auto it = f.lost.find(uuid);
  if (it != f.lost.end())
    for (const auto& [peer, tr] : it->second) {
      if (peer.empty() || peer[0] != 'S') continue;
      const long i = std::atol(peer.c_str() + 1);
      const double last = static_cast<double>(t_stop) - static_cast<double>(s.hb_ms) * 1e6 +
                          static_cast<double>(i) * static_cast<double>(s.hb_ms) * 1e6 / static_cast<double>(n);
      delays.push_back((static_cast<double>(tr.first) - last) / 1e6);
      at.push_back(static_cast<double>(tr.first));
    }
  e.lost = static_cast<long>(delays.size());
  if (!delays.empty()) {
    e.delay_min_ms = minimum(delays);
    e.delay_max_ms = maximum(delays);
    e.delay_p50_ms = percentile(delays, 50);
    e.spread_ms = (maximum(at) - minimum(at)) / 1e6;
    // Extra CPU: the samples covering the losses, above the steady rate.
    const double first = minimum(at) - 250e6, last = maximum(at) + 250e6;
    double extra = 0, peak = 0;
    for (std::size_t j = 1; j < samples.size(); ++j) {
      const double dt = static_cast<double>(samples[j].first - samples[j - 1].first) / 1e9;
      const double rate = static_cast<double>(samples[j].second - samples[j - 1].second) / dt;
      peak = std::max(peak, rate / 1e7);
      if (static_cast<double>(samples[j].first) >= first && static_cast<double>(samples[j - 1].first) <= last)
        extra += (rate - steady_ns_per_s) * dt;
    }
    e.peak_pct = peak;
    e.extra_us_per_eviction = extra / 1000 / static_cast<double>(e.lost);
  }
  synth.close_stdin();
  synth.wait_exit(std::chrono::milliseconds(5000));
  e.seconds = static_cast<double>(now_ns() - began) / 1e9;
  return e;
}

Row fleet_run(Settings& s, const Settings::FleetSpec& spec, const std::string& rcvbuf) {
  const long n = spec.n, hb_ms = spec.hb_ms;
  const std::int64_t began = now_ns();
  Row r;
  r.kind = "fleet";
  r.n = n;
  r.procs = (n + s.fleet_per - 1) / s.fleet_per;
  r.hb_ms = hb_ms;
  r.rcvbuf = rcvbuf;
  FleetConfig fc = s.fc;
  fc.rcvbuf = rcvbuf;
  Fleet f(fc, s.next_port++);
  std::vector<std::size_t> procs;
  std::vector<long> per;
  for (long i = 0; i < r.procs; ++i) {
    procs.push_back(f.spawn("scale-fleet-" + std::to_string(i)));
    per.push_back(n / r.procs + (i < n % r.procs ? 1 : 0));
  }
  double heap0 = 0;
  for (auto p : procs) heap0 += mem(f, p).heap;
  const std::string opts = "protocols=c hb=" + std::to_string(hb_ms) + " ttl=" + std::to_string(6 * hb_ms) + " quiet=1 await=" + std::to_string(n - 1);
  const std::uint64_t drops0 = udp_in_errors();
  r.stagger_ms = spec.stagger_ms;
  // Cold start: every process joins all its instances in one go (one loop call), the processes
  // --fleet-stagger ms apart; convergence counts from the last process' join.
  std::int64_t t0 = now_ns();
  for (std::size_t i = 0; i < procs.size(); ++i) {
    if (i > 0 && spec.stagger_ms > 0) f.sleep_pumping(static_cast<int>(spec.stagger_ms));
    t0 = now_ns();
    f.cmd(procs[i], "join " + std::to_string(per[i]) + " " + f.join_options(opts), 120000);
  }
  const int limit_ms = static_cast<int>(std::max<long>(30000, 8 * hb_ms));
  f.pump([&] { return f.reached.size() >= static_cast<std::size_t>(n); }, limit_ms);
  std::vector<double> conv;
  for (const auto& [u, t] : f.reached) conv.push_back(static_cast<double>(t - t0) / 1e6);
  r.known = static_cast<double>(conv.size());  // instances that knew all the others in time
  if (conv.size() >= static_cast<std::size_t>(n)) r.conv_ms = maximum(conv);
  r.conv_p50_ms = percentile(conv, 50);
  r.drops_conv = static_cast<double>(udp_in_errors() - drops0);
  progress("fleet " + std::to_string(n) + " (receive_buffer " + rcvbuf + "): " + std::to_string(conv.size()) +
           " instances knew all within " + std::to_string(limit_ms) + " ms; last " + num(r.conv_ms, 0) + " ms, p50 " +
           num(r.conv_p50_ms, 0) + " ms, " + num(r.drops_conv, 0) + " drops");
  f.sleep_pumping(2000);
  const std::uint64_t d1 = udp_in_errors();
  double rx0 = 0, rx1 = 0;
  long long c0 = 0, c1 = 0;
  for (auto p : procs) rx0 += counter(f, p, "received");
  const Traffic tr0 = traffic(f, procs[0], 0);
  for (auto p : procs) c0 += sched_ns(f.proc(p).child->pid());
  const std::int64_t w0 = now_ns();
  f.sleep_pumping(static_cast<int>(s.window * 1000));
  for (auto p : procs) c1 += sched_ns(f.proc(p).child->pid());
  const double wall = static_cast<double>(now_ns() - w0) / 1e9;
  for (auto p : procs) rx1 += counter(f, p, "received");
  const Traffic tr1 = traffic(f, procs[0], 0);
  r.drops_window = static_cast<double>(udp_in_errors() - d1);
  double heap1 = 0, anon1 = 0;
  for (auto p : procs) {
    const Mem m = mem(f, p);
    heap1 += m.heap;
    anon1 += m.anon_kb;
  }
  r.heap_before = heap0;
  r.heap_after = heap1;
  r.anon_after_kb = anon1;
  double known_sum = 0;
  for (auto p : procs) known_sum += std::atof(split(f.cmd(p, "known 0")).back().c_str());
  r.known_avg = known_sum / static_cast<double>(procs.size());
  const double pairs = static_cast<double>(n) * static_cast<double>(n - 1);
  r.mem_per_member = (heap1 - heap0) / pairs;  // includes each instance's own fixed cost
  r.anon_per_member = anon1 * 1024 / pairs;
  r.rx_per_s = (rx1 - rx0) / wall / static_cast<double>(n);
  r.bytes_per_s = (tr1.bytes - tr0.bytes) / wall;  // instance 0 of the first process
  r.cpu_ns_per_s = static_cast<double>(c1 - c0) / wall / static_cast<double>(n);
  if (r.rx_per_s > 0) r.cpu_ns_per_hb = r.cpu_ns_per_s / r.rx_per_s;
  r.seconds = static_cast<double>(now_ns() - began) / 1e9;
  return r;
}

}  // namespace

int scale_main(int argc, char** argv) {
  Settings s;
  std::string plugin_dir, sizes, rcvbufs, fleets;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has = i + 1 < argc;
    if (a == "--quick") s.quick = true;
    else if (a == "--plugins" && has) plugin_dir = argv[++i];
    else if (a == "--csv" && has) s.csv = argv[++i];
    else if (a == "--sizes" && has) sizes = argv[++i];
    else if (a == "--hb" && has) s.hb_ms = std::atol(argv[++i]);
    else if (a == "--burst" && has) s.burst_ms = std::atol(argv[++i]);
    else if (a == "--window" && has) s.window = std::atof(argv[++i]);
    else if (a == "--fleet" && has) fleets = argv[++i];
    else if (a == "--fleet-per" && has) s.fleet_per = std::atol(argv[++i]);
    else if (a == "--evict" && has) s.evict_n = std::atol(argv[++i]);
    else if (a == "--evict-frac" && has) s.evict_frac = std::atof(argv[++i]);
    else if (a == "--fleet-hb" && has) s.fleet_hb_ms = std::atol(argv[++i]);
    else if (a == "--fleet-stagger" && has) s.fleet_stagger_ms = std::atol(argv[++i]);
    else if (a == "--fleet-rcvbuf" && has) rcvbufs = argv[++i];
    else {
      std::fprintf(stderr,
                   "usage: cluster_bench scale --plugins DIR [--quick] [--csv FILE] [--sizes 0,1000,...] [--hb MS] "
                   "[--burst MS] [--window S] [--fleet N[:HB[:STAGGER]],...|0] [--fleet-per K] [--fleet-hb MS] [--fleet-stagger MS] "
                   "[--fleet-rcvbuf default,4194304] [--evict N|0] [--evict-frac F]\n");
      return 2;
    }
  }
  if (!test_support::in_private_netns()) {
    std::fprintf(stderr, "cluster_bench scale: run me inside a private network namespace (tests/bench/run does)\n");
    return 77;
  }
  if (plugin_dir.empty() || s.hb_ms <= 0 || s.window <= 0 || s.fleet_per <= 0 || s.fleet_hb_ms <= 0) {
    std::fprintf(stderr, "cluster_bench scale: --plugins DIR is required; periods and the window must be > 0\n");
    return 2;
  }
  if (sizes.empty()) sizes = s.quick ? "0,1000,5000" : "0,1000,2000,5000,10000,20000,50000";
  for (const auto& x : split(sizes, ',')) s.sizes.push_back(std::atol(x.c_str()));
  std::sort(s.sizes.begin(), s.sizes.end());
  if (s.quick && s.window == 10) s.window = 3;
  if (rcvbufs.empty()) rcvbufs = "default";
  s.fleet_rcvbufs = split(rcvbufs, ',');
  if (fleets.empty()) fleets = s.quick ? "200" : "200,500,1000";
  for (const auto& x : split(fleets, ',')) {
    const auto f = split(x, ':');  // N[:hb ms[:stagger ms]]
    const long n = std::atol(f[0].c_str());
    const long hb = f.size() > 1 ? std::atol(f[1].c_str()) : s.fleet_hb_ms;
    const long st = f.size() > 2 ? std::atol(f[2].c_str()) : s.fleet_stagger_ms;
    if (n > 1 && hb > 0 && st >= 0) s.fleets.push_back({n, hb, st});
  }
  char tmpl[] = "/tmp/cbench-scale-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  s.fc.tmp = tmpl;
  s.fc.plugin_dir = plugin_dir;
  s.fc.self = fs::read_symlink("/proc/self/exe").string();
  s.fc.group = "239.255.91.7";

  if (s.quick && s.evict_n == 10000) s.evict_n = 2000;
  if (s.evict_frac <= 0 || s.evict_frac > 1) s.evict_frac = 0.1;
  std::vector<Row> rows;
  std::vector<Evict> evicts;
  int rc = 0;
  double base = NAN;
  for (long n : s.sizes) {
    progress("synthetic members: " + std::to_string(n) + "...");
    try {
      Row r = synth_run(s, n, base);
      if (n == 0) base = r.cpu_ns_per_s;
      progress("synth " + std::to_string(n) + ": conv " + num(r.conv_ms, 0) + " ms, " + num(r.rx_per_s, 0) +
               " hb/s, heap +" + num(r.mem_per_member, 0) + " B/member, " + num(r.cpu_ns_per_hb, 0) + " ns/hb, drops " +
               num(r.drops_conv, 0) + "+" + num(r.drops_window, 0) + " (" + num(r.seconds, 1) + " s)");
      rows.push_back(r);
    } catch (const std::exception& e) {
      rc = 1;
      progress("synth " + std::to_string(n) + " FAILED: " + e.what());
    }
  }
  for (const auto& spec : s.fleets)
    for (const auto& rb : s.fleet_rcvbufs) {
      progress("real fleet: " + std::to_string(spec.n) + " instances, " + std::to_string(s.fleet_per) +
               " per process, hb " + std::to_string(spec.hb_ms) + " ms, processes " + std::to_string(spec.stagger_ms) +
               " ms apart, receive_buffer " + rb + "...");
      try {
        rows.push_back(fleet_run(s, spec, rb));
      } catch (const std::exception& e) {
        rc = 1;
        progress(std::string("fleet FAILED: ") + e.what());
      }
    }

  if (s.evict_n > 0) {
    progress("mass eviction: " + fmt(s.evict_frac * 100, 0) + " % of " + std::to_string(s.evict_n) + " synthetic members stop...");
    try {
      const Evict e = evict_run(s, s.evict_n, s.evict_frac);
      progress("eviction: " + std::to_string(e.lost) + " of " + std::to_string(e.k) + " lost, " + num(e.delay_p50_ms, 0) +
               " ms after their last heartbeat (max " + num(e.delay_max_ms, 0) + "), spread " + num(e.spread_ms, 0) +
               " ms, CPU peak " + num(e.peak_pct, 1) + " % (steady " + num(e.steady_pct, 1) + " %) (" + num(e.seconds, 1) + " s)");
      evicts.push_back(e);
    } catch (const std::exception& ex) {
      rc = 1;
      progress(std::string("eviction FAILED: ") + ex.what());
    }
  }

  // ---- report ----
  std::printf("| members | how | heap / member | RssAnon / member | CPU / heartbeat (raw floor) | heartbeats/s received | bytes/s received per member | convergence (cold start) | drops (start + window) |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& r : rows) {
    std::string how;
    if (r.kind == "synth")
      how = r.n == 0 ? "1 observer, no synthetic members (baseline)"
                     : "1 observer instance, synthetic members (hb " + std::to_string(r.hb_ms) + " ms, full heartbeats in " +
                           (r.burst_ms == 0 ? std::string("one burst") : std::to_string(r.burst_ms) + " ms") + ", " +
                           std::to_string(r.bare_b) + " B bare / " + std::to_string(r.full_b) + " B full)";
    else
      how = std::to_string(r.procs) + " processes × " + std::to_string(r.n / r.procs) + " real instances (hb " +
            std::to_string(r.hb_ms) + " ms, receive_buffer " + r.rcvbuf +
            (r.stagger_ms > 0 ? ", processes joined " + std::to_string(r.stagger_ms) + " ms apart" : std::string()) + "), " +
            num(r.known, 0) + " knew all in time (after the window: " + num(r.known_avg, 0) + " known on average)";
    std::printf("| %ld | %s | %s B | %s B | %s | %s | %s | %s | %s + %s |\n", r.n, how.c_str(), num(r.mem_per_member, 0).c_str(),
                num(r.anon_per_member, 0).c_str(), (num(r.cpu_ns_per_hb / 1000, 2) + " µs" +
                                                   (std::isnan(r.sink_ns_per_hb) ? std::string() : " (" + num(r.sink_ns_per_hb / 1000, 2) + " µs)")).c_str(), num(r.rx_per_s, 0).c_str(),
                num(r.bytes_per_s, 0).c_str(),
                (r.kind == "fleet" ? "p50 " + num(r.conv_p50_ms, 0) + " ms, all " + num(r.conv_ms, 0) + " ms"
                                   : num(r.conv_ms, 0) + " ms").c_str(),
                num(r.drops_conv, 0).c_str(), num(r.drops_window, 0).c_str());
  }
  std::printf("\n");
  for (const auto& e : evicts) {
    std::printf("Mass eviction: %ld of %ld synthetic members (hb %ld ms, observer ttl %ld ms) stopped at once; %ld lost "
                "(reason expired or otherwise), %s ms after each one's last heartbeat (p50; min %s, max %s); "
                "service_lost spread over %s ms; observer CPU in 250 ms samples: peak %s %% of a core against %s %% "
                "steady, %s µs extra per eviction.\n\n",
                e.k, e.n, s.hb_ms, e.ttl_ms, e.lost, num(e.delay_p50_ms, 0).c_str(), num(e.delay_min_ms, 0).c_str(),
                num(e.delay_max_ms, 0).c_str(), num(e.spread_ms, 0).c_str(), num(e.peak_pct, 1).c_str(),
                num(e.steady_pct, 1).c_str(), num(e.extra_us_per_eviction, 1).c_str());
    const std::string k = "scale.evict." + std::to_string(e.n);
    std::printf("RESULT %s.lost %ld members\n", k.c_str(), e.lost);
    std::printf("RESULT %s.delay_p50_ms %s ms\n", k.c_str(), num(e.delay_p50_ms, 0).c_str());
    std::printf("RESULT %s.delay_max_ms %s ms\n", k.c_str(), num(e.delay_max_ms, 0).c_str());
    std::printf("RESULT %s.spread_ms %s ms\n", k.c_str(), num(e.spread_ms, 0).c_str());
    std::printf("RESULT %s.cpu_peak_pct %s %%\n", k.c_str(), num(e.peak_pct, 1).c_str());
    std::printf("RESULT %s.extra_us_per_eviction %s us\n", k.c_str(), num(e.extra_us_per_eviction, 1).c_str());
  }
  for (const auto& r : rows) {
    const std::string k = "scale." + r.kind + "." + std::to_string(r.n) + (r.kind == "fleet" ? "." + r.rcvbuf : "");
    std::printf("RESULT %s.heap_per_member_b %s B\n", k.c_str(), num(r.mem_per_member, 0).c_str());
    std::printf("RESULT %s.cpu_per_hb_us %s us\n", k.c_str(), num(r.cpu_ns_per_hb / 1000, 3).c_str());
    std::printf("RESULT %s.bytes_per_s %s B/s\n", k.c_str(), num(r.bytes_per_s, 0).c_str());
    std::printf("RESULT %s.convergence_ms %s ms\n", k.c_str(), num(r.conv_ms, 0).c_str());
  }
  std::fflush(stdout);
  if (!s.csv.empty()) {
    std::ofstream o(s.csv);
    o << "kind,n,procs,hb_ms,burst_ms,rcvbuf,heap_before_b,heap_after_b,anon_before_kb,anon_after_kb,heap_per_member_b,"
         "anon_per_member_b,rx_per_s,bytes_per_s,cpu_ns_per_s,cpu_ns_per_hb,sink_ns_per_hb,conv_ms,conv_p50_ms,drops_conv,drops_window,"
         "known,known_avg,stagger_ms,bare_b,full_b,seconds\n";
    for (const auto& r : rows)
      o << r.kind << ',' << r.n << ',' << r.procs << ',' << r.hb_ms << ',' << r.burst_ms << ',' << r.rcvbuf << ','
        << num(r.heap_before, 0) << ',' << num(r.heap_after, 0) << ',' << num(r.anon_before_kb, 0) << ','
        << num(r.anon_after_kb, 0) << ',' << num(r.mem_per_member, 1) << ',' << num(r.anon_per_member, 1) << ','
        << num(r.rx_per_s, 1) << ',' << num(r.bytes_per_s, 1) << ',' << num(r.cpu_ns_per_s, 0) << ','
        << num(r.cpu_ns_per_hb, 1) << ',' << num(r.sink_ns_per_hb, 1) << ',' << num(r.conv_ms, 1) << ',' << num(r.conv_p50_ms, 1) << ','
        << num(r.drops_conv, 0) << ',' << num(r.drops_window, 0) << ',' << num(r.known, 0) << ',' << num(r.known_avg, 0) << ',' << r.stagger_ms << ',' << r.bare_b << ','
        << r.full_b << ',' << num(r.seconds, 1) << '\n';
    if (!o) {
      std::fprintf(stderr, "cluster_bench scale: cannot write %s\n", s.csv.c_str());
      rc = 1;
    }
  }
  std::error_code ec;
  if (rc == 0) fs::remove_all(s.fc.tmp, ec);
  else std::fprintf(stderr, "cluster_bench scale: kept %s (member stderr)\n", s.fc.tmp.c_str());
  return rc;
}

}  // namespace bench
