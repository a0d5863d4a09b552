#include "syscall_counter.hpp"

#include <dlfcn.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>

namespace {

std::atomic<std::uint64_t> recv_calls{0}, recv_datagrams{0}, send_calls{0}, send_datagrams{0};

template <class Fn>
Fn next(const char* name) {
  return reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int recvmmsg(int fd, struct mmsghdr* msgs, unsigned int vlen, int flags, struct timespec* timeout) {
  using Fn = int (*)(int, struct mmsghdr*, unsigned int, int, struct timespec*);
  static const Fn real = next<Fn>("recvmmsg");
  if (real == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  const int n = real(fd, msgs, vlen, flags, timeout);
  recv_calls.fetch_add(1);
  if (n > 0) recv_datagrams.fetch_add(static_cast<std::uint64_t>(n));
  return n;
}

__attribute__((visibility("default"))) int sendmmsg(int fd, struct mmsghdr* msgs, unsigned int vlen, int flags) {
  using Fn = int (*)(int, struct mmsghdr*, unsigned int, int);
  static const Fn real = next<Fn>("sendmmsg");
  if (real == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  const int n = real(fd, msgs, vlen, flags);
  send_calls.fetch_add(1);
  if (n > 0) send_datagrams.fetch_add(static_cast<std::uint64_t>(n));
  return n;
}

}  // extern "C"

namespace cluster::test {

SyscallCounts syscall_counts() {
  SyscallCounts c;
  c.recvmmsg_calls = recv_calls.load();
  c.recvmmsg_datagrams = recv_datagrams.load();
  c.sendmmsg_calls = send_calls.load();
  c.sendmmsg_datagrams = send_datagrams.load();
  return c;
}

}  // namespace cluster::test
