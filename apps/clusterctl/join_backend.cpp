#include "join_backend.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "commands.hpp"
#include "config_error.hpp"
#include "interrupt.hpp"
#include "watch.hpp"

namespace clusterctl {

using clusterapp::JsonPtr;

JoinBackend::JoinBackend(const std::string& config, std::chrono::milliseconds settle) {
  cluster::NodeConfig node;
  try {
    node = cluster::NodeConfig::load_file(config);
  } catch (const cluster::ConfigError& e) {
    throw Unreachable(e.what());
  }
  try {
    cluster_ = cluster::Cluster::join(node);
  } catch (const cluster::ConfigError& e) {
    throw Unreachable(clusterapp::locate_config_error(node.ini, e.what()));
  } catch (const cluster::PluginError& e) {
    throw Unreachable(e.what());
  } catch (const std::exception& e) {
    throw Unreachable(std::string("cannot join: ") + e.what());
  }
  const auto end = std::chrono::steady_clock::now() + settle;
  while (!interrupted() && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(20), end - std::chrono::steady_clock::now()));
}

JoinBackend::~JoinBackend() {
  try {
    cluster_->leave();
  } catch (...) {
  }
}

JsonPtr JoinBackend::request(const JsonPtr& req, std::chrono::milliseconds timeout) {
  // The command runs on the cluster's loop thread, like the daemon's; its answer may come later.
  auto answer = std::make_shared<std::promise<JsonPtr>>();
  auto answered = std::make_shared<std::atomic<bool>>(false);
  auto future = answer->get_future();
  cluster::Cluster* c = cluster_.get();
  c->loop().post([c, req, answer, answered] {
    clusterapp::execute(*c, req, [answer, answered](JsonPtr r) {
      if (!answered->exchange(true)) answer->set_value(r);
    });
  });
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (future.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
    if (interrupted()) throw Interrupted();
    if (std::chrono::steady_clock::now() >= end)
      throw Unreachable("no answer within " + std::to_string(timeout.count()) + " ms");
  }
  return future.get();
}

void JoinBackend::watch(const std::function<void(const JsonPtr&)>& on_event) {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<JsonPtr> events;
  std::unique_ptr<clusterapp::Watch> feed;
  cluster_->loop().call([&] {
    feed = std::make_unique<clusterapp::Watch>(*cluster_, [&](JsonPtr e) {
      std::lock_guard<std::mutex> lock(mu);
      events.push_back(std::move(e));
      cv.notify_one();
    });
  });
  try {
    while (!interrupted()) {
      std::deque<JsonPtr> ready;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return !events.empty(); });
        ready.swap(events);
      }
      for (const auto& e : ready) on_event(e);
    }
  } catch (const Interrupted&) {
  } catch (...) {
    cluster_->loop().call([&] { feed.reset(); });  // its hooks point at this frame
    throw;
  }
  cluster_->loop().call([&] { feed.reset(); });
}

}  // namespace clusterctl
