// The etcd discovery's worker (etcd_registry.hpp).
#include "etcd_registry.hpp"

#include <algorithm>
#include <exception>
#include <system_error>
#include <utility>

#include "cluster/sdk/protocol.hpp"

namespace cluster::etcd {

namespace {

using Clock = std::chrono::steady_clock;
using sdk::LogLevel;

constexpr milliseconds kSlice{250};          // the longest the worker waits before looking at set_value()
constexpr milliseconds kRevokeBudget{1000};  // stop(): the revoke
constexpr milliseconds kMinPeriod{100};

int lvl(LogLevel l) { return static_cast<int>(l); }

milliseconds third(std::int64_t ttl_s) { return std::max(milliseconds(ttl_s * 1000 / 3), kMinPeriod); }

}  // namespace

EtcdRegistry::EtcdRegistry(RegistryOptions options, MembersFn on_members, LogFn log)
    : options_(std::move(options)),
      on_members_(std::move(on_members)),
      log_(std::move(log)),
      client_(ClientOptions{options_.endpoints, options_.timeout, std::min(options_.timeout, milliseconds(1000))}),
      value_(options_.value) {}

EtcdRegistry::~EtcdRegistry() { stop(); }

sdk::Result EtcdRegistry::start() {
  const auto fail = [](const std::string& why) { return sdk::Result::failure("etcd registry: " + why); };
  if (started_) return fail("already started");
  if (!client_.valid()) return client_.valid();
  const auto& o = options_;
  if (o.prefix.empty()) return fail("empty prefix");
  if (o.key.size() <= o.prefix.size() || o.key.compare(0, o.prefix.size(), o.prefix) != 0)
    return fail("key '" + o.key + "' is not under prefix '" + o.prefix + "'");
  if (o.ttl_s < 1) return fail("lease ttl below 1 s");
  if (o.timeout.count() <= 0 || o.backoff_min.count() <= 0 || o.backoff_max < o.backoff_min)
    return fail("timeout and backoff must be positive, backoff_max >= backoff_min");
  try {
    worker_ = std::thread([this] { run(); });
  } catch (const std::system_error& e) {
    return fail(std::string("cannot start its thread: ") + e.what());
  }
  started_ = true;
  return sdk::Result::success();
}

void EtcdRegistry::set_value(std::string value) {
  std::lock_guard<std::mutex> g(m_);
  value_ = std::move(value);
  value_changed_ = true;
}

void EtcdRegistry::stop() { finish(true); }
void EtcdRegistry::abandon() { finish(false); }

void EtcdRegistry::finish(bool revoke) {
  {
    std::lock_guard<std::mutex> g(m_);
    if (!worker_.joinable() || stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  client_.cancel();  // the call in flight and the watch return at once
  worker_.join();
  client_.resume();
  if (revoke && lease_ != 0) {
    if (auto r = client_.revoke(lease_, kRevokeBudget))
      log(lvl(LogLevel::debug), "etcd: revoked our lease; " + options_.key + " is deleted");
    else
      log(lvl(LogLevel::info), "etcd: could not revoke our lease (" + r.message() + "); " + options_.key +
                                   " goes when it expires");
  }
  lease_ = 0;
}

void EtcdRegistry::log(int level, const std::string& text) {
  if (!log_) return;
  try {
    log_(level, text);
  } catch (...) {  // the caller's bug must not end the worker
  }
}

void EtcdRegistry::run() {
  milliseconds delay = options_.backoff_min;
  while (!stopping()) {
    sdk::Result r = sdk::Result::success();
    try {
      r = serve();
    } catch (const std::exception& e) {
      r = sdk::Result::failure(std::string("etcd registry: ") + e.what());
    }
    if (stopping()) break;
    if (!down_) delay = options_.backoff_min;  // it had been up: retry soon
    if (!down_) log(lvl(LogLevel::warning), "etcd: " + r.message() + "; retrying until it answers");
    down_ = true;
    std::unique_lock<std::mutex> g(m_);
    cv_.wait_for(g, delay, [this] { return stopping(); });
    delay = std::min(delay * 2, options_.backoff_max);
  }
}

sdk::Result EtcdRegistry::enroll() {
  if (lease_ != 0) {
    std::int64_t ttl = 0;
    if (auto r = client_.keepalive(lease_, ttl); !r) return r;
    if (ttl == 0) {
      log(lvl(LogLevel::info), "etcd: our lease is gone (expired, or etcd lost its data); granting a new one");
      lease_ = 0;
    } else {
      period_ = third(ttl);
    }
  }
  if (lease_ == 0) {
    if (auto r = client_.grant(options_.ttl_s, lease_); !r) return r;
    period_ = third(options_.ttl_s);
  }
  std::string value;
  {
    std::lock_guard<std::mutex> g(m_);
    value = value_;
    value_changed_ = false;
  }
  reput_ = false;
  return client_.put(options_.key, value, lease_);
}

sdk::Result EtcdRegistry::serve() {
  if (auto r = enroll(); !r) return r;
  std::vector<KeyValue> kvs;
  std::int64_t revision = 0;
  if (auto r = client_.range_prefix(options_.prefix, kvs, revision); !r) return r;
  std::unique_ptr<Watch> watch;
  if (auto r = client_.watch(options_.prefix, revision + 1, watch); !r) return r;
  members_.clear();
  for (auto& kv : kvs)
    if (kv.key != options_.key) members_[kv.key] = std::move(kv.value);
  log(lvl(LogLevel::info), std::string(down_ ? "etcd: reachable again; " : "etcd: ") + "registered " + options_.key +
                               " (lease " + std::to_string(lease_) + ", ttl " + std::to_string(options_.ttl_s) + " s)");
  down_ = false;
  publish();

  auto next_keepalive = Clock::now() + period_;
  std::vector<WatchEvent> events;
  while (!stopping()) {
    bool changed;
    {
      std::lock_guard<std::mutex> g(m_);
      changed = value_changed_;
    }
    if (changed || reput_)
      if (auto r = enroll(); !r) return r;
    const auto left = std::chrono::duration_cast<milliseconds>(next_keepalive - Clock::now());
    events.clear();
    if (auto r = watch->next(events, std::clamp(left, milliseconds(0), kSlice)); !r) return r;
    if (apply(events)) publish();
    if (Clock::now() < next_keepalive) continue;
    std::int64_t ttl = 0;
    if (auto r = client_.keepalive(lease_, ttl); !r) return r;
    if (ttl == 0) {
      log(lvl(LogLevel::warning), "etcd: our lease expired; registering again");
      lease_ = 0;
      if (auto r = enroll(); !r) return r;
    } else {
      period_ = third(ttl);
    }
    next_keepalive = Clock::now() + period_;
  }
  return sdk::Result::success();
}

bool EtcdRegistry::apply(const std::vector<WatchEvent>& events) {
  bool changed = false;
  for (const auto& e : events) {
    if (e.kv.key == options_.key) {
      if (e.type == WatchEvent::Type::del) reput_ = true;  // deleted behind our back: put it again
      continue;
    }
    if (e.type == WatchEvent::Type::del) {
      changed |= members_.erase(e.kv.key) > 0;
      continue;
    }
    auto [it, added] = members_.try_emplace(e.kv.key, e.kv.value);
    if (!added && it->second != e.kv.value) {
      it->second = e.kv.value;
      added = true;
    }
    changed |= added;
  }
  return changed;
}

void EtcdRegistry::publish() {
  if (have_published_ && members_ == published_) return;
  published_ = members_;
  have_published_ = true;
  if (!on_members_) return;
  try {
    on_members_(members_);
  } catch (...) {  // the caller's bug must not end the worker
    log(lvl(LogLevel::error), "etcd: the members callback threw");
  }
}

}  // namespace cluster::etcd
