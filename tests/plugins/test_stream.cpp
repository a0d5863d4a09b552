// What the tcp ("t") and unix ("u") transports share (plugins/common/stream_transport): one
// connection per peer used both ways, chunked reads reassembled by the host, large packets
// through partial writes, bounded output buffers, close/peer_lost/stop, re-entrant hosts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "protocol_harness.hpp"

namespace cluster::test {
namespace {

using ::testing::HasSubstr;

class Stream : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<Harness> make(Harness::Config cfg = {}) {
    if (GetParam() == "unix") cfg.emplace("path_prefix", dir_.path() + "/");
    return std::make_unique<Harness>(GetParam(), cfg);
  }
  /// How `n` looks to a member that has none of its props: only an existing connection reaches it.
  static ServiceInfo without_props(const Node& n) {
    ServiceInfo s = n.info();
    s.props.clear();
    return s;
  }
  /// a sends one packet to b; returns b's connection id for it (after binding it to a's uuid).
  static sdk::ConnectionId connect_pair(Harness& h, Node& a, Node& b) {
    const std::size_t before = b.host->packets.size();
    const sdk::Result r = a.proto->send(b.info(), make_packet(a.settings().sid, "hello"), {});
    EXPECT_TRUE(r) << r.message();
    EXPECT_TRUE(h.run_until([&] { return b.host->packets.size() > before; }));
    if (b.host->packets.size() <= before) return 0;
    const sdk::ConnectionId conn = b.host->packets.back().origin.conn;
    b.proto->bind(conn, a.uuid());
    return conn;
  }

  TempDir dir_;
};

TEST_P(Stream, ExchangesBothWaysOverOneConnectionPerPeer) {
  auto h = make();
  Node& a = h->start("sidA0001");
  Node& b = h->start("sidB0002");

  const std::string p1 = make_packet("sidA0001", "to b, 1");
  ASSERT_TRUE(a.proto->send(b.info(), p1, {}));
  ASSERT_TRUE(h->run_until([&] { return b.host->packets.size() == 1; }));
  EXPECT_EQ(b.host->packets[0].packet, p1);
  const sdk::ConnectionId cb = b.host->packets[0].origin.conn;
  ASSERT_NE(cb, 0u);
  b.proto->bind(cb, a.uuid());

  // b cannot reach a on its own (no props): the reply must take the connection a opened.
  const std::string p2 = make_packet("sidB0002", "to a, 1");
  const sdk::Result r = b.proto->send(without_props(a), p2, {});
  ASSERT_TRUE(r) << r.message();
  ASSERT_TRUE(h->run_until([&] { return a.host->packets.size() == 1; }));
  EXPECT_EQ(a.host->packets[0].packet, p2);
  const sdk::ConnectionId ca = a.host->packets[0].origin.conn;
  ASSERT_NE(ca, 0u);

  // More both ways, by uuid and by `via`: still the same connection on each side.
  ASSERT_TRUE(a.proto->send(b.info(), make_packet("sidA0001", "to b, 2"), {}));
  ASSERT_TRUE(b.proto->send(without_props(a), make_packet("sidB0002", "to a, 2"), sdk::SendOptions{cb}));
  ASSERT_TRUE(h->run_until([&] { return a.host->packets.size() == 2 && b.host->packets.size() == 2; }));
  for (const auto& p : b.host->packets) EXPECT_EQ(p.origin.conn, cb);
  for (const auto& p : a.host->packets) EXPECT_EQ(p.origin.conn, ca);
  EXPECT_TRUE(a.host->closed.empty());
  EXPECT_TRUE(b.host->closed.empty());
}

TEST_P(Stream, OriginTellsLocalPeer) {
  auto h = make();
  Node& a = h->start("sidA0001");
  Node& b = h->start("sidB0002");
  connect_pair(*h, a, b);
  ASSERT_EQ(b.host->packets.size(), 1u);
  const sdk::Origin& o = b.host->packets[0].origin;
  EXPECT_TRUE(o.local);
  EXPECT_EQ(o.ip, GetParam() == "tcp" ? "127.0.0.1" : "");
}

TEST_P(Stream, ManySmallPacketsKeepTheirOrder) {
  auto h = make();
  Node& a = h->start("sidA0001");
  Node& b = h->start("sidB0002");
  const sdk::ConnectionId cb = connect_pair(*h, a, b);
  std::vector<std::string> to_b, to_a;
  for (int i = 0; i < 200; ++i) {
    to_b.push_back(make_packet("sidA0001", "a" + std::to_string(i)));
    to_a.push_back(make_packet("sidB0002", "b" + std::to_string(i)));
    ASSERT_TRUE(a.proto->send(b.info(), to_b.back(), {}));
    ASSERT_TRUE(b.proto->send(without_props(a), to_a.back(), sdk::SendOptions{cb}));
  }
  ASSERT_TRUE(h->run_until([&] { return a.host->packets.size() == 200 && b.host->packets.size() == 201; }));
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(a.host->packets[static_cast<std::size_t>(i)].packet, to_a[static_cast<std::size_t>(i)]);
    EXPECT_EQ(b.host->packets[static_cast<std::size_t>(i) + 1].packet, to_b[static_cast<std::size_t>(i)]);
  }
}

TEST_P(Stream, OneMebibytePacketArrivesIntact) {
  auto h = make();
  Node& a = h->start("sidA0001");
  Node& b = h->start("sidB0002");
  const std::string big = make_packet("sidA0001", pattern(1u << 20));
  ASSERT_TRUE(a.proto->send(b.info(), big, {}));
  ASSERT_TRUE(h->run_until([&] { return !b.host->packets.empty(); }));
  ASSERT_EQ(b.host->packets.size(), 1u);
  EXPECT_TRUE(b.host->packets[0].packet == big);
  EXPECT_GT(b.host->chunk_count, 1u) << "a 1 MiB packet should arrive in several reads";
}

TEST_P(Stream, BurstBeyondTheKernelBufferIsQueuedNotDropped) {
  auto h = make();
  Node& a = h->start("sidA0001");
  Node& b = h->start("sidB0002");
  // 12 MiB without running the loop: the socket buffer fills, the rest waits in the plugin
  // and goes out as the socket becomes writable.
  std::vector<std::string> sent;
  for (unsigned i = 0; i < 12; ++i) {
    sent.push_back(make_packet("sidA0001", pattern(1u << 20, i)));
    const sdk::Result r = a.proto->send(b.info(), sent.back(), {});
    ASSERT_TRUE(r) << "packet " << i << ": " << r.message();
  }
  ASSERT_TRUE(h->run_until([&] { return b.host->packets.size() == sent.size(); }, 10000ms));
  for (std::size_t i = 0; i < sent.size(); ++i) EXPECT_TRUE(b.host->packets[i].packet == sent[i]) << "packet " << i;
  EXPECT_TRUE(a.host->closed.empty());
}

TEST_P(Stream, PeerNotReadingFailsTheSendAndClosesTheConnection) {
  auto h = make({{"max_pending_bytes", "1048576"}});
  Node& a = h->start("sidA0001");
  Node& b = h->start("sidB0002");
  const std::string big = make_packet("sidA0001", pattern(1u << 20));
  sdk::Result r = sdk::Result::success();
  int sent = 0;
  for (; sent < 64 && r; ++sent) r = a.proto->send(b.info(), big, {});  // the loop never runs: b reads nothing
  ASSERT_FALSE(r) << "64 MiB were accepted with max_pending_bytes = 1 MiB";
  EXPECT_THAT(r.message(), HasSubstr("exceed"));
  EXPECT_GT(sent, 1);
  // a reports its connection closed; b sees the connection end too.
  ASSERT_TRUE(h->run_until([&] { return a.host->closed.size() == 1 && b.host->closed.size() == 1; }));
  // Every packet b got is intact (the last, cut one is dropped with the connection).
  for (const auto& p : b.host->packets) EXPECT_TRUE(p.packet == big);
}

TEST_P(Stream, CloseEndsTheConnectionForBothSides) {
  auto h = make();
  Node& a = h->start("sidA0001");
  Node& b = h->start("sidB0002");
  const sdk::ConnectionId cb = connect_pair(*h, a, b);
  ASSERT_TRUE(b.proto->send(without_props(a), make_packet("sidB0002", "reply"), {}));
  ASSERT_TRUE(h->run_until([&] { return a.host->packets.size() == 1; }));
  const sdk::ConnectionId ca = a.host->packets[0].origin.conn;

  b.proto->close(cb);
  ASSERT_TRUE(h->run_until([&] { return a.host->was_closed(ca) && b.host->was_closed(cb); }));
  EXPECT_EQ(a.host->closed.size(), 1u);
  EXPECT_EQ(b.host->closed.size(), 1u);
  // b no longer reaches a without props; a opens a fresh connection to b.
  EXPECT_FALSE(b.proto->send(without_props(a), make_packet("sidB0002", "x"), {}));
  ASSERT_TRUE(a.proto->send(b.info(), make_packet("sidA0001", "again"), {}));
  ASSERT_TRUE(h->run_until([&] { return b.host->packets.size() == 2; }));
  EXPECT_NE(b.host->packets[1].origin.conn, cb);
}

TEST_P(Stream, CloseFlushesPendingOutputFirst) {
  auto h = make();
  Node& a = h->start("sidA0001");
  Node& b = h->start("sidB0002");
  const sdk::ConnectionId cb = connect_pair(*h, a, b);
  std::vector<std::string> sent;
  for (unsigned i = 0; i < 3; ++i) {
    sent.push_back(make_packet("sidB0002", pattern(4u << 20, i)));
    ASSERT_TRUE(b.proto->send(without_props(a), sent.back(), sdk::SendOptions{cb}));
  }
  b.proto->close(cb);  // with megabytes still queued
  ASSERT_TRUE(h->run_until([&] { return a.host->closed.size() == 1 && b.host->was_closed(cb); }, 10000ms));
  ASSERT_EQ(a.host->packets.size(), sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) EXPECT_TRUE(a.host->packets[i].packet == sent[i]);
}

TEST_P(Stream, PeerLostClosesItsConnections) {
  auto h = make();
  Node& a = h->start("sidA0001");
  Node& b = h->start("sidB0002");
  const sdk::ConnectionId cb = connect_pair(*h, a, b);
  a.proto->peer_lost(b.info());
  ASSERT_TRUE(h->run_until([&] { return b.host->was_closed(cb) && a.host->closed.size() == 1; }));
  // And b's side of the same: a connection bound to a lost peer is closed.
  const sdk::ConnectionId cb2 = connect_pair(*h, a, b);
  ASSERT_NE(cb2, cb);
  b.proto->peer_lost(a.info());
  ASSERT_TRUE(h->run_until([&] { return b.host->was_closed(cb2) && a.host->closed.size() == 2; }));
}

TEST_P(Stream, HostMayReplyAndCloseFromInsideReceived) {
  auto h = make();
  Node& a = h->start("sidA0001");
  Node& b = h->start("sidB0002");
  // Like the core answering a query with keepalive false: reply over the connection, close it.
  b.host->on_packet = [&](const Received& r) {
    const sdk::ConnectionId conn = r.origin.conn;
    EXPECT_TRUE(b.proto->send(without_props(a), make_packet("sidB0002", "answer"), sdk::SendOptions{conn}));
    b.proto->close(conn);
  };
  ASSERT_TRUE(a.proto->send(b.info(), make_packet("sidA0001", "question"), {}));
  ASSERT_TRUE(h->run_until([&] { return a.host->packets.size() == 1 && a.host->closed.size() == 1; }));
  EXPECT_EQ(a.host->packets[0].origin.conn, a.host->closed[0]);
  ASSERT_TRUE(h->run_until([&] { return b.host->closed.size() == 1; }));
  EXPECT_EQ(a.host->reentrant_closed, 0);
  EXPECT_EQ(b.host->reentrant_closed, 0);
}

TEST_P(Stream, HostMayStopFromInsideReceived) {
  auto h = make();
  Node& a = h->start("sidA0001");
  Node& b = h->start("sidB0002");
  b.host->on_packet = [&](const Received&) { b.proto->stop(); };
  ASSERT_TRUE(a.proto->send(b.info(), make_packet("sidA0001", "one"), {}));
  ASSERT_TRUE(a.proto->send(b.info(), make_packet("sidA0001", "two"), {}));
  ASSERT_TRUE(h->run_until([&] { return a.host->closed.size() == 1; }));
  h->settle();
  EXPECT_TRUE(b.host->closed.empty()) << "no host call may follow stop()";
  EXPECT_TRUE(b.proto->props().empty());
}

TEST_P(Stream, SendWithoutPropsOrConnectionFails) {
  auto h = make();
  Node& a = h->start("sidA0001");
  Node& b = h->start("sidB0002");
  const sdk::Result r = a.proto->send(without_props(b), make_packet("sidA0001", "x"), {});
  EXPECT_FALSE(r);
  EXPECT_FALSE(r.message().empty());
}

TEST_P(Stream, StopClosesEverything) {
  auto h = make();
  Node& a = h->start("sidA0001");
  Node& b = h->start("sidB0002");
  const ServiceInfo a_info = a.info();
  Node& c = h->start("sidC0003");
  connect_pair(*h, a, b);  // a's outgoing connection
  connect_pair(*h, c, a);  // a's accepted connection
  a.proto->stop();
  ASSERT_TRUE(h->run_until([&] { return b.host->closed.size() == 1 && c.host->closed.size() == 1; }));
  h->settle();
  EXPECT_TRUE(a.host->closed.empty()) << "no host call may follow stop()";
  EXPECT_TRUE(a.proto->props().empty());
  EXPECT_FALSE(a.proto->send(b.info(), make_packet("sidA0001", "x"), {}));
  EXPECT_FALSE(b.proto->send(a_info, make_packet("sidB0002", "x"), {})) << "the listener must be gone";
  // A stopped protocol may start again.
  ASSERT_TRUE(a.proto->start());
  connect_pair(*h, b, a);
}

TEST_P(Stream, ConnectionIdsAreUniqueAndNonZero) {
  auto h = make();
  Node& a = h->start("sidA0001");
  Node& b = h->start("sidB0002");
  std::vector<sdk::ConnectionId> seen;
  for (int i = 0; i < 5; ++i) {
    const sdk::ConnectionId c = connect_pair(*h, a, b);
    ASSERT_NE(c, 0u);
    EXPECT_EQ(std::count(seen.begin(), seen.end(), c), 0);
    seen.push_back(c);
    b.proto->close(c);
    ASSERT_TRUE(h->run_until([&] { return b.host->was_closed(c) && a.host->closed.size() == seen.size(); }));
  }
}

INSTANTIATE_TEST_SUITE_P(Transports, Stream, ::testing::Values("tcp", "unix"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
}  // namespace cluster::test
