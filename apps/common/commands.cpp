#include "commands.hpp"

#include <stdexcept>

#include <algorithm>
#include <chrono>
#include <exception>

#include "member_json.hpp"

namespace clusterapp {

namespace {

std::vector<std::string> resolve_terms(const JsonPtr& req) {
  auto terms = get_strings(req, "resolve");
  if (terms.empty()) throw RequestError("'resolve' needs at least one term");
  return terms;
}

JsonPtr members(cluster::Cluster& c) {
  std::vector<cluster::ServiceInfo> infos;
  for (const auto& s : c.services()) infos.push_back(s->info());
  std::sort(infos.begin(), infos.end(), [](const auto& a, const auto& b) { return a.uuid < b.uuid; });
  const auto now = std::chrono::steady_clock::now();
  JsonArrayPtr list = new Poco::JSON::Array;
  for (const auto& i : infos) list->add(member_json(i, now));
  JsonPtr r = ok_object();
  r->set("members", list);
  return r;
}

JsonPtr send(cluster::Cluster& c, const JsonPtr& req) {
  const auto terms = resolve_terms(req);
  const std::string data = get_string(req, "data");
  cluster::SendFlags flags;
  flags.channel = get_uint(req, "channel", 0);
  flags.protocols = get_strings(req, "protocols");
  const auto to = c.resolve(terms);
  const std::size_t reached = to.empty() ? 0 : c.send(to, data, flags);
  JsonPtr r = ok_object();
  r->set("matched", static_cast<Poco::UInt64>(to.size()));
  r->set("reached", static_cast<Poco::UInt64>(reached));
  return r;
}

JsonPtr tags(cluster::Cluster& c, const JsonPtr& req) {
  const std::string action = get_string(req, "action", "");
  const auto list = get_strings(req, "tags");
  try {
    if (action.empty()) {
      if (!list.empty()) throw RequestError("'tags' needs an action (add, remove or replace)");
    } else if (action == "add" || action == "remove") {
      if (list.empty()) throw RequestError("tags " + action + " needs at least one tag");
      if (action == "add") c.tags_append(list);
      else c.tags_remove(list);
    } else if (action == "replace") {
      c.tags_replace(list);
    } else {
      throw RequestError("unknown tags action '" + action + "' (add, remove or replace)");
    }
  } catch (const std::invalid_argument& e) {  // a control character, or too large a heartbeat
    throw RequestError(e.what());
  }
  JsonPtr r = ok_object();
  r->set("tags", string_array(c.tags()));
  return r;
}

// The keyring of the sealer (docs/security.md): list, install, use, remove on this member.
JsonPtr keys(cluster::Cluster& c, const JsonPtr& req) {
  const std::string action = get_string(req, "action", "list");
  try {
    if (action == "install" || action == "use" || action == "remove") {
      const std::string key = get_string(req, "key", "");
      if (key.empty()) throw RequestError("keys " + action + " needs a key");
      if (action == "install") c.install_key(key);
      else if (action == "use") c.use_key(key);
      else c.remove_key(key);
    } else if (action != "list") {
      // Not quoted: a key sent without "install" would be echoed.
      throw RequestError("unknown keys action (list, install, use or remove)");
    }
    JsonArrayPtr list = new Poco::JSON::Array;
    for (const auto& k : c.keys()) {
      JsonPtr o = object();
      o->set("id", k.id);
      o->set("primary", k.primary);
      o->set("opened", static_cast<Poco::UInt64>(k.opened));
      list->add(o);
    }
    JsonPtr r = ok_object();
    r->set("keys", list);
    return r;
  } catch (const std::invalid_argument& e) {  // the sealer refused
    throw RequestError(e.what());
  } catch (const std::runtime_error& e) {  // no sealer, or one without a keyring
    throw RequestError(e.what());
  }
}

JsonArrayPtr channel_array(const std::vector<std::uint64_t>& channels) {
  JsonArrayPtr a = new Poco::JSON::Array;
  for (auto ch : channels) a->add(static_cast<Poco::UInt64>(ch));
  return a;
}

JsonPtr channel(cluster::Cluster& c, const JsonPtr& req) {
  const std::string action = get_string(req, "action", "");
  if (!action.empty()) {
    if (action != "join" && action != "leave")
      throw RequestError("unknown channel action '" + action + "' (join or leave)");
    if (!req->has("channel")) throw RequestError("'channel' is missing");
    const std::uint64_t ch = get_uint(req, "channel", 0);
    if (action == "join") {
      c.subscribe(ch);
    } else if (ch <= 2) {
      throw RequestError("channels 0, 1 and 2 cannot be left");
    } else if (!c.unsubscribe(ch)) {
      throw RequestError("not listening to channel " + std::to_string(ch));
    }
  }
  JsonPtr r = ok_object();
  r->set("channels", channel_array(c.channels()));
  return r;
}

JsonPtr status(cluster::Cluster& c) {
  JsonPtr r = ok_object();
  r->set("uuid", utf8_safe(c.uuid()));
  r->set("sid", utf8_safe(c.sid()));
  r->set("hid", utf8_safe(c.hid()));
  r->set("tags", string_array(c.tags()));
  r->set("protocols", string_array(c.config().protocols));
  r->set("channels", channel_array(c.channels()));
  r->set("members", static_cast<Poco::UInt64>(c.known_services()));
  const cluster::Counters n = c.counters();
  JsonPtr counters = object();
  counters->set("received", static_cast<Poco::UInt64>(n.received));
  counters->set("sent", static_cast<Poco::UInt64>(n.sent));
  counters->set("send_failures", static_cast<Poco::UInt64>(n.send_failures));
  counters->set("unreachable", static_cast<Poco::UInt64>(n.unreachable));
  counters->set("pings_sent", static_cast<Poco::UInt64>(n.pings_sent));
  counters->set("burst_answers", static_cast<Poco::UInt64>(n.burst_answers));
  counters->set("refused_members", static_cast<Poco::UInt64>(n.refused_members));
  counters->set("multicast_fallbacks", static_cast<Poco::UInt64>(n.multicast_fallbacks));
  counters->set("asks_sent", static_cast<Poco::UInt64>(n.asks_sent));
  counters->set("dropped_remote", static_cast<Poco::UInt64>(n.dropped_remote));
  counters->set("dropped_malformed", static_cast<Poco::UInt64>(n.dropped_malformed));
  counters->set("dropped_own", static_cast<Poco::UInt64>(n.dropped_own));
  counters->set("dropped_departed", static_cast<Poco::UInt64>(n.dropped_departed));
  counters->set("dropped_filter", static_cast<Poco::UInt64>(n.dropped_filter));
  counters->set("dropped_channel", static_cast<Poco::UInt64>(n.dropped_channel));
  counters->set("dropped_hook", static_cast<Poco::UInt64>(n.dropped_hook));
  counters->set("dropped_invalid", static_cast<Poco::UInt64>(n.dropped_invalid));
  counters->set("streams_over_budget", static_cast<Poco::UInt64>(n.streams_over_budget));
  counters->set("streams_stalled", static_cast<Poco::UInt64>(n.streams_stalled));
  counters->set("conns_refused", static_cast<Poco::UInt64>(n.conns_refused));
  counters->set("conns_evicted", static_cast<Poco::UInt64>(n.conns_evicted));
  counters->set("conns_idle_closed", static_cast<Poco::UInt64>(n.conns_idle_closed));
  counters->set("probes_sent", static_cast<Poco::UInt64>(n.probes_sent));
  counters->set("probes_indirect", static_cast<Poco::UInt64>(n.probes_indirect));
  counters->set("probes_failed", static_cast<Poco::UInt64>(n.probes_failed));
  counters->set("suspicions", static_cast<Poco::UInt64>(n.suspicions));
  counters->set("refutations", static_cast<Poco::UInt64>(n.refutations));
  counters->set("confirmations", static_cast<Poco::UInt64>(n.confirmations));
  counters->set("nacks_sent", static_cast<Poco::UInt64>(n.nacks_sent));
  counters->set("detector_health", static_cast<Poco::UInt64>(n.detector_health));
  counters->set("dropped_label", static_cast<Poco::UInt64>(n.dropped_label));
  counters->set("dropped_plain", static_cast<Poco::UInt64>(n.dropped_plain));
  counters->set("dropped_unopened", static_cast<Poco::UInt64>(n.dropped_unopened));
  counters->set("dropped_replay", static_cast<Poco::UInt64>(n.dropped_replay));
  counters->set("send_queue_full", static_cast<Poco::UInt64>(n.send_queue_full));
  counters->set("send_queue_dropped", static_cast<Poco::UInt64>(n.send_queue_dropped));
  counters->set("send_queue_paused", static_cast<Poco::UInt64>(n.send_queue_paused));
  r->set("counters", counters);
  return r;
}

}  // namespace

void execute(cluster::Cluster& c, const JsonPtr& request, const Reply& reply) {
  JsonPtr response;
  try {
    const std::string cmd = get_string(request, "cmd");
    if (cmd == "query") {
      run_query(c, request, reply);
      return;
    }
    if (cmd == "members") response = members(c);
    else if (cmd == "send") response = send(c, request);
    else if (cmd == "tags") response = tags(c, request);
    else if (cmd == "channel") response = channel(c, request);
    else if (cmd == "keys") response = keys(c, request);
    else if (cmd == "status") response = status(c);
    else if (cmd == "watch") response = error_object("'watch' is a stream: only the control connection serves it");
    else response = error_object("unknown command '" + cmd + "'");
  } catch (const RequestError& e) {
    response = error_object(e.what());
  } catch (const std::exception& e) {
    response = error_object(std::string("failed: ") + e.what());
  }
  reply(response);
}

}  // namespace clusterapp
