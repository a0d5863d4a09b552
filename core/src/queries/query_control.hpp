// The cluster's side of a Query: the state behind the public handle, and the calls that fill
// it on the loop thread (expect, answer, finish). Callbacks run without the lock held.
#pragma once

#include <condition_variable>
#include <mutex>

#include "cluster/query.hpp"
#include "cluster/lifeline.hpp"

namespace cluster {

struct Query::State {
  std::string id, text;
  std::uint64_t channel = 0;
  bool collect = false;
  QueryCallback cb;
  mutable std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> waiting;  // uuids yet to answer
  std::vector<std::string> payloads;
  std::map<std::string, QueryAnswer> results;
  QueryAnswer current;
  ServicePtr current_service;
  bool done = false, timed_out = false;
  std::shared_ptr<Lifeline> life;  // lets wait() tell whether it runs on the loop thread
};

class QueryControl {
 public:
  static QueryPtr make(std::string id, std::string text, std::uint64_t channel, bool collect, QueryCallback cb,
                       std::shared_ptr<Lifeline> life);
  static void expect(Query& q, const std::string& uuid);
  static void fire(Query& q, QueryEvent e);
  /// False when not expected (late, unknown, answered already, or the query is done).
  static bool answer(Query& q, const ServicePtr& from, QueryAnswer a);
  static void finish(Query& q, bool timed_out);
};

}  // namespace cluster
