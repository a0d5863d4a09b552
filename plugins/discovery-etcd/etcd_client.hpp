// A blocking client of etcd's v3 JSON gateway (etcd >= 3.4: POST /v3/..., keys and values
// base64, 64-bit integers as strings) over Poco's HTTPClientSession, one connection per call.
//
// One thread makes the calls (the registry's worker); only cancel(), resume() and
// Watch::cancel() may come from another. Nothing throws except std::bad_alloc: a failure is an
// sdk::Result naming the endpoint and path and the cause (connection refused, timeout, HTTP
// status with etcd's error message, malformed reply).
//
// Cancellation shuts the socket down (shutdown(2)): a recv or poll blocked on it returns at once.
// Only a connect in progress is not interrupted; it is bounded by connect_timeout.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cluster/sdk/result.hpp"

namespace cluster::etcd {

using std::chrono::milliseconds;

struct ClientOptions {
  /// http://host:port, tried in turn: a call that cannot reach one (or gets a 5xx) tries the next.
  std::vector<std::string> endpoints{"http://127.0.0.1:2379"};
  milliseconds timeout{2000};          ///< bounds a whole call, all endpoints included
  milliseconds connect_timeout{1000};  ///< one connect (capped by what is left of `timeout`)
};

struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t mod_revision = 0;
  std::int64_t lease = 0;  ///< 0: none
};

struct WatchEvent {
  enum class Type { put, del };
  Type type = Type::put;
  KeyValue kv;  ///< value empty for del
};

namespace detail {
class Interrupt;
class Connection;
}  // namespace detail

/// A watch stream, from EtcdClient::watch(). Read by one thread; cancel() from any.
class Watch {
 public:
  ~Watch();
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

  /// Waits up to `wait` for messages and appends their events to `out`; returns as soon as one
  /// message came, or with none after `wait`. Failure: the stream ended or broke, a malformed
  /// message, etcd cancelled the watch (compaction: range again and watch from the new
  /// revision), or cancel().
  sdk::Result next(std::vector<WatchEvent>& out, milliseconds wait);
  /// Any thread: shuts the stream down; next() fails at once ("cancelled").
  void cancel() noexcept;
  /// The newest header revision seen on the stream (0 before the first message).
  std::int64_t revision() const noexcept { return revision_; }

 private:
  friend class EtcdClient;
  Watch();
  sdk::Result handle(const std::string& line, std::vector<WatchEvent>& out);

  std::shared_ptr<detail::Interrupt> own_;
  std::unique_ptr<detail::Connection> conn_;
  std::int64_t revision_ = 0;
};

class EtcdClient {
 public:
  explicit EtcdClient(ClientOptions options);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  /// Success when every endpoint is an http://host:port URL; otherwise every call fails so.
  const sdk::Result& valid() const noexcept { return valid_; }

  sdk::Result grant(std::int64_t ttl_s, std::int64_t& lease);
  /// lease 0: a key without lease.
  sdk::Result put(const std::string& key, const std::string& value, std::int64_t lease);
  /// One keepalive. `ttl`: seconds left; 0 when the lease no longer exists (expired, revoked,
  /// or etcd lost its data): grant a new lease and put the keys again.
  sdk::Result keepalive(std::int64_t lease, std::int64_t& ttl);
  /// Revokes the lease (its keys are deleted at once); a lease already gone is a success.
  /// `timeout` replaces options.timeout for this call.
  sdk::Result revoke(std::int64_t lease, milliseconds timeout);
  /// Every key starting with `prefix`, and the store's revision they were read at.
  sdk::Result range_prefix(const std::string& prefix, std::vector<KeyValue>& out, std::int64_t& revision);
  /// Watches keys starting with `prefix`, from revision `from` (0: changes from now on).
  sdk::Result watch(const std::string& prefix, std::int64_t from, std::unique_ptr<Watch>& out);

  /// Any thread: interrupts the call in flight and every open watch; later calls fail at once
  /// ("cancelled") until resume().
  void cancel() noexcept;
  void resume() noexcept;

  /// The end of the range of keys starting with `prefix` (etcd's range_end).
  static std::string prefix_end(const std::string& prefix);

 private:
  struct Host {
    std::string name;
    std::uint16_t port = 0;
  };

  /// Connects and POSTs `body` to `path` until an endpoint answers 200 (`conn` then reads the
  /// body), trying the next endpoint on a transport failure or a 5xx; other statuses fail with
  /// etcd's message. `watch`: the watch's own interrupt, also registered.
  sdk::Result open(const std::string& path, const std::string& body, milliseconds timeout,
                   const std::shared_ptr<detail::Interrupt>& watch, std::unique_ptr<detail::Connection>& conn);
  /// open(), then the whole reply (`one_message`: a streaming endpoint; its first line).
  /// `where`: the endpoint and path that answered.
  sdk::Result call(const std::string& path, const std::string& body, milliseconds timeout,
                   bool one_message, std::string& reply, std::string& where);

  ClientOptions options_;
  std::vector<Host> hosts_;
  sdk::Result valid_ = sdk::Result::success();
  std::size_t current_ = 0;  ///< the endpoint tried first
  int last_code_ = -1;       ///< the gRPC code of the last error reply (-1: none)
  std::shared_ptr<detail::Interrupt> interrupt_;
};

}  // namespace cluster::etcd
