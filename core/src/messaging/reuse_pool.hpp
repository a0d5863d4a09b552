// Objects lent for the length of one send and given back with their storage kept, so a send
// that builds a Payload and encodes it allocates nothing once warm (issue 17: a 64 B send
// cost ~10 allocations, the largest share of its time).
//
// A pool, not one member buffer: sends nest (a send hook that sends, a failure report inside
// send_to), and each level takes its own object. Loop thread only; the pool holds as many
// objects as the deepest nesting seen (one or two in practice).
#pragma once

#include <memory>
#include <utility>
#include <vector>

namespace cluster {

template <class T>
class ReusePool {
 public:
  /// One lent object; cleared (storage kept) and given back when the lease ends.
  class Lease {
   public:
    Lease(ReusePool& pool, std::unique_ptr<T> obj) : pool_(&pool), obj_(std::move(obj)) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), obj_(std::move(o.obj_)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (!obj_) return;
      obj_->clear();
      pool_->free_.push_back(std::move(obj_));
    }
    T& operator*() const noexcept { return *obj_; }
    T* operator->() const noexcept { return obj_.get(); }

   private:
    ReusePool* pool_;
    std::unique_ptr<T> obj_;
  };

  Lease take() {
    if (free_.empty()) return Lease(*this, std::make_unique<T>());
    std::unique_ptr<T> obj = std::move(free_.back());
    free_.pop_back();
    return Lease(*this, std::move(obj));
  }

 private:
  std::vector<std::unique_ptr<T>> free_;
};

}  // namespace cluster
