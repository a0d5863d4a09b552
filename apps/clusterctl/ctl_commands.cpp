#include "ctl_commands.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>
#include <ostream>

#include "commands.hpp"
#include "ctl_output.hpp"
#include "interrupt.hpp"

namespace clusterctl {

using clusterapp::JsonArrayPtr;
using clusterapp::JsonPtr;

namespace {

constexpr std::uint64_t kMaxChannel = 0xFFFFFFFFFFFFFFFFull;

JsonPtr request(const char* cmd) {
  JsonPtr r = clusterapp::object();
  r->set("cmd", std::string(cmd));
  return r;
}

// The answer if it says ok; otherwise its error becomes CommandFailed.
JsonPtr checked(const JsonPtr& answer) {
  if (!answer->has("ok")) throw Unreachable("bad answer from the daemon: no \"ok\"");
  if (!answer->optValue<bool>("ok", false)) throw CommandFailed(answer->optValue<std::string>("error", "failed"));
  return answer;
}

// The answer without its "ok", as --json prints it.
JsonPtr without_ok(const JsonPtr& answer) {
  JsonPtr o = clusterapp::object();
  std::vector<std::string> names;
  answer->getNames(names);
  for (const auto& n : names)
    if (n != "ok") o->set(n, answer->get(n));
  return o;
}

void no_positional(const Args& a) {
  if (!a.positional.empty()) throw UsageError("unexpected argument '" + a.positional[0] + "'");
}

// ---- members ----

int members(const Args& a, Backend& b, std::ostream& out, std::ostream&) {
  JsonPtr answer = checked(b.request(request("members"), kRequestTimeout));
  JsonArrayPtr list = answer->getArray("members");
  if (list.isNull()) throw Unreachable("bad answer from the daemon: no members");
  if (a.has("json")) {
    list->stringify(out);
    out << "\n";
  } else {
    print_members(out, list);
  }
  return 0;
}

// ---- top ----

/// The counters of a status answer that `top` shows as rates.
struct Rates {
  std::uint64_t received = 0, sent = 0, dropped = 0, failures = 0;
};

Rates rates_of(const JsonPtr& status) {
  Rates r;
  JsonPtr c = status->getObject("counters");
  if (c.isNull()) return r;
  std::vector<std::string> names;
  c->getNames(names);
  for (const auto& n : names) {
    const std::uint64_t v = c->optValue<Poco::UInt64>(n, 0);
    if (n == "received") r.received = v;
    else if (n == "sent") r.sent = v;
    else if (n == "send_failures") r.failures = v;
    else if (n.rfind("dropped_", 0) == 0) r.dropped += v;
  }
  return r;
}

std::string per_second(std::uint64_t now, std::uint64_t before, double seconds) {
  if (seconds <= 0 || now < before) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f/s", static_cast<double>(now - before) / seconds);
  return buf;
}

int top(const Args& a, Backend& b, std::ostream& out, std::ostream&) {
  const auto interval = std::chrono::milliseconds(a.number("interval", 1000, 100, 60000));
  const std::uint64_t count = a.number("count", 0, 0, 1000000);
  // A terminal gets one screen redrawn in place; a pipe or file gets frames one after another.
  const bool terminal = &out == &std::cout && ::isatty(STDOUT_FILENO) == 1;
  Rates before;
  auto then = std::chrono::steady_clock::now();
  for (std::uint64_t frame = 0; count == 0 || frame < count; ++frame) {
    if (frame > 0) {
      const auto until = std::chrono::steady_clock::now() + interval;
      while (std::chrono::steady_clock::now() < until) {
        if (interrupted()) return 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    JsonPtr status, members;
    try {
      status = checked(b.request(request("status"), kRequestTimeout));
      members = checked(b.request(request("members"), kRequestTimeout));
    } catch (const Interrupted&) {
      return 0;  // Ctrl-C during a request ends top like Ctrl-C between frames
    }
    const auto now = std::chrono::steady_clock::now();
    const double seconds = frame == 0 ? 0 : std::chrono::duration<double>(now - then).count();
    const Rates r = rates_of(status);
    if (terminal) out << "\x1b[H\x1b[2J";
    else if (frame > 0) out << "\n";
    out << one_line(status->optValue<std::string>("uuid", "?")) << "  members "
        << status->optValue<Poco::UInt64>("members", 0) << "  received " << per_second(r.received, before.received, seconds)
        << "  sent " << per_second(r.sent, before.sent, seconds) << "  dropped "
        << per_second(r.dropped, before.dropped, seconds) << "  send failures "
        << per_second(r.failures, before.failures, seconds) << "\n\n";
    JsonArrayPtr list = members->getArray("members");
    if (!list.isNull()) print_members(out, list);
    out.flush();
    if (!out) return 0;  // the reader went away (`clusterctl top | head`)
    before = r;
    then = now;
  }
  return 0;
}

// ---- send ----

void check_send(const Args& a) {
  no_positional(a);
  if (a.values("resolve").empty()) throw UsageError("send needs --resolve TAG...");
  if (!a.has("data")) throw UsageError("send needs --data DATA");
  a.number("channel", 0, 0, kMaxChannel);
}

int send(const Args& a, Backend& b, std::ostream& out, std::ostream& err) {
  JsonPtr req = request("send");
  req->set("resolve", clusterapp::string_array(a.values("resolve")));
  req->set("data", a.value("data"));
  req->set("channel", static_cast<Poco::UInt64>(a.number("channel", 0, 0, kMaxChannel)));
  if (a.has("protocols")) req->set("protocols", clusterapp::string_array(a.values("protocols")));
  JsonPtr answer = checked(b.request(req, kRequestTimeout));
  const auto matched = answer->optValue<Poco::UInt64>("matched", 0);
  const auto reached = answer->optValue<Poco::UInt64>("reached", 0);
  if (matched == 0) {
    err << "clusterctl: no member matches " << one_line(a.value("resolve")) << (a.values("resolve").size() > 1 ? " ..." : "") << "\n";
    return 1;
  }
  out << "reached " << reached << " of " << matched << " member" << (matched == 1 ? "" : "s") << "\n";
  return reached > 0 ? 0 : 1;
}

// ---- query ----

void check_query(const Args& a) {
  no_positional(a);
  if (a.values("resolve").empty()) throw UsageError("query needs --resolve TAG...");
  if (!a.has("query")) throw UsageError("query needs --query TEXT");
  a.number("timeout", clusterapp::kDefaultQueryTimeoutMs, 1, clusterapp::kMaxQueryTimeoutMs);
  a.number("channel", 0, 0, kMaxChannel);
}

int query(const Args& a, Backend& b, std::ostream& out, std::ostream& err) {
  const auto timeout = a.number("timeout", clusterapp::kDefaultQueryTimeoutMs, 1, clusterapp::kMaxQueryTimeoutMs);
  JsonPtr req = request("query");
  req->set("resolve", clusterapp::string_array(a.values("resolve")));
  req->set("query", a.value("query"));
  req->set("timeout", static_cast<Poco::UInt64>(timeout));
  if (a.has("channel")) req->set("channel", static_cast<Poco::UInt64>(a.number("channel", 0, 0, kMaxChannel)));
  if (a.has("protocols")) req->set("protocols", clusterapp::string_array(a.values("protocols")));
  const auto wait = std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(timeout)) + kRequestTimeout;
  JsonPtr answer = checked(b.request(req, wait));
  JsonArrayPtr results = answer->getArray("results");
  if (results.isNull()) throw Unreachable("bad answer from the daemon: no results");
  const bool timed_out = answer->optValue<bool>("timed_out", false);
  const auto remaining = answer->optValue<Poco::UInt64>("remaining", 0);
  std::size_t responses = 0;
  for (std::size_t i = 0; i < results->size(); ++i) {
    JsonPtr r = results->getObject(static_cast<unsigned>(i));
    if (!r.isNull() && r->optValue<std::string>("event", "") == "response") ++responses;
  }
  if (a.has("json")) {
    JsonPtr o = clusterapp::object();
    o->set("id", answer->optValue<std::string>("id", ""));
    o->set("results", results);
    o->set("timed_out", timed_out);
    o->set("remaining", remaining);
    out << clusterapp::to_line(o) << "\n";
  } else {
    for (std::size_t i = 0; i < results->size(); ++i)
      if (JsonPtr r = results->getObject(static_cast<unsigned>(i)); !r.isNull()) out << answer_line(r) << "\n";
  }
  if (results->size() == 0 && !timed_out)
    err << "clusterctl: no member matches " << one_line(a.value("resolve")) << (a.values("resolve").size() > 1 ? " ..." : "") << "\n";
  else if (timed_out)
    err << "clusterctl: timed out: " << remaining << " member" << (remaining == 1 ? "" : "s") << " did not answer\n";
  return responses > 0 ? 0 : 1;
}

// ---- watch ----

int watch(const Args& a, Backend& b, std::ostream& out, std::ostream&) {
  const bool json = a.has("json");
  b.watch([&](const JsonPtr& e) {
    out << (json ? clusterapp::to_line(e) : event_line(e)) << "\n";
    out.flush();
    if (!out) throw Interrupted();  // the reader went away (`clusterctl watch | head`)
  });
  return 0;
}

// ---- tags ----

void check_tags(const Args& a) {
  if (a.positional.empty()) return;
  const std::string& action = a.positional[0];
  if (action != "add" && action != "remove" && action != "replace")
    throw UsageError("unknown tags action '" + action + "' (add, remove or replace)");
  if (action != "replace" && a.positional.size() < 2) throw UsageError("tags " + action + " needs at least one TAG");
}

int tags(const Args& a, Backend& b, std::ostream& out, std::ostream&) {
  JsonPtr req = request("tags");
  if (!a.positional.empty()) {
    req->set("action", a.positional[0]);
    req->set("tags", clusterapp::string_array({a.positional.begin() + 1, a.positional.end()}));
  }
  JsonPtr answer = checked(b.request(req, kRequestTimeout));
  out << tcl_list(answer->getArray("tags")) << "\n";
  return 0;
}

// ---- keys ----

void check_keys(const Args& a) {
  if (a.positional.empty()) return;
  const std::string& action = a.positional[0];
  if (action == "list") {
    if (a.positional.size() > 1) throw UsageError("keys list takes no KEY");
    return;
  }
  if (action != "install" && action != "use" && action != "remove") {
    // Not quoted: a key typed without "install" would be echoed.
    throw UsageError("unknown keys action (list, install, use or remove)");
  }
  if (a.positional.size() > 2) throw UsageError("keys " + action + " takes one KEY");
  // A transient member would rewrite the daemon's keyring file behind the daemon's back.
  if (a.has("join")) throw UsageError("keys " + action + " changes a daemon's keyring: use --socket, not --join");
  if (action != "install" && a.positional.size() < 2) throw UsageError("keys " + action + " needs a KEY id (or the key)");
}

int keys(const Args& a, Backend& b, std::ostream& out, std::ostream&) {
  JsonPtr req = request("keys");
  if (!a.positional.empty()) {
    req->set("action", a.positional[0]);
    if (a.positional.size() > 1) {
      req->set("key", a.positional[1]);
    } else if (a.positional[0] == "install") {  // off the command line: not in ps or the history
      std::string key;
      std::getline(std::cin, key);
      while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
      if (key.empty()) throw UsageError("keys install: no KEY given and none on standard input");
      req->set("key", key);
    }
  }
  JsonPtr answer = checked(b.request(req, kRequestTimeout));
  if (a.has("json")) {
    out << clusterapp::to_line(without_ok(answer)) << "\n";
    return 0;
  }
  JsonArrayPtr list = answer->getArray("keys");
  for (std::size_t i = 0; !list.isNull() && i < list->size(); ++i) {
    JsonPtr k = list->getObject(static_cast<unsigned>(i));
    out << k->optValue<std::string>("id", "?") << (k->optValue<bool>("primary", false) ? " primary" : "        ")
        << " opened " << k->optValue<Poco::UInt64>("opened", 0) << "\n";
  }
  return 0;
}

// ---- channel ----

void check_channel(const Args& a) {
  if (a.positional.empty()) return;
  const std::string& action = a.positional[0];
  if (action != "join" && action != "leave") throw UsageError("unknown channel action '" + action + "' (join or leave)");
  if (a.positional.size() != 2) throw UsageError("channel " + action + " needs one channel number");
  Args n;
  n.options["channel"] = {a.positional[1]};
  n.number("channel", 0, 0, kMaxChannel);
}

int channel(const Args& a, Backend& b, std::ostream& out, std::ostream&) {
  JsonPtr req = request("channel");
  if (!a.positional.empty()) {
    Args n;
    n.options["channel"] = {a.positional[1]};
    req->set("action", a.positional[0]);
    req->set("channel", static_cast<Poco::UInt64>(n.number("channel", 0, 0, kMaxChannel)));
  }
  JsonPtr answer = checked(b.request(req, kRequestTimeout));
  JsonArrayPtr list = answer->getArray("channels");
  std::string line;
  for (std::size_t i = 0; !list.isNull() && i < list->size(); ++i)
    line += (line.empty() ? "" : " ") + list->get(static_cast<unsigned>(i)).toString();
  out << line << "\n";
  return 0;
}

// ---- status ----

int status(const Args& a, Backend& b, std::ostream& out, std::ostream&) {
  JsonPtr answer = checked(b.request(request("status"), kRequestTimeout));
  if (a.has("json")) out << clusterapp::to_line(without_ok(answer)) << "\n";
  else print_status(out, answer);
  return 0;
}

}  // namespace

const std::vector<Command>& commands() {
  using K = OptionSpec;
  static const std::vector<Command> list = {
      {"members", "list the known members",
       "usage: clusterctl [GLOBAL] members [--json]\n"
       "\n"
       "Lists the members the daemon (or, with --join, clusterctl itself) knows, itself excluded.\n"
       "Text: a table of UUID, IP, FOUND BY, LOCAL, LAST SEEN, PROTOCOLS and TAGS. FOUND BY is how we\n"
       "found it: multicast, the discovery whose contact it answered (seeds, dns, etcd, ...), or\n"
       "inbound (it contacted us).\n"
       "--json  one array of {\"uuid\", \"sid\", \"hid\", \"ip\", \"tags\", \"protocols\", \"props\",\n"
       "        \"local\", \"found_by\", \"last_seen\"}; props is an object per protocol\n"
       "        ({\"t\": {\"port\": \"40123\"}}) and last_seen is how many MILLISECONDS AGO the member\n"
       "        was last heard from.\n",
       {{"json", K::flag}}, members, no_positional},
      {"send", "send an event to members",
       "usage: clusterctl [GLOBAL] send --resolve TAG... --data DATA [--channel N] [--protocols P...]\n"
       "\n"
       "Sends DATA as an event to every member matching any TAG (a tag, sid, hid, uuid, ip,\n"
       "\"localhost\" or \"*\") and prints \"reached N of M members\".\n"
       "--channel N      the channel (default 0)\n"
       "--protocols P..  only these protocols (ids such as t u c)\n"
       "Exit 1 when no member matches or none could be reached.\n",
       {{"resolve", K::list}, {"data", K::value}, {"channel", K::value}, {"protocols", K::list}}, send, check_send},
      {"query", "ask members and print their answers",
       "usage: clusterctl [GLOBAL] query --resolve TAG... --query TEXT [--timeout MS] [--channel N]\n"
       "                                 [--protocols P...] [--json]\n"
       "\n"
       "Sends TEXT as a query to every member matching any TAG and waits until all answered or\n"
       "MS milliseconds passed (default 5000).\n"
       "Text: one line per answer, \"UUID response DATA\" or \"UUID error TEXT\" (control characters\n"
       "escaped); members that did not answer are counted on stderr.\n"
       "--channel N      the channel (default 0)\n"
       "--protocols P..  ask only over these protocols (ids such as t u); a member none of them\n"
       "                 reaches answers an error at once\n"
       "--json  {\"id\", \"results\": [{\"uuid\", \"event\": \"response\"|\"error\", \"data\"}],\n"
       "        \"timed_out\", \"remaining\"}\n"
       "Exit 0 when at least one member responded, 1 when none did (no match, errors, timeout).\n",
       {{"resolve", K::list},
        {"query", K::value},
        {"timeout", K::value},
        {"channel", K::value},
        {"protocols", K::list},
        {"json", K::flag}},
       query, check_query},
      {"watch", "print members coming and going, and events, as they happen",
       "usage: clusterctl [GLOBAL] watch [--json]\n"
       "\n"
       "Prints one line per change until interrupted (Ctrl-C: exit 0):\n"
       "  discovered UUID ip IP tags {TAGS} [local]\n"
       "  lost UUID (REASON) ip IP tags {TAGS}\n"
       "  tags UUID {TAGS}\n"
       "  event UUID channel N: DATA\n"
       "--json  one object per line: {\"event\": \"discovered\"|\"lost\"|\"tags\"|\"event\", \"uuid\", ...}\n"
       "Exit 3 when the daemon goes away.\n",
       {{"json", K::flag}}, watch, no_positional},
      {"tags", "show or change the daemon's tags",
       "usage: clusterctl [GLOBAL] tags [add|remove|replace TAG...]\n"
       "\n"
       "Without an action prints the tags (one Tcl list). add/remove/replace change them (members\n"
       "hear of it with the next heartbeat, sent at once) and print the new tags. \"replace\" with\n"
       "no TAG clears them.\n",
       {}, tags, check_tags},
      {"top", "a live view of the members and the daemon's packet rates",
       "usage: clusterctl [GLOBAL] top [--interval MS] [--count N]\n"
       "\n"
       "Every --interval (default 1000, 100-60000) ms: one line with our uuid, the member count and\n"
       "the rates of packets received, sent, dropped (every dropped_* counter) and failed sends since\n"
       "the last frame, then the members table (as `members`). On a terminal the screen is redrawn in\n"
       "place; otherwise frames follow each other, separated by an empty line. Runs until\n"
       "interrupted (exit 0), or for --count frames.\n",
       {{"interval", K::value}, {"count", K::value}}, top, no_positional},
      {"keys", "list or change the sealer's keyring (encryption keys)",
       "usage: clusterctl [GLOBAL] keys [list|install [KEY]|use KEY|remove KEY] [--json]\n"
       "\n"
       "The keyring of the daemon's sealer ([cluster] sealer = encrypt; docs/security.md), on this\n"
       "member only. list (the default) prints one line per key, the primary (the one that seals)\n"
       "first: ID primary opened N (packets opened with it). install adds an accepted key (base64 of\n"
       "32 bytes, e.g. from clusterctl keygen; read from standard input when KEY is left out, so it\n"
       "stays out of ps and the shell history); use makes a key the primary; remove drops one (not\n"
       "the primary). KEY may be the key or its ID. Changes are written to the keyring file.\n"
       "Rotate across a cluster: install the new key on every member, then use it on every member,\n"
       "then remove the old one on every member. Each action prints the keyring after it.\n"
       "--json  {\"keys\": [{\"id\", \"primary\", \"opened\"}]}\n",
       {{"json", K::flag}}, keys, check_keys},
      {"channel", "show, join or leave channels",
       "usage: clusterctl [GLOBAL] channel [join|leave N]\n"
       "\n"
       "Without an action prints the channels listened to. join/leave change them and print the\n"
       "new list. Channels 0, 1 and 2 cannot be left (exit 1).\n",
       {}, channel, check_channel},
      {"status", "show the daemon's identity, tags, channels and counters",
       "usage: clusterctl [GLOBAL] status [--json]\n"
       "\n"
       "--json  {\"uuid\", \"sid\", \"hid\", \"tags\", \"protocols\", \"channels\", \"members\", \"counters\"}\n",
       {{"json", K::flag}}, status, no_positional},
  };
  return list;
}

const Command* find_command(const std::string& name) {
  for (const auto& c : commands())
    if (c.name == name) return &c;
  return nullptr;
}

}  // namespace clusterctl
