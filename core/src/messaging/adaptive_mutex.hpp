// A mutex that spins a little before it sleeps (glibc's PTHREAD_MUTEX_ADAPTIVE_NP). The send
// queue's critical sections are a few dozen nanoseconds; with a plain mutex two producers
// contending for it paid a futex wait and a wake-up on most pushes (issue 17: 15 % of the
// sending process in lock/unlock and the scheduler). BasicLockable, for std::unique_lock and
// std::condition_variable_any.
#pragma once

#include <pthread.h>

namespace cluster {

class AdaptiveMutex {
 public:
  AdaptiveMutex() noexcept {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&m_, &attr);
    pthread_mutexattr_destroy(&attr);
  }
  ~AdaptiveMutex() { pthread_mutex_destroy(&m_); }
  AdaptiveMutex(const AdaptiveMutex&) = delete;
  AdaptiveMutex& operator=(const AdaptiveMutex&) = delete;

  void lock() noexcept { pthread_mutex_lock(&m_); }
  void unlock() noexcept { pthread_mutex_unlock(&m_); }
  bool try_lock() noexcept { return pthread_mutex_trylock(&m_) == 0; }

 private:
  pthread_mutex_t m_;
};

}  // namespace cluster
