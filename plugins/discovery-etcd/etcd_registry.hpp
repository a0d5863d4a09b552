// The etcd half of the etcd discovery: a worker thread that keeps our member key in etcd under
// a lease and reports every other member key under the prefix.
//
// The worker grants a lease, puts our key with it, reads the prefix, then watches it from the
// revision read, keeping the lease alive every ttl/3. Any failure (etcd down, watch broken,
// lease gone) starts over after a delay doubling from backoff_min to backoff_max; a lease that
// etcd no longer knows (expired while we could not reach it, or etcd lost its data) is replaced
// and our key put again. The last map stays as it was while etcd is unreachable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/sdk/result.hpp"
#include "etcd_client.hpp"

namespace cluster::etcd {

struct RegistryOptions {
  std::vector<std::string> endpoints{"http://127.0.0.1:2379"};
  std::string prefix = "/cluster/members/";
  std::string key;    ///< ours: prefix + uuid
  std::string value;  ///< ours: the member's contact record
  std::int64_t ttl_s = 10;          ///< lease TTL (etcd raises it to its minimum, 2 s by default)
  milliseconds timeout{2000};       ///< one etcd call
  milliseconds backoff_min{250};    ///< first retry delay after a failure, doubling...
  milliseconds backoff_max{5000};   ///< ...up to this
};

class EtcdRegistry {
 public:
  /// Every other member key under the prefix -> its value. Worker thread.
  using MembersFn = std::function<void(std::map<std::string, std::string>)>;
  /// level: an sdk::LogLevel as int. Worker thread, and stop()'s caller for the revoke.
  using LogFn = std::function<void(int level, std::string)>;

  EtcdRegistry(RegistryOptions options, MembersFn on_members, LogFn log);
  ~EtcdRegistry();  ///< stop()
  EtcdRegistry(const EtcdRegistry&) = delete;
  EtcdRegistry& operator=(const EtcdRegistry&) = delete;

  /// Checks the options and starts the worker (etcd need not be up: it retries). Once.
  sdk::Result start();
  /// Replaces our value; the worker puts it within ~250 ms (or once etcd is back).
  void set_value(std::string value);
  /// Interrupts the worker's call in flight and joins it (well under a second), then revokes
  /// the lease (best effort, at most 1 s) so that the others see our key go at once.
  /// Idempotent; not from the callbacks.
  void stop();
  /// Test only: stops like a crash, without revoking; the key goes when the lease expires.
  void abandon();

 private:
  void finish(bool revoke);
  void run();
  /// One connected stretch: register, read, watch and keep alive until a failure or stop.
  sdk::Result serve();
  /// Keeps or replaces the lease, then puts our key.
  sdk::Result enroll();
  /// Applies watch events to members_; true when the map changed.
  bool apply(const std::vector<WatchEvent>& events);
  void publish();
  void log(int level, const std::string& text);
  bool stopping() const { return stopping_.load(); }

  RegistryOptions options_;
  MembersFn on_members_;
  LogFn log_;
  EtcdClient client_;

  std::mutex m_;  // guards value_, value_changed_; with cv_, the backoff sleep
  std::condition_variable cv_;
  std::string value_;
  bool value_changed_ = false;
  std::atomic<bool> stopping_{false};
  std::thread worker_;
  bool started_ = false;

  // Worker only (and stop() after the join).
  std::int64_t lease_ = 0;
  milliseconds period_{0};  ///< keepalive period: the lease's TTL / 3
  bool down_ = false;       ///< the last attempt failed (logged once)
  bool reput_ = false;      ///< someone deleted our key
  std::map<std::string, std::string> members_;
  std::map<std::string, std::string> published_;
  bool have_published_ = false;
};

}  // namespace cluster::etcd
