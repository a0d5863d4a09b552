// cluster_probe CONFIG: one cluster member driven over stdin/stdout, for the multi-process
// integration tests (tests/integration/test_integration.cpp).
//
// It joins as CONFIG says (hooks are registered in `prepare`, so no member is missed) and
// prints one line per event, flushed at once:
//   joined <uuid> <sid>
//   discovered <uuid>
//   lost <uuid> <reason>
//   event <from-uuid> <protocol> <data>
// Commands come on stdin, one per line; each is answered with one line:
//   send <term> <data>   resolve <term>, Cluster::send(data)     -> sent <n>
//   members              the known members                       -> members <n> <uuid> ...
//   props                our own props (tcl dict): t {port N} u {path P}  -> props <dict>
//   peer <term>          what we know of the first member matching <term>
//                                                 -> peer <uuid> <props dict>  |  peer none
//   kill-listener        shutdown(2) of our listening TCP socket  -> killed <port>
//                        (the plugin still holds the fd: a "dead" listener, refusing connects)
//   drop-connections     shutdown(2) of every connected TCP/Unix stream socket of ours, so
//                        the next send to or from us needs a new connection -> dropped <n>
//   counters             Counters as key=value                   -> counters k=v ...
//   tags <t1,t2,...>     replace our tags ("-" = none)            -> tagged
//   via <term>           how we found the first member matching <term> and its address
//                                                 -> via <uuid> <found_by> <ip>  |  via none
//   greet                from now on, send "hello-<our sid>" to every member the moment it is
//                        discovered (from the service_discovered hook) -> greeting
//   quit                 leave gracefully and exit 0             -> bye
//   answer               from now on, answer every query with "<our sid>:<query text>" (a
//                        query hook)                              -> answering
//   query <term> <data> <timeout_ms>
//                        Cluster::query to the members matching <term>, waiting for the end
//                        -> answers <n> <answer> ...   (done: every member answered; n = count)
//                        -> timeout <n> <answer> ...   (the timeout ended it; the answers so far)
//                        -> stuck <n>                  (not done 5 s after its timeout: a bug)
//                        each <answer> is <uuid>=<data>, or <uuid>!<error> for an error answer
//                        (spaces in data or error text are written as '_')
// Anything else answers "error <message>". End of stdin: leave and exit 0.
// Control characters in any output line (forged sids may contain them) are written as \xNN.
//
// Options before CONFIG (used by tests/reliability):
//   --skip-failed-plugins  join like a host that embeds the library and tolerates broken
//                        plugins: load each [plugins] load entry with its own PluginManager,
//                        print "plugin-failed <entry> <PluginError text>" for each one that fails
//                        and go on; drop the [cluster] protocols and [plugins] hooks no loaded
//                        plugin provides ("protocol-skipped <id>", "hooks-skipped <name>"), then
//                        Cluster::join(options, plugins, loop) on a loop thread of our own.
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cluster/cluster.hpp"
#include "cluster/tcl.hpp"

namespace {

std::mutex out_mu;

/// Prints one line. Control characters (a forged member's sid may hold any byte, a newline
/// too) are written as \xNN, so every line stays one line.
void say(const std::string& text) {
  std::string line;
  line.reserve(text.size());
  for (const char ch : text) {
    const auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      line += "\\x";
      line += kHex[u >> 4];
      line += kHex[u & 0xf];
    } else {
      line += ch;
    }
  }
  std::lock_guard<std::mutex> lock(out_mu);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

int sockopt_int(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  if (::getsockopt(fd, level, name, &v, &len) != 0) return -1;
  return v;
}

/// Our open sockets of `domain` (AF_INET, AF_INET6, AF_UNIX) and SOCK_STREAM type, listening
/// or not, found by walking /proc/self/fd.
std::vector<int> stream_sockets(bool want_listening) {
  std::vector<int> out;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return out;
  const int own = ::dirfd(d);
  while (const dirent* e = ::readdir(d)) {
    char* end = nullptr;
    const long v = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0') continue;
    const int fd = static_cast<int>(v);
    if (fd == own || fd <= 2) continue;
    if (sockopt_int(fd, SOL_SOCKET, SO_TYPE) != SOCK_STREAM) continue;  // also: not a socket
    const int domain = sockopt_int(fd, SOL_SOCKET, SO_DOMAIN);
    if (domain != AF_INET && domain != AF_INET6 && domain != AF_UNIX) continue;
    const bool listening = sockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN) == 1;
    if (listening != want_listening) continue;
    if (want_listening && domain == AF_UNIX) continue;  // a listening TCP socket is wanted
    out.push_back(fd);
  }
  ::closedir(d);
  return out;
}

int local_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
  return 0;
}

/// The port of our listening TCP socket (0 = none).
int listening_port() {
  for (int fd : stream_sockets(true))
    if (const int p = local_port(fd); p != 0) return p;
  return 0;
}

bool runs(const cluster::Cluster& c, const std::string& protocol) {
  for (const auto& p : c.config().protocols)
    if (p == protocol) return true;
  return false;
}

std::string props(const cluster::Cluster& c, const cluster::NodeConfig& node) {
  cluster::tcl::Dict top;
  for (const auto& p : c.config().protocols) {
    if (p == "t") {
      top.emplace_back("t", cluster::tcl::format_dict({{"port", std::to_string(listening_port())}}));
    } else if (p == "u") {
      std::string prefix = "/tmp/cluster-";
      if (const cluster::IniSection* s = node.ini.section("unix"))
        if (const cluster::IniValue* v = s->find("path_prefix")) prefix = v->value;
      top.emplace_back("u", cluster::tcl::format_dict({{"path", prefix + c.sid() + ".sock"}}));
    }
  }
  return cluster::tcl::format_dict(top);
}

std::string counters(const cluster::Counters& k) {
  std::ostringstream o;
  o << "counters received=" << k.received << " dropped_remote=" << k.dropped_remote
    << " dropped_malformed=" << k.dropped_malformed << " dropped_own=" << k.dropped_own
    << " dropped_filter=" << k.dropped_filter << " dropped_channel=" << k.dropped_channel
    << " dropped_hook=" << k.dropped_hook << " dropped_invalid=" << k.dropped_invalid << " sent=" << k.sent
    << " send_failures=" << k.send_failures << " unreachable=" << k.unreachable
    << " pings_sent=" << k.pings_sent << " streams_over_budget=" << k.streams_over_budget
    << " streams_stalled=" << k.streams_stalled << " conns_refused=" << k.conns_refused
    << " conns_evicted=" << k.conns_evicted << " conns_idle_closed=" << k.conns_idle_closed
    << " probes_sent=" << k.probes_sent << " probes_indirect=" << k.probes_indirect << " probes_failed=" << k.probes_failed
    << " suspicions=" << k.suspicions << " refutations=" << k.refutations << " confirmations=" << k.confirmations
    << " nacks_sent=" << k.nacks_sent << " detector_health=" << k.detector_health << " dropped_label=" << k.dropped_label
    << " dropped_plain=" << k.dropped_plain << " dropped_unopened=" << k.dropped_unopened
    << " dropped_replay=" << k.dropped_replay;
  return o.str();
}

std::string command(cluster::Cluster& c, const cluster::NodeConfig& node, const std::string& line, bool& quit) {
  std::istringstream in(line);
  std::string cmd;
  in >> cmd;
  if (cmd == "send") {
    std::string term;
    in >> term;
    if (term.empty()) return "error usage: send <term> <data>";
    std::string data;
    std::getline(in >> std::ws, data);
    return "sent " + std::to_string(c.send(c.resolve(std::vector<std::string>{term}), data));
  }
  if (cmd == "members") {
    const auto all = c.services();
    std::string out = "members " + std::to_string(all.size());
    for (const auto& s : all) out += " " + s->uuid();
    return out;
  }
  if (cmd == "props") return "props " + props(c, node);
  if (cmd == "peer") {
    std::string term;
    in >> term;
    const auto found = c.resolve(std::vector<std::string>{term});
    if (found.empty()) return "peer none";
    return "peer " + found.front()->uuid() + " " + found.front()->props();
  }
  if (cmd == "kill-listener") {
    if (!runs(c, "t")) return "error no t protocol";
    for (int fd : stream_sockets(true)) {
      const int port = local_port(fd);
      if (port == 0) continue;
      if (::shutdown(fd, SHUT_RDWR) != 0) return "error shutdown failed";
      return "killed " + std::to_string(port);
    }
    return "error no listening TCP socket";
  }
  if (cmd == "drop-connections") {
    int n = 0;
    for (int fd : stream_sockets(false))
      if (::shutdown(fd, SHUT_RDWR) == 0) ++n;
    return "dropped " + std::to_string(n);
  }
  if (cmd == "counters") return counters(c.counters());
  if (cmd == "tags") {
    std::string list;
    in >> list;
    std::vector<std::string> tags;
    std::istringstream items(list == "-" ? std::string() : list);
    for (std::string t; std::getline(items, t, ',');)
      if (!t.empty()) tags.push_back(t);
    c.tags_replace(tags);
    return "tagged";
  }
  if (cmd == "via") {
    std::string term;
    in >> term;
    const auto found = c.resolve(std::vector<std::string>{term});
    if (found.empty()) return "via none";
    const cluster::ServiceInfo info = found.front()->info();
    return "via " + info.uuid + " " + (info.found_by.empty() ? "-" : info.found_by) + " " +
           (info.ip.empty() ? "-" : info.ip);
  }
  if (cmd == "greet") {
    cluster::Cluster* cl = &c;
    c.hook(cluster::HookPoint::service_discovered, "probe.greet", [cl](cluster::HookContext& ctx) {
      const auto to = cl->resolve(std::vector<std::string>{ctx.service->uuid});
      say("greeted " + ctx.service->uuid + " " + std::to_string(cl->send(to, "hello-" + cl->sid())));
      return cluster::Verdict::pass;
    });
    return "greeting";
  }
  if (cmd == "answer") {
    const std::string sid = c.sid();
    c.hook(cluster::HookPoint::query, "probe.answer", [sid](cluster::HookContext& ctx) {
      const std::string text = ctx.payload != nullptr && ctx.payload->data.has() ? *ctx.payload->data : std::string();
      ctx.answer = sid + ":" + text;
      return cluster::Verdict::modified;
    });
    return "answering";
  }
  if (cmd == "query") {
    std::string term, data;
    long timeout_ms = -1;
    in >> term >> data >> timeout_ms;
    if (term.empty() || data.empty() || timeout_ms < 0) return "error usage: query <term> <data> <timeout_ms>";
    cluster::QueryOptions q;
    q.resolve = {term};
    q.query = data;
    q.collect = true;
    q.timeout = std::chrono::milliseconds(timeout_ms);
    const cluster::QueryPtr running = c.query(std::move(q));
    if (!running->wait(std::chrono::milliseconds(timeout_ms + 5000)))
      return "stuck " + std::to_string(running->results().size());
    const auto results = running->results();
    std::string out = (running->timed_out() ? "timeout " : "answers ") + std::to_string(results.size());
    for (const auto& [uuid, a] : results) {
      std::string text = a.data;
      for (char& ch : text)
        if (ch == ' ' || ch == '\n' || ch == '\r') ch = '_';
      out += " " + uuid + (a.error ? "!" : "=") + text;
    }
    return out;
  }
  if (cmd == "quit") {
    quit = true;
    c.leave();
    return "bye";
  }
  return "error unknown command '" + cmd + "'";
}

/// The hooks every probe prints from; registered before the first packet (join's `prepare`).
void register_hooks(cluster::Cluster& cl) {
  using cluster::HookContext;
  using cluster::HookPoint;
  using cluster::Verdict;
  cl.hook(HookPoint::service_discovered, "probe.discovered", [](HookContext& ctx) {
    say("discovered " + ctx.service->uuid);
    return Verdict::pass;
  });
  cl.hook(HookPoint::service_lost, "probe.lost", [](HookContext& ctx) {
    say("lost " + ctx.service->uuid + " " + ctx.reason);
    return Verdict::pass;
  });
  cl.hook(HookPoint::event, "probe.event", [](HookContext& ctx) {
    const std::string from = ctx.service != nullptr ? ctx.service->uuid : std::string("?");
    const std::string data = ctx.payload != nullptr && ctx.payload->data.has() ? *ctx.payload->data : std::string();
    say("event " + from + " " + std::string(ctx.protocol) + " " + data);
    return Verdict::pass;
  });
}

/// --skip-failed-plugins: a host that loads the plugins itself and goes on without the broken
/// ones (see the header comment). The cluster runs on `loop`, which `thread` runs.
std::unique_ptr<cluster::Cluster> join_tolerant(const cluster::NodeConfig& node, cluster::EventLoop& loop,
                                                std::thread& thread) {
  auto plugins = std::make_shared<cluster::PluginManager>();
  for (const auto& name : node.load) {
    const bool by_name = name.find('/') == std::string::npos;
    try {
      plugins->load(node.resolve_plugin(name), node.ini, by_name ? name : std::string());
    } catch (const std::exception& e) {  // PluginError, or ConfigError for its ini section
      say("plugin-failed " + name + " " + e.what());
    }
  }
  cluster::Options options = node.options;
  std::vector<std::string> protocols;
  for (const auto& id : options.protocols) {
    if (plugins->has_protocol(id)) protocols.push_back(id);
    else say("protocol-skipped " + id);
  }
  options.protocols = protocols;
  auto c = cluster::Cluster::join(options, plugins, loop, [&](cluster::Cluster& cl) {
    for (const auto& h : node.hook_sets) {
      if (plugins->has_hook_set(h)) cl.use_hook_set(h);
      else say("hooks-skipped " + h);
    }
    register_hooks(cl);
  });
  // As Cluster::join(NodeConfig) does: the thread waits until the loop knows its owner.
  std::promise<void> go;
  std::future<void> ready = go.get_future();
  thread = std::thread([&loop, f = std::move(ready)]() mutable {
    f.wait();
    loop.run();
  });
  loop.set_owner(thread.get_id());
  go.set_value();
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  bool tolerant = false;
  const char* config = nullptr;
  if (argc == 2) {
    config = argv[1];
  } else if (argc == 3 && std::string(argv[1]) == "--skip-failed-plugins") {
    tolerant = true;
    config = argv[2];
  } else {
    std::cerr << "usage: cluster_probe [--skip-failed-plugins] CONFIG\n";
    return 2;
  }
  cluster::NodeConfig node;
  std::unique_ptr<cluster::Cluster> c;
  cluster::EventLoop own_loop;  // --skip-failed-plugins only
  std::thread own_thread;
  try {
    node = cluster::NodeConfig::load_file(config);
    c = tolerant ? join_tolerant(node, own_loop, own_thread) : cluster::Cluster::join(node, register_hooks);
  } catch (const std::exception& e) {
    std::cerr << "cluster_probe: " << e.what() << "\n";
    return 1;
  }
  say("joined " + c->uuid() + " " + c->sid());

  std::string line;
  bool quit = false;
  while (!quit && std::getline(std::cin, line)) {
    if (line.empty()) continue;
    std::string reply;
    try {
      reply = command(*c, node, line, quit);
    } catch (const std::exception& e) {
      reply = std::string("error ") + e.what();
    }
    say(reply);
  }
  c->leave();
  if (own_thread.joinable()) {
    own_loop.stop();
    own_thread.join();
    own_loop.set_owner(std::thread::id());  // the loop thread is gone: run what is left inline
  }
  c.reset();
  return 0;
}
