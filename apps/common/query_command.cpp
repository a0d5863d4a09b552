// The query command: starts a query and answers when it is done (all answered, or timeout).
#include <memory>

#include "commands.hpp"

namespace clusterapp {

namespace {

struct PendingQuery {
  Reply reply;
  JsonArrayPtr results = new Poco::JSON::Array;
  bool replied = false;

  void answer(const cluster::Query& q, bool error) {
    JsonPtr a = object();
    a->set("uuid", utf8_safe(q.service() ? q.service()->uuid() : std::string()));
    a->set("event", std::string(error ? "error" : "response"));
    a->set("data", utf8_safe(q.result()));
    results->add(a);
  }
  void done(const cluster::Query& q) {
    if (replied) return;
    replied = true;
    JsonPtr r = ok_object();
    r->set("id", utf8_safe(q.id()));
    r->set("results", results);
    r->set("timed_out", q.timed_out());
    r->set("remaining", static_cast<Poco::UInt64>(q.remaining()));
    reply(r);
  }
};

}  // namespace

void run_query(cluster::Cluster& c, const JsonPtr& request, const Reply& reply) {
  cluster::QueryOptions o;
  try {
    o.resolve = get_strings(request, "resolve");
    if (o.resolve.empty()) throw RequestError("'resolve' needs at least one term");
    o.query = get_string(request, "query");
    const std::uint64_t timeout = get_uint(request, "timeout", kDefaultQueryTimeoutMs);
    if (timeout == 0 || timeout > kMaxQueryTimeoutMs)
      throw RequestError("'timeout' must be 1.." + std::to_string(kMaxQueryTimeoutMs) + " ms");
    o.timeout = std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(timeout));
    o.channel = get_uint(request, "channel", 0);
    o.protocols = get_strings(request, "protocols");
  } catch (const RequestError& e) {
    reply(error_object(e.what()));
    return;
  }
  auto pending = std::make_shared<PendingQuery>();
  pending->reply = reply;
  o.command = [pending](cluster::QueryEvent e, cluster::Query& q) {
    if (e == cluster::QueryEvent::response) pending->answer(q, false);
    else if (e == cluster::QueryEvent::error) pending->answer(q, true);
    else if (e == cluster::QueryEvent::done) pending->done(q);
  };
  try {
    c.query(std::move(o));
  } catch (const std::exception& e) {
    if (!pending->replied) {
      pending->replied = true;
      reply(error_object(std::string("query failed: ") + e.what()));
    }
  }
}

}  // namespace clusterapp
