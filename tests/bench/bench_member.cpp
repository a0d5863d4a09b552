// `cluster_bench member`: a process hosting any number of cluster instances on ONE shared
// cluster::EventLoop (its own thread), driven line by line over stdin by the benchmark driver
// (bench_driver.cpp). The real transport plugins are loaded from --plugins with PluginManager.
//
// Events (buffered, flushed within 5 ms; times are now_ns(), CLOCK_MONOTONIC, comparable
// across processes):
//   J <idx> <uuid> <t> <t2>       instance idx joined (t = just before Cluster::join, t2 = after)
//   D <idx> <uuid> <t>            instance idx fired service_discovered for uuid
//   L <idx> <uuid> <reason> <t>   instance idx fired service_lost
//   A <idx> <n> <t>               instance idx knows n members (discovered minus lost) for the
//                                 first time, n = its join option await=N (the scale suite)
// Commands (one reply line each, or "error <text>"):
//   join K key=value...   K new instances; keys: port group protocols(a,b) hb ttl pdelay pgrace
//                         precent (ms) tags(a,b) label sealer remote maxm (max_members)
//                         quiet (1: no D/L lines, 2: no D lines) await (N: one A line at N known)
//                         -> joined <first idx> <K>
//   leave IDX | leave-all -> left <n>
//   send IDX SID PROTO    Cluster::send to member SID restricted to PROTO ("any" = default
//                         flags), multicast fallback off -> sent <n> <t>
//   recv IDX ACK          count events at IDX from now on (0 received), ack every ACK (0 = never)
//   stats IDX             -> S <received> <first t> <last t>
//   blast IDX SID PROTO SIZE COUNT SECONDS WINDOW
//                         events of SIZE bytes to SID over PROTO in a bounded loop on the loop
//                         thread (batches of 256 per loop turn); at most WINDOW un-acked (0 =
//                         no window) -> B <sent> <failures> <first t> <last t> <stalled 0|1>
//   fblast IDX SID PROTO SIZE COUNT SECONDS
//                         the same, but Cluster::send called from the main thread (each call is
//                         posted to the loop and waited for), no window
//   ablast IDX SID PROTO SIZE COUNT SECONDS THREADS
//                         the same from THREADS host threads with Cluster::send_async (queued,
//                         not waited for), no window
//   query IDX COUNT WARMUP PROTO SIZE TIMEOUT_MS TERM
//                         COUNT sequential queries (after WARMUP) to the members matching TERM
//                         -> Q <n> <errors> <p50 us> <p90 us> <p99 us> <min us> <max us>
//   known IDX             -> K <known services>
//   counters              -> C key=value... (Counters summed over the instances)
//   mem                   -> M <heap in use: mallinfo2 uordblks + hblkhd> <RssAnon kB> <VmRSS kB>
//   traffic IDX           -> T <bytes received over "c"> <packets received over "c"> <Counters::received>
//   quit                  -> bye (then leaves everything and exits)
#include <malloc.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "cluster/cluster.hpp"
#include "cluster/ini.hpp"
#include "cluster/stats.hpp"
#include "loop_thread.hpp"

namespace bench {
namespace {

using std::chrono::milliseconds;

class Out {
 public:
  void add(const std::string& line) {
    std::lock_guard<std::mutex> lock(mu_);
    buf_ += line;
    buf_ += '\n';
  }
  void flush() {
    std::string b;
    {
      std::lock_guard<std::mutex> lock(mu_);
      b.swap(buf_);
    }
    std::lock_guard<std::mutex> lock(write_mu_);
    std::size_t done = 0;
    while (done < b.size()) {
      const ssize_t n = ::write(1, b.data() + done, b.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      done += static_cast<std::size_t>(n);
    }
  }

 private:
  std::mutex mu_, write_mu_;
  std::string buf_;
};

Out g_out;

struct Blast {
  bool active = false;
  bool waiting = false;  ///< window full: resumed by an ack
  bool stalled = false;  ///< no ack for 3 s: gave up
  std::uint64_t count = 0, sent = 0, acked = 0, window = 0, failures = 0;
  std::int64_t deadline = 0, t_first = 0, t_last = 0, waiting_since = 0;
  cluster::ServicePtr to;
  cluster::SendFlags flags;
  std::string data;
  std::promise<void> done;
};

struct Instance {
  int idx = 0;
  std::unique_ptr<cluster::Cluster> c;
  std::uint64_t received = 0;
  std::int64_t first_ns = 0, last_ns = 0;
  std::uint64_t ack_every = 0;
  std::map<std::string, cluster::ServicePtr> ack_to;
  Blast blast;
  std::uint64_t blast_gen = 0;  ///< which blast a stall timer belongs to
  int quiet = 0;                ///< 1: no D/L lines (the scale suite: N² of them at 1,000); 2: no D lines
  std::int64_t known = 0;       ///< service_discovered minus service_lost
  std::int64_t await = -1;      ///< emit "A" once `known` reaches it (-1: never)
};

struct QueryRun {
  std::uint64_t count = 0, warmup = 0, started = 0, errors = 0;
  std::int64_t t_start = 0;
  std::vector<double> us;
  cluster::QueryOptions opts;
  std::promise<void> done;
};

class Host {
 public:
  Host(std::string plugin_dir, std::string socket_dir, std::string rcvbuf, std::string keyring)
      : plugin_dir_(std::move(plugin_dir)),
        socket_dir_(std::move(socket_dir)),
        rcvbuf_(std::move(rcvbuf)),
        keyring_(std::move(keyring)) {}

  void start() {
    ini_ = cluster::IniFile::parse("[tcp]\nconnect_timeout_ms = 500\n[unix]\npath_prefix = " + socket_dir_ +
                                       "/\n[udp-multicast]\n" + (rcvbuf_ == "default" ? std::string() : "receive_buffer = " + rcvbuf_ + "\n") +
                                       "[encrypt]\npersist = false\nkeyring = " + keyring_ + "\n",
                                   "cluster_bench");
    plugins_ = std::make_shared<cluster::PluginManager>();
    plugins_->load(plugin_dir_ + "/cluster-udp-multicast.so", ini_.section("udp-multicast"));
    plugins_->load(plugin_dir_ + "/cluster-tcp.so", ini_.section("tcp"));
    plugins_->load(plugin_dir_ + "/cluster-unix.so", ini_.section("unix"));
    // Only with a keyring: the plugin refuses to load without one (joins with sealer=encrypt need it).
    if (!keyring_.empty()) plugins_->load(plugin_dir_ + "/cluster-encrypt.so", ini_.section("encrypt"));
    thread_ = std::make_unique<cluster::test::LoopThread>(loop_);
  }

  void stop() {
    loop_.call([this] {
      for (auto& [i, in] : inst_) {
        in->c->leave();
        in->c.reset();
      }
      inst_.clear();
    });
    thread_->stop();
  }

  std::string command(const std::string& line, bool& quit);

 private:
  void emit(const std::string& line) {  // loop thread
    g_out.add(line);
    if (flush_scheduled_) return;
    flush_scheduled_ = true;
    loop_.after(milliseconds(5), [this] {
      flush_scheduled_ = false;
      g_out.flush();
    });
  }

  Instance* get(const std::string& idx) {
    auto it = inst_.find(std::atoi(idx.c_str()));
    if (it == inst_.end()) throw std::runtime_error("no instance " + idx);
    return it->second.get();
  }

  void prepare(Instance* in, cluster::Cluster& c) {
    using cluster::HookContext;
    using cluster::HookPoint;
    using cluster::Verdict;
    c.hook(HookPoint::service_discovered, "bench.discovered", [this, in](HookContext& ctx) {
      ++in->known;
      if (in->await >= 0 && in->known >= in->await) {
        emit("A " + std::to_string(in->idx) + " " + std::to_string(in->known) + " " + std::to_string(now_ns()));
        in->await = -1;
      }
      if (in->quiet == 0) emit("D " + std::to_string(in->idx) + " " + ctx.service->uuid + " " + std::to_string(now_ns()));
      return Verdict::pass;
    });
    c.hook(HookPoint::service_lost, "bench.lost", [this, in](HookContext& ctx) {
      --in->known;
      if (in->quiet != 1)
        emit("L " + std::to_string(in->idx) + " " + ctx.service->uuid + " " + ctx.reason + " " + std::to_string(now_ns()));
      return Verdict::pass;
    });
    c.hook(HookPoint::event, "bench.event", [this, in](HookContext& ctx) {
      const std::string* data = ctx.payload != nullptr && ctx.payload->data.has() ? &*ctx.payload->data : nullptr;
      if (data != nullptr && data->size() >= 4 && data->compare(0, 4, "ack ") == 0) {
        on_ack(in, std::strtoull(data->c_str() + 4, nullptr, 10));
        return Verdict::pass;
      }
      const std::int64_t t = now_ns();
      if (in->received++ == 0) in->first_ns = t;
      in->last_ns = t;
      if (in->ack_every != 0 && in->received % in->ack_every == 0 && ctx.service != nullptr) {
        auto& to = in->ack_to[ctx.service->uuid];
        if (!to) {
          auto found = in->c->resolve(std::vector<std::string>{ctx.service->uuid});
          if (!found.empty()) to = found.front();
        }
        if (to) {
          cluster::SendFlags f;
          f.allow_multicast = false;
          f.protocols = {std::string(ctx.protocol)};
          in->c->send({to}, "ack " + std::to_string(in->received), f);
        }
      }
      return Verdict::pass;
    });
    c.hook(HookPoint::query, "bench.query", [](HookContext& ctx) {
      ctx.answer = ctx.payload != nullptr && ctx.payload->data.has() ? *ctx.payload->data : std::string();
      return Verdict::modified;
    });
  }

  void on_ack(Instance* in, std::uint64_t n) {
    Blast& b = in->blast;
    if (n > b.acked) b.acked = n;
    if (b.active && b.waiting && b.sent - b.acked < b.window) {
      b.waiting = false;
      loop_.post([this, in] { step(in); });
    }
  }

  void step(Instance* in) {  // loop thread: one batch of the blast
    Blast& b = in->blast;
    if (!b.active) return;
    const std::uint64_t end = std::min(b.count, b.sent + 256);
    while (b.sent < end) {
      if (b.window != 0 && b.sent - b.acked >= b.window) {
        b.waiting = true;
        b.waiting_since = now_ns();
        const std::uint64_t at = b.sent, gen = in->blast_gen;
        loop_.after(milliseconds(3000), [this, in, at, gen] {  // no ack for 3 s: stalled, give up
          Blast& bb = in->blast;
          if (in->blast_gen == gen && bb.active && bb.waiting && bb.sent == at) {
            bb.stalled = true;
            finish(in);
          }
        });
        return;
      }
      if (in->c->send({b.to}, b.data, b.flags) == 0) ++b.failures;
      if (b.sent++ == 0) b.t_first = now_ns();
    }
    b.t_last = now_ns();
    if (b.sent >= b.count || b.t_last >= b.deadline) {
      finish(in);
      return;
    }
    loop_.post([this, in] { step(in); });
  }

  void finish(Instance* in) {
    Blast& b = in->blast;
    if (!b.active) return;
    b.active = false;
    b.done.set_value();
  }

  void next_query(QueryRun* q, Instance* in) {  // loop thread
    if (q->started >= q->count + q->warmup) {
      q->done.set_value();
      return;
    }
    ++q->started;
    cluster::QueryOptions o = q->opts;
    o.command = [this, q, in](cluster::QueryEvent e, cluster::Query&) {
      if (e == cluster::QueryEvent::error || e == cluster::QueryEvent::timeout) ++q->errors;
      if (e != cluster::QueryEvent::done) return;
      const std::int64_t t = now_ns();
      if (q->started > q->warmup) q->us.push_back(static_cast<double>(t - q->t_start) / 1000.0);
      loop_.post([this, q, in] { next_query(q, in); });
    };
    q->t_start = now_ns();
    in->c->query(std::move(o));
  }

  std::string plugin_dir_, socket_dir_, rcvbuf_, keyring_;
  cluster::IniFile ini_;
  std::shared_ptr<cluster::PluginManager> plugins_;
  cluster::EventLoop loop_;
  std::unique_ptr<cluster::test::LoopThread> thread_;
  std::map<int, std::unique_ptr<Instance>> inst_;
  int next_idx_ = 0;
  bool flush_scheduled_ = false;
};

std::vector<std::string> list_arg(const std::string& v) { return split(v, ','); }

std::string Host::command(const std::string& line, bool& quit) {
  const auto w = split(line);
  if (w.empty()) return "error empty";
  const std::string& cmd = w[0];
  if (cmd == "join" && w.size() >= 2) {
    const int k = std::atoi(w[1].c_str());
    cluster::Options o;
    o.log_level = cluster::sdk::LogLevel::error;
    int quiet = 0;
    std::int64_t await = -1;
    for (std::size_t i = 2; i < w.size(); ++i) {
      const auto eq = w[i].find('=');
      if (eq == std::string::npos) return "error bad option " + w[i];
      const std::string key = w[i].substr(0, eq), v = w[i].substr(eq + 1);
      const milliseconds ms(std::atoll(v.c_str()));
      if (key == "port") o.port = static_cast<std::uint16_t>(std::atoi(v.c_str()));
      else if (key == "group") o.address = v;
      else if (key == "protocols") o.protocols = list_arg(v);
      else if (key == "hb") o.heartbeat = ms;
      else if (key == "ttl") o.ttl = ms;
      else if (key == "pdelay") o.ping_delay = ms;
      else if (key == "pgrace") o.ping_grace = ms;
      else if (key == "precent") o.ping_recent = ms;
      else if (key == "tags") o.tags = list_arg(v);
      else if (key == "label") o.label = v;
      else if (key == "sealer") o.sealer = v;
      else if (key == "remote") o.remote = static_cast<unsigned>(std::atoi(v.c_str()));
      else if (key == "maxm") o.max_members = std::strtoull(v.c_str(), nullptr, 10);
      else if (key == "quiet") quiet = std::atoi(v.c_str());
      else if (key == "await") await = std::atoll(v.c_str());
      else return "error unknown option " + key;
    }
    int first = 0;
    loop_.call([&] {
      first = next_idx_;
      for (int i = 0; i < k; ++i) {
        auto in = std::make_unique<Instance>();
        in->idx = next_idx_++;
        in->quiet = quiet;
        in->await = await;
        Instance* p = in.get();
        const std::int64_t t = now_ns();
        in->c = cluster::Cluster::join(o, plugins_, loop_, [this, p](cluster::Cluster& c) { prepare(p, c); });
        emit("J " + std::to_string(p->idx) + " " + in->c->uuid() + " " + std::to_string(t) + " " + std::to_string(now_ns()));
        inst_.emplace(p->idx, std::move(in));
      }
    });
    return "joined " + std::to_string(first) + " " + std::to_string(k);
  }
  if (cmd == "leave" && w.size() == 2) {
    loop_.call([&] {
      auto it = inst_.find(std::atoi(w[1].c_str()));
      if (it == inst_.end()) return;
      it->second->c->leave();
      it->second->c.reset();
      inst_.erase(it);
    });
    return "left 1";
  }
  if (cmd == "leave-all") {
    std::size_t n = 0;
    loop_.call([&] {
      n = inst_.size();
      for (auto& [i, in] : inst_) {
        in->c->leave();
        in->c.reset();
      }
      inst_.clear();
    });
    return "left " + std::to_string(n);
  }
  if (cmd == "send" && w.size() == 4) {
    std::size_t n = 0;
    std::int64_t t = 0;
    loop_.call([&] {
      Instance* in = get(w[1]);
      cluster::SendFlags f;
      f.allow_multicast = false;
      if (w[3] != "any") f.protocols = {w[3]};
      t = now_ns();
      n = in->c->send(in->c->resolve(std::vector<std::string>{w[2]}), "ping-path-probe", f);
    });
    return "sent " + std::to_string(n) + " " + std::to_string(t);
  }
  if (cmd == "recv" && w.size() == 3) {
    loop_.call([&] {
      Instance* in = get(w[1]);
      in->received = 0;
      in->first_ns = in->last_ns = 0;
      in->ack_every = std::strtoull(w[2].c_str(), nullptr, 10);
    });
    return "recv";
  }
  if (cmd == "stats" && w.size() == 2) {
    std::string r;
    loop_.call([&] {
      Instance* in = get(w[1]);
      r = "S " + std::to_string(in->received) + " " + std::to_string(in->first_ns) + " " + std::to_string(in->last_ns);
    });
    return r;
  }
  if (cmd == "counters") {  // summed over every instance of this process
    cluster::Counters t;
    loop_.call([&] {
      for (auto& [i, in] : inst_) {
        const cluster::Counters k = in->c->counters();
        t.received += k.received;
        t.dropped_remote += k.dropped_remote;
        t.dropped_malformed += k.dropped_malformed;
        t.dropped_own += k.dropped_own;
        t.dropped_filter += k.dropped_filter;
        t.dropped_channel += k.dropped_channel;
        t.dropped_hook += k.dropped_hook;
        t.dropped_invalid += k.dropped_invalid;
        t.sent += k.sent;
        t.send_failures += k.send_failures;
        t.unreachable += k.unreachable;
        t.pings_sent += k.pings_sent;
        t.dropped_label += k.dropped_label;
        t.dropped_plain += k.dropped_plain;
        t.dropped_unopened += k.dropped_unopened;
        t.dropped_replay += k.dropped_replay;
      }
    });
    std::ostringstream o;
    o << "C received=" << t.received << " dropped_own=" << t.dropped_own << " dropped_filter=" << t.dropped_filter
      << " dropped_malformed=" << t.dropped_malformed << " dropped_other="
      << t.dropped_remote + t.dropped_channel + t.dropped_hook + t.dropped_invalid << " sent=" << t.sent
      << " send_failures=" << t.send_failures << " unreachable=" << t.unreachable << " pings=" << t.pings_sent
      << " dropped_envelope=" << t.dropped_label + t.dropped_plain + t.dropped_unopened + t.dropped_replay;
    return o.str();
  }
  if (cmd == "mem") {  // process-wide: heap in use and anonymous RSS
    std::size_t heap = 0;
    loop_.call([&] {  // on the loop thread: nothing allocates meanwhile
      const struct mallinfo2 mi = ::mallinfo2();
      heap = mi.uordblks + mi.hblkhd;
    });
    long long anon = -1, rss = -1;
    std::ifstream f("/proc/self/status");
    for (std::string l; std::getline(f, l);) {
      if (starts_with(l, "RssAnon:")) anon = std::atoll(l.c_str() + 8);
      if (starts_with(l, "VmRSS:")) rss = std::atoll(l.c_str() + 6);
    }
    return "M " + std::to_string(heap) + " " + std::to_string(anon) + " " + std::to_string(rss);
  }
  if (cmd == "traffic" && w.size() == 2) {
    std::uint64_t bytes = 0, packets = 0, received = 0;
    loop_.call([&] {
      Instance* in = get(w[1]);
      const cluster::Stats st = in->c->stats();
      for (const auto& t : st.protocols)
        if (t.protocol == "c") {
          bytes = t.bytes_received;
          packets = t.packets_received;
        }
      received = in->c->counters().received;
    });
    return "T " + std::to_string(bytes) + " " + std::to_string(packets) + " " + std::to_string(received);
  }
  if (cmd == "known" && w.size() == 2) {
    std::size_t n = 0;
    loop_.call([&] { n = get(w[1])->c->known_services(); });
    return "K " + std::to_string(n);
  }
  if ((cmd == "blast" && w.size() == 8) || (cmd == "fblast" && w.size() == 7) || (cmd == "ablast" && w.size() == 8)) {
    Instance* in = nullptr;
    std::future<void> done;
    const std::size_t size = std::strtoull(w[4].c_str(), nullptr, 10);
    const std::uint64_t count = std::strtoull(w[5].c_str(), nullptr, 10);
    const double seconds = std::atof(w[6].c_str());
    std::string err;
    loop_.call([&] {
      in = get(w[1]);
      Blast& b = in->blast;
      b = Blast{};
      ++in->blast_gen;
      const auto found = in->c->resolve(std::vector<std::string>{w[2]});
      if (found.empty()) {
        err = "error no member " + w[2];
        return;
      }
      b.to = found.front();
      b.flags.allow_multicast = w[3] == "c";
      b.flags.protocols = {w[3]};
      b.data.assign(size, 'x');
      b.data[0] = 'd';
      b.count = count;
      b.window = cmd == "blast" ? std::strtoull(w[7].c_str(), nullptr, 10) : 0;
      b.deadline = now_ns() + static_cast<std::int64_t>(seconds * 1e9);
      b.active = true;
      done = b.done.get_future();
      if (cmd == "blast") loop_.post([this, in] { step(in); });
    });
    if (!err.empty()) return err;
    Blast& b = in->blast;
    if (cmd == "ablast") {
      // THREADS host threads share COUNT Cluster::send_async calls (queued, not waited for);
      // refusals (full after send_queue_block_ms) count as failures.
      const std::uint64_t threads = std::max<std::uint64_t>(1, std::strtoull(w[7].c_str(), nullptr, 10));
      std::atomic<std::uint64_t> sent{0}, failures{0};
      b.t_first = now_ns();
      std::vector<std::thread> producers;
      for (std::uint64_t t = 0; t < threads; ++t)
        producers.emplace_back([&, t] {
          const std::uint64_t n = b.count / threads + (t < b.count % threads ? 1 : 0);
          std::uint64_t mine = 0, bad = 0;
          while (mine < n) {
            if (in->c->send_async_copy(b.to, b.data, b.flags) != cluster::Queued::queued) ++bad;
            if ((mine++ & 255) == 0 && now_ns() >= b.deadline) break;
          }
          sent += mine;
          failures += bad;
        });
      for (auto& p : producers) p.join();
      b.t_last = now_ns();
      b.sent = sent;
      b.failures = failures;
      loop_.call([&] { finish(in); });
    }
    if (cmd == "fblast") {
      // Every Cluster::send from this (non-loop) thread is posted to the loop and waited for.
      for (std::uint64_t i = 0; i < b.count; ++i) {
        if (in->c->send({b.to}, b.data, b.flags) == 0) ++b.failures;
        if (b.sent++ == 0) b.t_first = now_ns();
        if ((i & 255) == 0 && now_ns() >= b.deadline) break;
      }
      b.t_last = now_ns();
      loop_.call([&] { finish(in); });
    }
    if (done.wait_for(std::chrono::duration<double>(seconds + 15)) != std::future_status::ready) {
      loop_.call([&] { b.active = false; });
      return "error blast did not finish";
    }
    std::string r;
    loop_.call([&] {
      r = "B " + std::to_string(b.sent) + " " + std::to_string(b.failures) + " " + std::to_string(b.t_first) + " " +
          std::to_string(b.t_last) + " " + (b.stalled ? "1" : "0");
    });
    return r;
  }
  if (cmd == "query" && w.size() == 8) {
    auto q = std::make_unique<QueryRun>();
    q->count = std::strtoull(w[2].c_str(), nullptr, 10);
    q->warmup = std::strtoull(w[3].c_str(), nullptr, 10);
    q->opts.protocols = {w[4]};
    q->opts.query.assign(std::strtoull(w[5].c_str(), nullptr, 10), 'q');
    q->opts.timeout = milliseconds(std::atoll(w[6].c_str()));
    q->opts.resolve = {w[7]};
    q->us.reserve(q->count);
    auto done = q->done.get_future();
    QueryRun* qp = q.get();
    loop_.call([&] { next_query(qp, get(w[1])); });
    const auto limit = milliseconds(static_cast<long long>((q->count + q->warmup) * 50 + 10000));
    if (done.wait_for(limit) != std::future_status::ready) {
      q.release();  // the loop may still use it: leak rather than crash
      return "error queries did not finish";
    }
    std::vector<double> us = q->us;
    return "Q " + std::to_string(us.size()) + " " + std::to_string(q->errors) + " " + fmt(percentile(us, 50), 1) + " " +
           fmt(percentile(us, 90), 1) + " " + fmt(percentile(us, 99), 1) + " " + fmt(minimum(us), 1) + " " +
           fmt(maximum(us), 1);
  }
  if (cmd == "quit") {
    quit = true;
    return "bye";
  }
  return "error unknown command '" + line + "'";
}

}  // namespace

int member_main(int argc, char** argv) {
  std::string plugin_dir, socket_dir = "/tmp", rcvbuf = "default", keyring;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--plugins") plugin_dir = argv[i + 1];
    else if (a == "--sockets") socket_dir = argv[i + 1];
    else if (a == "--rcvbuf") rcvbuf = argv[i + 1];
    else if (a == "--keyring") keyring = argv[i + 1];
  }
  if (plugin_dir.empty()) {
    std::fprintf(stderr, "usage: cluster_bench member --plugins DIR [--sockets DIR] [--rcvbuf BYTES] [--keyring FILE]\n");
    return 2;
  }
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the driver
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0) {  // many instances: many connections
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  std::signal(SIGPIPE, SIG_IGN);
  Host host(plugin_dir, socket_dir, rcvbuf, keyring);
  try {
    host.start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cluster_bench member: %s\n", e.what());
    return 1;
  }
  g_out.add("ready " + std::to_string(::getpid()));
  g_out.flush();
  std::string line;
  bool quit = false;
  while (!quit && std::getline(std::cin, line)) {
    if (line.empty()) continue;
    std::string reply;
    try {
      reply = host.command(line, quit);
    } catch (const std::exception& e) {
      reply = std::string("error ") + e.what();
    }
    g_out.add(reply);
    g_out.flush();
  }
  host.stop();
  g_out.flush();
  return 0;
}

}  // namespace bench
