// The unix transport ("u"): its socket file (name, stale files, removal on stop), check()
// recreating a vanished file, peer_lost() removing a lost peer's stale file. The behaviour it
// shares with tcp is in test_stream.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "protocol_harness.hpp"

namespace cluster::test {
namespace {

using ::testing::HasSubstr;

bool is_socket(const std::string& path) {
  struct stat st{};
  return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}
bool exists(const std::string& path) {
  struct stat st{};
  return ::lstat(path.c_str(), &st) == 0;
}

class Unix : public ::testing::Test {
 protected:
  std::unique_ptr<Harness> make(Harness::Config cfg = {}) {
    cfg.emplace("path_prefix", prefix());
    return std::make_unique<Harness>("unix", cfg);
  }
  std::string prefix() const { return dir_.path() + "/c-"; }
  ServiceInfo peer_with_path(const std::string& sid, const std::string& path) const {
    ServiceInfo s;
    s.sid = sid;
    s.hid = "testhost";
    s.uuid = sid + "@testhost";
    s.local = true;
    s.protocols = {"u"};
    s.props = {{"u", {{"path", path}}}};
    return s;
  }

  TempDir dir_;
};

TEST_F(Unix, ConnectionsGetAOneMebibyteSendBuffer) {
  // Unix streams do not auto-tune: at the default 208 KiB a writer stalls while a batch is read.
  int wmem_max = 0;
  std::ifstream("/proc/sys/net/core/wmem_max") >> wmem_max;
  auto h = make();
  Node& a = h->start("sidA0001");
  Node& b = h->start("sidB0002");
  ASSERT_TRUE(a.proto->send(b.info(), make_packet("sidA0001", "hello"), {}));
  ASSERT_TRUE(h->run_until([&] { return !b.host->packets.empty(); }));
  // The kernel reports twice what was set; without CAP_NET_ADMIN it caps at wmem_max.
  const int want = 2 * (::geteuid() == 0 ? (1 << 20) : std::min(1 << 20, wmem_max));
  EXPECT_GE(largest_socket_option(SOCK_STREAM, AF_UNIX, SO_SNDBUF), want);
}

TEST_F(Unix, RegistersLocalOnlyProtocolU) {
  auto h = make();
  EXPECT_EQ(h->protocol_id, "u");
  Node& a = h->add("sidA0001");
  EXPECT_EQ(a.proto->id(), "u");
  const sdk::ProtocolTraits t = a.proto->traits();
  EXPECT_TRUE(t.local_only);
  EXPECT_FALSE(t.datagram);
  EXPECT_FALSE(t.multicast);
}

TEST_F(Unix, SocketFileIsNamedAfterTheSidAndRemovedOnStop) {
  auto h = make();
  Node& a = h->start("sidA0001");
  const std::string path = prefix() + "sidA0001.sock";
  EXPECT_EQ(a.proto->props(), (Dict{{"path", path}}));
  EXPECT_TRUE(is_socket(path));
  a.proto->stop();
  EXPECT_FALSE(exists(path));
}

TEST_F(Unix, DefaultPrefixIsTmpCluster) {
  Harness h("unix");
  Node& a = h.start("tst" + std::to_string(::getpid()));
  const std::string path = "/tmp/cluster-tst" + std::to_string(::getpid()) + ".sock";
  EXPECT_EQ(a.prop("path"), path);
  EXPECT_TRUE(is_socket(path));
  a.proto->stop();
  EXPECT_FALSE(exists(path));
}

TEST_F(Unix, StaleFileAtOurPathIsReplaced) {
  const std::string path = prefix() + "sidA0001.sock";
  make_stale_socket(path);
  auto h = make();
  Node& a = h->start("sidA0001");
  EXPECT_TRUE(is_socket(path));
  Node& b = h->start("sidB0002");
  ASSERT_TRUE(b.proto->send(a.info(), make_packet("sidB0002", "x"), {}));
  ASSERT_TRUE(h->run_until([&] { return a.host->packets.size() == 1; }));
}

TEST_F(Unix, NonSocketFileAtOurPathFailsStart) {
  const std::string path = prefix() + "sidA0001.sock";
  std::ofstream(path) << "not a socket";
  auto h = make();
  Node& a = h->add("sidA0001");
  const sdk::Result r = a.proto->start();
  EXPECT_FALSE(r);
  EXPECT_THAT(r.message(), HasSubstr("not a socket"));
  EXPECT_TRUE(exists(path)) << "a regular file is never deleted";
}

TEST_F(Unix, TooLongPathFailsStart) {
  auto h = make({{"path_prefix", dir_.path() + "/" + std::string(120, 'x')}});
  Node& a = h->add("sidA0001");
  const sdk::Result r = a.proto->start();
  EXPECT_FALSE(r);
  EXPECT_THAT(r.message(), HasSubstr("too long"));
}

TEST_F(Unix, StartWithoutSidFails) {
  auto h = make();
  Node& a = h->add(sdk::ClusterSettings{});
  EXPECT_FALSE(a.proto->start());
}

TEST_F(Unix, ConnectToMissingOrStaleFileFailsFast) {
  auto h = make();
  Node& a = h->start("sidA0001");
  const std::string missing = prefix() + "sidM0000.sock";
  const std::string stale = prefix() + "sidS0000.sock";
  make_stale_socket(stale);
  for (const auto& [path, why] : {std::pair{missing, "No such file"}, std::pair{stale, "refused"}}) {
    sdk::Result r = sdk::Result::success();
    const auto took = timed([&] { r = a.proto->send(peer_with_path("sidX0000", path), make_packet("sidA0001", "x"), {}); });
    EXPECT_FALSE(r) << path;
    EXPECT_THAT(r.message(), HasSubstr(why));
    EXPECT_LT(took, 100ms);
  }
}

TEST_F(Unix, CheckRecreatesADeletedSocketFile) {
  auto h = make();
  Node& a = h->start("sidA0001");
  Node& b = h->start("sidB0002");
  const std::string path = a.prop("path");

  a.proto->check();  // nothing wrong: nothing happens
  EXPECT_EQ(a.host->props_changed_count, 0);

  ASSERT_EQ(::unlink(path.c_str()), 0);
  EXPECT_FALSE(b.proto->send(a.info(), make_packet("sidB0002", "lost"), {}));
  a.proto->check();
  EXPECT_TRUE(is_socket(path));
  EXPECT_EQ(a.host->props_changed_count, 1);
  EXPECT_EQ(a.prop("path"), path);
  ASSERT_TRUE(b.proto->send(a.info(), make_packet("sidB0002", "found"), {}));
  ASSERT_TRUE(h->run_until([&] { return a.host->packets.size() == 1; }));
}

TEST_F(Unix, CheckRecreatesAReplacedSocketFile) {
  auto h = make();
  Node& a = h->start("sidA0001");
  const std::string path = a.prop("path");
  ASSERT_EQ(::unlink(path.c_str()), 0);
  make_stale_socket(path);  // someone else's file at our path
  a.proto->check();
  EXPECT_EQ(a.host->props_changed_count, 1);
  Node& b = h->start("sidB0002");
  ASSERT_TRUE(b.proto->send(a.info(), make_packet("sidB0002", "x"), {}));
  ASSERT_TRUE(h->run_until([&] { return a.host->packets.size() == 1; }));
}

TEST_F(Unix, RefreshRecreatesTheListener) {
  auto h = make();
  Node& a = h->start("sidA0001");
  ASSERT_TRUE(a.proto->refresh());
  EXPECT_EQ(a.host->props_changed_count, 1);
  a.proto->check();  // the new file is recognised as ours
  EXPECT_EQ(a.host->props_changed_count, 1);
  Node& b = h->start("sidB0002");
  ASSERT_TRUE(b.proto->send(a.info(), make_packet("sidB0002", "x"), {}));
  ASSERT_TRUE(h->run_until([&] { return a.host->packets.size() == 1; }));
}

TEST_F(Unix, PeerLostDeletesTheLostPeersSocketFile) {
  auto h = make();
  Node& a = h->start("sidA0001");
  const std::string path = prefix() + "sidD0000.sock";  // what a crashed member left behind
  make_stale_socket(path);
  a.proto->peer_lost(peer_with_path("sidD0000", path));
  EXPECT_FALSE(exists(path));
  EXPECT_TRUE(is_socket(a.prop("path"))) << "our own file stays";
}

TEST_F(Unix, PeerLostClosesConnectionsAndRemovesTheFileOnceNobodyServesIt) {
  auto h = make();
  Node& a = h->start("sidA0001");
  Node& b = h->start("sidB0002");
  const ServiceInfo b_info = b.info();
  ASSERT_TRUE(a.proto->send(b_info, make_packet("sidA0001", "x"), {}));
  ASSERT_TRUE(h->run_until([&] { return b.host->packets.size() == 1; }));
  // b is still serving its file (declared lost by mistake): the connection goes, the file stays.
  a.proto->peer_lost(b_info);
  ASSERT_TRUE(h->run_until([&] { return b.host->closed.size() == 1 && a.host->closed.size() == 1; }));
  EXPECT_TRUE(is_socket(b.prop("path")));
  // b dies without cleaning up (its listener is gone, the file stays): peer_lost removes it.
  const std::string path = b.prop("path");
  ASSERT_EQ(::rename(path.c_str(), (path + ".keep").c_str()), 0);
  b.proto->stop();
  ASSERT_EQ(::rename((path + ".keep").c_str(), path.c_str()), 0);
  ASSERT_TRUE(is_socket(path));
  a.proto->peer_lost(b_info);
  EXPECT_FALSE(exists(path));
}

TEST_F(Unix, PeerLostNeverDeletesOtherFiles) {
  auto h = make();
  Node& a = h->start("sidA0001");
  const std::string regular = prefix() + "sidR0000.sock";
  std::ofstream(regular) << "data";
  a.proto->peer_lost(peer_with_path("sidR0000", regular));
  EXPECT_TRUE(exists(regular));
  a.proto->peer_lost(peer_with_path("sidA0001", a.prop("path")));  // a peer claiming our path
  EXPECT_TRUE(is_socket(a.prop("path")));
}

TEST_F(Unix, BadConfigIsRefusedAtLoad) {
  try {
    Harness h("unix", {{"max_pending_bytes", "-5"}});
    ADD_FAILURE() << "accepted";
  } catch (const PluginError& e) {
    EXPECT_EQ(e.code(), PluginErrc::bad_config) << e.what();  // out of its range: the host refuses it
    EXPECT_THAT(e.what(), HasSubstr("[unix] max_pending_bytes = '-5' is out of range"));
  }
  try {
    Harness h("unix", {{"path_prefix", ""}});
    ADD_FAILURE() << "accepted";
  } catch (const PluginError& e) {
    EXPECT_EQ(e.code(), PluginErrc::init_failed) << e.what();
  }
}

}  // namespace
}  // namespace cluster::test
