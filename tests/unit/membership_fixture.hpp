// The fixture of the membership tests: members on an in-memory network driven by one loop
// (MemoryClusterTest, tests/support/memory_cluster.hpp), with a fast profile that pings early.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "cluster/bpacket/payload_codec.hpp"
#include "memory_cluster.hpp"

namespace cluster::test {

using namespace std::chrono_literals;

class Membership : public MemoryClusterTest {
 protected:
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

  using MemoryClusterTest::member;
  std::unique_ptr<Cluster> member() { return member(fast()); }

  static bool knows(const Cluster& a, const Cluster& b) { return !a.resolve({b.sid()}).empty(); }

  /// A packet of member sid@hid with only the fields every packet needs (channel 0); a test
  /// adds what its case needs, then encoded() makes the bytes a protocol delivers.
  static Payload packet_of(const std::string& sid, const std::string& hid, PayloadType type,
                           StringList protocols = {"c"}) {
    Payload p;
    p.sid = sid;
    p.hid = hid;
    p.type = static_cast<std::uint64_t>(type);
    p.channel = 0;
    p.protocols = std::move(protocols);
    return p;
  }
  static std::string encoded(const Payload& p) {
    std::string bytes;
    bpacket::encode_payload(p, bytes);
    return bytes;
  }

  test::MemoryProtocol* proto_of(const std::string& ip, const std::string& id) {
    test::MemoryProtocol* found = nullptr;
    for (auto* p : net.created)
      if (p->host_ip() == ip && p->id() == id) found = p;  // the newest one
    return found;
  }
};


}  // namespace cluster::test
