// The fixture of the membership tests: members on an in-memory network driven by one loop.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "memory_network.hpp"

namespace cluster::test {

using namespace std::chrono_literals;

class Membership : public ::testing::Test {
 protected:
  EventLoop loop;
  MemoryNetwork net{loop};

  static Options fast(const std::string& hid = "02:00:00:00:00:01") {
    Options o;
    o.heartbeat = 100ms;
    o.ttl = 500ms;
    o.hid = hid;
    o.protocols = {"t", "c"};
    o.ping_delay = 50ms;
    o.ping_grace = 200ms;
    o.ping_recent = 20ms;
    return o;
  }

  std::unique_ptr<Cluster> member(Options o = fast(), const std::string& ip = "127.0.0.1") {
    return Cluster::join(std::move(o), net.plugins_for(ip), loop);
  }

  template <class Pred>
  bool run_until(Pred pred, std::chrono::milliseconds limit = 3000ms) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < end) loop.run_once(5ms);
    return pred();
  }

  static bool knows(const Cluster& a, const Cluster& b) { return !a.resolve({b.sid()}).empty(); }

  test::MemoryProtocol* proto_of(const std::string& ip, const std::string& id) {
    test::MemoryProtocol* found = nullptr;
    for (auto* p : net.created)
      if (p->host_ip() == ip && p->id() == id) found = p;  // the newest one
    return found;
  }
};


}  // namespace cluster::test
