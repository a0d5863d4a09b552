#include "cluster/lifeline.hpp"

#include "cluster/impl.hpp"

namespace cluster {

void Lifeline::cut() noexcept {
  std::unique_lock<std::mutex> lock(mu_);
  impl_ = nullptr;
  idle_.wait(lock, [&] { return active_ == 0; });
}

bool Lifeline::on_loop_thread() const noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  return impl_ != nullptr && impl_->loop_->in_loop_thread();
}

void Lifeline::release() noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  if (--active_ == 0) idle_.notify_all();
}

}  // namespace cluster
