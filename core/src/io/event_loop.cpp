#include "cluster/event_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <future>
#include <system_error>

namespace cluster {
namespace {

std::uint32_t to_epoll(std::uint32_t interest) {
  std::uint32_t ev = 0;
  if (interest & sdk::readable) ev |= EPOLLIN;
  if (interest & sdk::writable) ev |= EPOLLOUT;
  return ev;
}

std::uint32_t from_epoll(std::uint32_t ev) {
  std::uint32_t r = 0;
  if (ev & (EPOLLIN | EPOLLPRI)) r |= sdk::readable;
  if (ev & EPOLLOUT) r |= sdk::writable;
  if (ev & EPOLLERR) r |= sdk::error;
  if (ev & (EPOLLHUP | EPOLLRDHUP)) r |= sdk::hangup;
  return r;
}

}  // namespace

EventLoop::EventLoop() : now_(Clock::now()) {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  wakefd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wakefd_ < 0) {
    ::close(epfd_);
    throw std::system_error(errno, std::generic_category(), "eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;  // watch id 0 = the wake-up fd
  ::epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev);
}

EventLoop::~EventLoop() {
  ::close(wakefd_);
  ::close(epfd_);
}

sdk::WatchId EventLoop::watch(int fd, std::uint32_t interest,
                              std::function<void(std::uint32_t)> fn) noexcept {
  try {
    const sdk::WatchId id = next_watch_++;
    epoll_event ev{};
    ev.events = to_epoll(interest);
    ev.data.u64 = id;
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) return 0;
    watches_.emplace(id, std::make_shared<Watch>(Watch{fd, interest, std::move(fn)}));
    return id;
  } catch (...) {
    return 0;
  }
}

void EventLoop::modify(sdk::WatchId id, std::uint32_t interest) noexcept {
  auto it = watches_.find(id);
  if (it == watches_.end() || it->second->interest == interest) return;
  it->second->interest = interest;
  epoll_event ev{};
  ev.events = to_epoll(interest);
  ev.data.u64 = id;
  ::epoll_ctl(epfd_, EPOLL_CTL_MOD, it->second->fd, &ev);
}

void EventLoop::unwatch(sdk::WatchId id) noexcept {
  auto it = watches_.find(id);
  if (it == watches_.end()) return;
  ::epoll_ctl(epfd_, EPOLL_CTL_DEL, it->second->fd, nullptr);
  watches_.erase(it);
}

sdk::TimerId EventLoop::after(std::chrono::milliseconds delay, std::function<void()> fn) noexcept {
  try {
    const sdk::TimerId id = next_timer_++;
    timers_.emplace(id, std::move(fn));
    timer_queue_.push({Clock::now() + delay, id});
    return id;
  } catch (...) {
    return 0;
  }
}

void EventLoop::cancel(sdk::TimerId id) noexcept {
  timers_.erase(id);
  // Cancelled entries stay in the heap until due; rebuild it when they dominate, so many
  // cancelled long timers (query timeouts) cannot grow it without bound.
  if (timer_queue_.size() > 1024 && timer_queue_.size() > 2 * timers_.size()) {
    try {
      std::vector<TimerEntry> live;
      live.reserve(timers_.size());
      while (!timer_queue_.empty()) {
        if (timers_.count(timer_queue_.top().id)) live.push_back(timer_queue_.top());
        timer_queue_.pop();
      }
      timer_queue_ = decltype(timer_queue_)(std::greater<>(), std::move(live));
    } catch (...) {
    }
  }
}

void EventLoop::post(std::function<void()> fn) noexcept {
  // The owner thread inside a turn: no eventfd write (and no read and epoll return after it),
  // which a query round trip paid three system calls for. owner_ first: in_turn_ is the owner's.
  const bool from_turn = owner_.load() == std::this_thread::get_id() && in_turn_;
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    was_empty = posted_.empty();
    try {
      posted_.push_back(std::move(fn));
    } catch (...) {
      return;
    }
  }
  if (was_empty && !from_turn) wake();
}

bool EventLoop::in_loop_thread() const noexcept {
  const auto owner = owner_.load();
  return owner == std::thread::id() || owner == std::this_thread::get_id();
}

void EventLoop::wake() noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wakefd_, &one, sizeof one);
}

void EventLoop::stop() noexcept {
  stop_ = true;
  wake();
}

std::size_t EventLoop::run_posted() {
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    if (posted_.empty()) return 0;
    running_.swap(posted_);
  }
  const std::size_t n = running_.size();
  for (auto& fn : running_) fn();
  running_.clear();
  return n;
}

std::size_t EventLoop::run_timers() {
  std::size_t n = 0;
  // Due checks use the clock itself (a zero-delay timer set by a callback of this turn is due);
  // now() stays the time of this iteration, so plugins can tell "this turn" by it.
  const auto clock = Clock::now();
  while (!timer_queue_.empty() && timer_queue_.top().due <= clock) {
    const sdk::TimerId id = timer_queue_.top().id;
    timer_queue_.pop();
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled
    auto fn = std::move(it->second);
    timers_.erase(it);
    fn();
    ++n;
  }
  return n;
}

int EventLoop::wait_timeout_ms(std::chrono::milliseconds cap) const {
  {
    std::lock_guard<std::mutex> lock(const_cast<std::mutex&>(posted_mu_));
    if (!posted_.empty()) return 0;
  }
  auto wait = cap;
  if (!timer_queue_.empty()) {
    const auto until = std::chrono::ceil<std::chrono::milliseconds>(timer_queue_.top().due - Clock::now());
    wait = std::min(wait, std::max(until, std::chrono::milliseconds(0)));
  }
  return static_cast<int>(wait.count());
}

std::size_t EventLoop::run_once(std::chrono::milliseconds timeout) {
  owner_ = std::this_thread::get_id();
  struct TurnFlag {  // restored, not cleared: a host may run a turn from inside a callback
    bool& flag;
    bool was;
    explicit TurnFlag(bool& f) : flag(f), was(f) { flag = true; }
    ~TurnFlag() { flag = was; }
  } turn(in_turn_);
  epoll_event events[64];
  const int n = ::epoll_wait(epfd_, events, 64, wait_timeout_ms(timeout));
  now_ = Clock::now();
  std::size_t ran = 0;
  for (int i = 0; i < n; ++i) {
    const sdk::WatchId id = events[i].data.u64;
    if (id == 0) {
      std::uint64_t drained;
      [[maybe_unused]] auto r = ::read(wakefd_, &drained, sizeof drained);
      continue;
    }
    auto it = watches_.find(id);
    if (it == watches_.end()) continue;  // unwatched by an earlier callback in this batch
    std::shared_ptr<Watch> w = it->second;  // survives unwatch() inside its callback
    w->fn(from_epoll(events[i].events));
    ++ran;
  }
  ran += run_timers();
  const std::size_t posted = run_posted();
  // Zero-delay timers set by posted work (a transport's write batch) run in this turn, not
  // after another epoll_wait.
  if (posted != 0) ran += posted + run_timers();
  return ran;
}

void EventLoop::run() {
  while (!stop_) run_once(std::chrono::milliseconds(1000));
  stop_ = false;  // a stop() before run() started still makes it return (not lost)
}

void EventLoop::run_for(std::chrono::milliseconds d) {
  const auto end = Clock::now() + d;
  while (!stop_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
    if (left.count() <= 0) break;
    run_once(left);
  }
  stop_ = false;
}

void EventLoop::call(const std::function<void()>& fn) {
  if (in_loop_thread()) {
    fn();
    return;
  }
  std::promise<void> done;
  post([&] {
    try {
      fn();
      done.set_value();
    } catch (...) {
      done.set_exception(std::current_exception());
    }
  });
  done.get_future().get();
}

}  // namespace cluster
