// What the whole-member tests over real sockets share (test_encrypt_members, test_tls_members):
// a free loopback TCP port, waiting on a condition, and "does a know b".
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <thread>

#include "cluster/cluster.hpp"

namespace cluster::test {

/// A TCP port nobody uses on 127.0.0.1 (bound, then closed again).
inline std::uint16_t free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sin;
  EXPECT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&sin), len), 0);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
  ::close(fd);
  return ntohs(sin.sin_port);
}

/// Polls `pred` every 10 ms until it holds or `limit` passed; its last value.
template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return pred();
}

inline bool knows(const Cluster& a, const Cluster& b) { return !a.resolve({b.sid()}).empty(); }

}  // namespace cluster::test
