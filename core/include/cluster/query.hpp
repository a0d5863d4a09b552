// Queries: a request to a resolved set of members whose answers are collected until all replied
// or a timeout (PROTOCOL.md section 8; the seed's $cluster query).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/export.hpp"
#include "cluster/resolver.hpp"
#include "cluster/service.hpp"

namespace cluster {

/// What a query's callback is told, in this order: start, then response/error per member,
/// then timeout (if it timed out), then done.
enum class QueryEvent { start, response, error, timeout, done };

CLUSTER_API std::string_view query_event_name(QueryEvent e) noexcept;

class Query;
using QueryPtr = std::shared_ptr<Query>;
using QueryCallback = std::function<void(QueryEvent, Query&)>;

struct QueryOptions {
  std::string id;                      ///< -id: "" generates a unique one; reusing a running id ends it
  std::vector<std::string> resolve;    ///< -resolve terms (members matching any)
  std::optional<Resolver> resolver;    ///< -resolver (at least one of the two is required)
  std::string query;                   ///< -query: the text the receivers' query hooks get
  bool collect = false;                ///< -collect: keep every answer for results()
  QueryCallback command;               ///< -command: lifecycle events (on the loop thread)
  std::chrono::milliseconds timeout = std::chrono::seconds(30);  ///< -timeout
  bool broadcast = false;              ///< -broadcast: one filtered multicast instead of direct sends
  std::vector<std::string> protocols;  ///< -protocols: restrict direct sends to these
  std::uint64_t channel = 0;           ///< -channel
};

/// One answer.
struct QueryAnswer {
  std::string uuid;
  bool error = false;  ///< the member's query hook refused or failed
  std::string data;    ///< the answer, or the error text
};

/// A running or finished query: a handle over the state the cluster fills in (on its loop
/// thread) while answers come. Accessors are for the callback (loop thread) or after wait().
class CLUSTER_API Query {
 public:
  const std::string& id() const noexcept;
  const std::string& query() const noexcept;
  std::uint64_t channel() const noexcept;
  /// Members that have not answered yet.
  std::size_t remaining() const;
  /// The member of the current response/error event.
  const ServicePtr& service() const noexcept;
  /// The current answer (response data or error text).
  const std::string& payload() const noexcept;
  const std::string& result() const noexcept { return payload(); }
  /// The current error text ("" for a response).
  std::string error() const;
  /// Every answer so far, in arrival order.
  std::vector<std::string> payloads() const;
  /// Answers by member uuid; only kept with collect (empty otherwise).
  std::map<std::string, QueryAnswer> results() const;
  bool done() const;
  bool timed_out() const;
  /// Blocks until done or `limit` passed; true when done. Call it from a thread other than the
  /// loop's: the loop delivers the answers, so on the loop thread (in a hook or callback, or in
  /// a single-threaded host) it throws std::logic_error, done or not. There use
  /// QueryOptions::command instead.
  bool wait(std::chrono::milliseconds limit);

  struct State;  ///< defined by the core (core/src/queries)
  explicit Query(std::unique_ptr<State> state);
  ~Query();
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

 private:
  friend class QueryControl;  // the cluster's side: expect, answer, finish
  std::unique_ptr<State> state_;
};

}  // namespace cluster
