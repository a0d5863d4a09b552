// The link from handles (Service, Query) to their Cluster. Handles may outlive the Cluster:
// ~Cluster cuts the line first, so later calls see "the cluster is gone" instead of freed memory.
#pragma once

#include <condition_variable>
#include <mutex>

#include "cluster/cluster.hpp"

namespace cluster {

class Lifeline {
 public:
  explicit Lifeline(Cluster::Impl& impl) noexcept : impl_(&impl) {}

  /// Runs f(impl) unless the cluster is gone; false (f not run) when it is. A call in flight
  /// holds off cut(), so the cluster cannot vanish under it.
  template <class F>
  bool with(F&& f) {
    Cluster::Impl* impl = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (impl_ == nullptr) return false;
      impl = impl_;
      ++active_;
    }
    struct Release {
      Lifeline& line;
      ~Release() { line.release(); }
    } release{*this};
    f(*impl);
    return true;
  }

  /// Marks the cluster gone and waits for the calls in flight (they run on the loop, which still
  /// runs: so call this off the loop thread when other threads may be calling).
  void cut() noexcept;
  /// Whether the calling thread is the cluster's loop thread (false once the cluster is gone).
  bool on_loop_thread() const noexcept;

 private:
  void release() noexcept;

  mutable std::mutex mu_;
  std::condition_variable idle_;
  Cluster::Impl* impl_;
  int active_ = 0;
};

}  // namespace cluster
