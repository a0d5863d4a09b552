// The control server on a real Unix socket, served by the loop of members on the in-memory
// network, with clients on other threads.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <thread>
#include <tuple>

#include "app_fixture.hpp"

using namespace clusterapp;
using namespace clusterapp::test;
using namespace std::chrono_literals;
using Lines = std::vector<std::optional<std::string>>;

namespace {

class ControlServerTest : public ControlFixture {
 protected:
  void trio() {
    a = member({"asker"});
    b = member({"worker", "b"});
    c = member({"worker", "c"});
    ASSERT_TRUE(run_until([&] { return a->known_services() == 2 && b->known_services() == 2 && c->known_services() == 2; }));
  }
  std::unique_ptr<cluster::Cluster> a, b, c;
};

mode_t mode_of(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

bool exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

}  // namespace

TEST_F(ControlServerTest, AnswersPipelinedRequestsInOrder) {
  trio();
  answer_with(*b, "b");
  serve(*a);
  // The query answers later than the requests behind it would: they wait for it.
  auto lines = in_client([&] {
    RawClient cl(path);
    cl.send(R"({"cmd":"query","resolve":["b"],"query":"q","timeout":2000})" "\n"
            R"({"cmd":"tags"})" "\n"
            "\n"  // blank lines are skipped
            R"({"cmd":"channel"})" "\r\n");
    return Lines{cl.line(), cl.line(), cl.line()};
  });
  ASSERT_TRUE(lines[0] && lines[1] && lines[2]);
  EXPECT_NE(lines[0]->find(R"("results":[{"uuid":")" + b->uuid() + R"(","event":"response","data":"b:q"}])"), std::string::npos) << *lines[0];
  EXPECT_EQ(*lines[1], R"({"ok":true,"tags":["asker"]})");
  EXPECT_EQ(*lines[2], R"({"ok":true,"channels":[0,1,2]})");
}

TEST_F(ControlServerTest, BadRequestsGetAnErrorAndTheConnectionStays) {
  trio();
  serve(*a);
  auto lines = in_client([&] {
    RawClient cl(path);
    cl.send("{bad\n[1]\n{\"cmd\":\"nope\"}\n{\"cmd\":\"tags\"}\n");
    return Lines{cl.line(), cl.line(), cl.line(), cl.line()};
  });
  ASSERT_TRUE(lines[0] && lines[1] && lines[2] && lines[3]);
  EXPECT_EQ(lines[0]->rfind(R"({"ok":false,"error":"not JSON: )", 0), 0u) << *lines[0];
  EXPECT_EQ(*lines[1], R"({"ok":false,"error":"not a JSON object"})");
  EXPECT_EQ(*lines[2], R"({"ok":false,"error":"unknown command 'nope'"})");
  EXPECT_EQ(*lines[3], R"({"ok":true,"tags":["asker"]})");
}

TEST_F(ControlServerTest, LastRequestWithoutNewlineIsAnsweredAfterHalfClose) {
  trio();
  serve(*a);
  auto result = in_client([&] {
    RawClient cl(path);
    cl.send(R"({"cmd":"tags"})");
    auto before = cl.line(300ms);  // no newline yet: the server waits for more
    cl.shutdown_write();
    auto after = cl.line();
    return std::make_tuple(before, after, cl.closed_by_server());
  });
  EXPECT_FALSE(std::get<0>(result));
  ASSERT_TRUE(std::get<1>(result));
  EXPECT_EQ(*std::get<1>(result), R"({"ok":true,"tags":["asker"]})");
  EXPECT_TRUE(std::get<2>(result)) << "answered everything: the server closes";
}

TEST_F(ControlServerTest, OversizedRequestIsRefusedAndClosed) {
  trio();
  serve(*a);
  auto result = in_client([&] {
    RawClient cl(path);
    cl.send(std::string(70000, 'x'));
    auto first = cl.line();
    return std::make_pair(first, cl.closed_by_server());
  });
  ASSERT_TRUE(result.first);
  EXPECT_EQ(*result.first, R"({"ok":false,"error":"request longer than 65536 bytes"})");
  EXPECT_TRUE(result.second);
  EXPECT_TRUE(run_until([&] { return server->connections() == 0; }));
}

TEST_F(ControlServerTest, WatchStreamsUntilTheClientCloses) {
  trio();
  serve(*a);
  std::atomic<bool> subscribed{false};
  auto f = std::async(std::launch::async, [&] {
    RawClient cl(path);
    cl.send("{\"cmd\":\"watch\"}\n");
    Lines got{cl.line()};
    subscribed = true;
    got.push_back(cl.line());
    got.push_back(cl.line());
    return got;
  });
  ASSERT_TRUE(run_until([&] { return subscribed.load(); }));
  auto d = member({"late"});
  ASSERT_TRUE(run_until([&] { return a->known_services() == 3; }));
  b->send(b->resolve({"asker"}), "hi");
  ASSERT_TRUE(run_until([&] { return f.wait_for(0ms) == std::future_status::ready; }));
  auto got = f.get();
  ASSERT_TRUE(got[0] && got[1] && got[2]);
  EXPECT_EQ(*got[0], R"({"ok":true,"watching":true})");
  EXPECT_EQ(*got[1], R"({"event":"discovered","uuid":")" + d->uuid() + R"(","ip":"127.0.0.1","tags":["late"],"local":true})");
  EXPECT_EQ(*got[2], R"({"event":"event","uuid":")" + b->uuid() + R"(","channel":0,"protocol":"t","data":"hi"})");
  EXPECT_TRUE(run_until([&] { return server->connections() == 0; })) << "the client closed: the watch ends";
}

TEST_F(ControlServerTest, SlowWatcherIsDisconnected) {
  trio();
  ControlLimits limits;
  limits.max_output = 16 * 1024;
  serve(*a, limits);
  RawClient cl(path);  // connects from this thread: the kernel queues it until the loop accepts
  cl.send("{\"cmd\":\"watch\"}\n");
  ASSERT_TRUE(run_until([&] { return server->connections() == 1; }));
  run_until([] { return false; }, 100ms);
  // The client never reads: thousands of events fill the socket, then the server's buffer.
  const std::string data(500, 'e');
  for (int i = 0; i < 4000 && server->connections() == 1; ++i) {
    b->send(b->resolve({"asker"}), data);
    loop.run_once(0ms);
  }
  EXPECT_TRUE(run_until([&] { return server->connections() == 0; }));
}

TEST_F(ControlServerTest, ClientThatDoesNotReadIsNotReadFrom) {
  trio();
  ControlLimits limits;
  limits.max_output = 8 * 1024;
  serve(*a, limits);
  constexpr int kRequests = 3000;  // ~1 MB of answers: far beyond the limit and the socket buffers
  auto answers = in_client([&] {
    RawClient cl(path);
    std::string batch;
    for (int i = 0; i < kRequests; ++i) batch += "{\"cmd\":\"status\"}\n";
    // The writer blocks once the server stops reading; the reader starts late.
    auto writer = std::async(std::launch::async, [&] { cl.send(batch); });
    std::this_thread::sleep_for(300ms);
    int n = 0;
    while (n < kRequests) {
      auto l = cl.line();
      if (!l || l->rfind(R"({"ok":true,"uuid":)", 0) != 0) break;
      ++n;
    }
    writer.get();
    return n;
  }, 30000ms);
  EXPECT_EQ(answers, kRequests);
}

TEST_F(ControlServerTest, TooManyClientsAreRefused) {
  trio();
  ControlLimits limits;
  limits.max_connections = 1;
  serve(*a, limits);
  RawClient first(path);
  ASSERT_TRUE(run_until([&] { return server->connections() == 1; }));
  auto line = in_client([&] {
    RawClient second(path);
    return second.line();
  });
  ASSERT_TRUE(line);
  EXPECT_EQ(*line, R"({"ok":false,"error":"too many control connections"})");
}

TEST_F(ControlServerTest, SocketIsOwnerOnlyAndRemovedOnStop) {
  a = member({"a"});
  path = dir / "run/sub/ctl.sock";
  serve(*a);
  EXPECT_EQ(mode_of(dir / "run"), 0700u);
  EXPECT_EQ(mode_of(dir / "run/sub"), 0700u);
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_TRUE(S_ISSOCK([&] { struct stat st {}; ::lstat(path.c_str(), &st); return st.st_mode; }()));
  server->stop();
  EXPECT_FALSE(exists(path));
  EXPECT_EQ(mode_of(dir.path()), mode_of(dir.path())) << "existing folders are left alone";
}

TEST(ControlSocketTest, BusyStaleAndForeignFiles) {
  TempDir dir;
  const std::string path = dir / "s.sock";
  {
    ControlSocket live = ControlSocket::bind(path);
    try {
      ControlSocket::bind(path);
      ADD_FAILURE() << "bound twice";
    } catch (const ControlSocketError& e) {
      EXPECT_EQ(std::string(e.what()), path + ": another daemon is serving this socket");
    }
    // Someone replaced the file: closing must not remove theirs.
    ASSERT_EQ(::unlink(path.c_str()), 0);
    ControlSocket other = ControlSocket::bind(path);
    live.close();
    EXPECT_TRUE(exists(path));
  }
  EXPECT_FALSE(exists(path));

  // A stale file: bound, then the process "died" (closed without unlinking).
  {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.c_str(), path.size());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ::close(fd);
  }
  ASSERT_TRUE(exists(path));
  ControlSocket fresh = ControlSocket::bind(path);
  std::string error;
  const int fd = connect_control_socket(path, error);
  EXPECT_GE(fd, 0) << error;
  if (fd >= 0) ::close(fd);
  fresh.close();

  // Not a socket.
  std::ofstream(dir / "plain") << "x";
  try {
    ControlSocket::bind(dir / "plain");
    ADD_FAILURE() << "bound over a file";
  } catch (const ControlSocketError& e) {
    EXPECT_EQ(std::string(e.what()), (dir / "plain") + ": exists and is not a socket");
  }
  // Too long for sun_path.
  EXPECT_THROW(ControlSocket::bind(dir / std::string(120, 'x')), ControlSocketError);
  // Nobody there.
  EXPECT_EQ(connect_control_socket(dir / "none.sock", error), -1);
  EXPECT_NE(error.find("is clusterd running?"), std::string::npos) << error;
}
