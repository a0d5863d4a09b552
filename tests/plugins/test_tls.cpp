// The tls transport ("s"): two instances exchange packets both ways (small, many, 1 MiB) over
// TLS 1.3 with mutual certificates; peers with a foreign-CA, expired or missing certificate, a
// TLS 1.2 client and a plain TCP client are refused without a byte delivered (counted, logged);
// bad [tls] files are refused at init. Loopback only; certificates made at test time.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "protocol_harness.hpp"
#include "tls_certs.hpp"

namespace cluster::test {
namespace {

using ::testing::HasSubstr;

class Tls : public ::testing::Test {
 protected:
  Tls() : pki_(dir_.path()), alpha_(pki_.member("alpha")) {}

  Harness::Config config(const CertFiles& files, Harness::Config extra = {}) const {
    extra.emplace("cert", files.cert);
    extra.emplace("key", files.key);
    extra.emplace("ca", pki_.ca());
    return extra;
  }
  std::unique_ptr<Harness> make(Harness::Config extra = {}) {
    return std::make_unique<Harness>("tls", config(alpha_, std::move(extra)));
  }
  /// True when `n` logged a warning naming `what`.
  static bool warned(const Node& n, const std::string& what) {
    return std::any_of(n.host->logs.begin(), n.host->logs.end(), [&](const auto& l) {
      return l.first == sdk::LogLevel::warning && l.second.find(what) != std::string::npos;
    });
  }
  static ServiceInfo without_props(const Node& n) {
    ServiceInfo s = n.info();
    s.props.clear();
    return s;
  }

  TempDir dir_;
  TestPki pki_;
  CertFiles alpha_;
};

/// A client on its own thread (the member runs on the test's loop): connects to 127.0.0.1:port,
/// tries a TLS handshake with `cert` (none when empty) up to `max_version`, then sends `payload`
/// (over TLS when the handshake passed, else as it is, for a plain client) and waits for the
/// member to close. Every wait is bounded by socket timeouts.
class Client {
 public:
  struct Options {
    const CertFiles* cert = nullptr;
    std::string ca;
    int max_version = 0;  ///< e.g. TLS1_2_VERSION; 0 = the default (TLS 1.3)
    bool plain = false;   ///< no TLS at all: payload goes out as it is
  };
  Client(std::uint16_t port, Options o, std::string payload)
      : thread_([this, port, o, payload] { run(port, o, payload); }) {}
  ~Client() { thread_.join(); }
  bool done() const { return done_; }
  bool handshake_ok() const { return handshake_ok_; }
  bool closed_by_member() const { return closed_by_member_; }

 private:
  void run(std::uint16_t port, const Options& o, const std::string& payload) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{3, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&sin), sizeof sin) == 0) {
      if (o.plain) {
        (void)::send(fd, payload.data(), payload.size(), MSG_NOSIGNAL);
        char b[256];
        closed_by_member_ = ::recv(fd, b, sizeof b, 0) <= 0;  // EOF (or reset), not the 3 s timeout
      } else {
        tls(fd, o, payload);
      }
    }
    ::close(fd);
    done_ = true;
  }
  void tls(int fd, const Options& o, const std::string& payload) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (o.max_version != 0) SSL_CTX_set_max_proto_version(ctx, o.max_version);
    if (o.cert != nullptr) {
      SSL_CTX_use_certificate_chain_file(ctx, o.cert->cert.c_str());
      SSL_CTX_use_PrivateKey_file(ctx, o.cert->key.c_str(), SSL_FILETYPE_PEM);
    }
    SSL_CTX_load_verify_locations(ctx, o.ca.c_str(), nullptr);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    handshake_ok_ = SSL_connect(ssl) == 1;
    if (handshake_ok_) {
      // TLS 1.3: the client finishes before the member checked its certificate; the member's
      // verdict is the alert (or end of stream) that follows.
      SSL_write(ssl, payload.data(), static_cast<int>(payload.size()));
      char b[256];
      closed_by_member_ = SSL_read(ssl, b, sizeof b) <= 0;
    } else {
      closed_by_member_ = true;
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ERR_clear_error();  // this thread's queue
  }

  std::atomic<bool> done_{false}, handshake_ok_{false}, closed_by_member_{false};
  std::thread thread_;
};

std::uint16_t port_of(const Node& n) { return static_cast<std::uint16_t>(std::stoi(n.prop("port"))); }

TEST_F(Tls, RegistersProtocolSAndAdvertisesItsPort) {
  auto h = make();
  EXPECT_EQ(h->protocol_id, "s");
  Node& a = h->start("sidA0001");
  EXPECT_EQ(a.proto->id(), "s");
  EXPECT_FALSE(a.proto->traits().datagram);
  EXPECT_FALSE(a.proto->traits().local_only);
  const Dict props = a.proto->props();
  ASSERT_EQ(props.size(), 1u);
  EXPECT_EQ(props[0].first, "port");
  EXPECT_GT(port_of(a), 0);
}

TEST_F(Tls, ExchangesBothWaysOverOneConnection) {
  auto h = make();
  Node& a = h->start("sidA0001");
  Node& b = h->start("sidB0002");
  const std::string p1 = make_packet("sidA0001", "to b");
  ASSERT_TRUE(a.proto->send(b.info(), p1, {}));  // queued until the handshake ends
  ASSERT_TRUE(h->run_until([&] { return b.host->packets.size() == 1; }));
  EXPECT_EQ(b.host->packets[0].packet, p1);
  EXPECT_EQ(b.host->packets[0].origin.ip, "127.0.0.1");
  const sdk::ConnectionId cb = b.host->packets[0].origin.conn;
  b.proto->bind(cb, a.uuid());
  const std::string p2 = make_packet("sidB0002", "to a");
  ASSERT_TRUE(b.proto->send(without_props(a), p2, {}));  // only the connection a opened reaches a
  ASSERT_TRUE(h->run_until([&] { return a.host->packets.size() == 1; }));
  EXPECT_EQ(a.host->packets[0].packet, p2);
  ASSERT_TRUE(b.proto->send(without_props(a), make_packet("sidB0002", "via"), sdk::SendOptions{cb}));
  ASSERT_TRUE(h->run_until([&] { return a.host->packets.size() == 2; }));
  EXPECT_TRUE(a.host->closed.empty());
  EXPECT_TRUE(b.host->closed.empty());
  EXPECT_TRUE(a.host->guards.empty());
}

TEST_F(Tls, ManySmallPacketsKeepTheirOrderBothWays) {
  auto h = make();
  Node& a = h->start("sidA0001");
  Node& b = h->start("sidB0002");
  ASSERT_TRUE(a.proto->send(b.info(), make_packet("sidA0001", "hello"), {}));
  ASSERT_TRUE(h->run_until([&] { return b.host->packets.size() == 1; }));
  const sdk::ConnectionId cb = b.host->packets[0].origin.conn;
  b.proto->bind(cb, a.uuid());
  std::vector<std::string> to_b, to_a;
  for (int i = 0; i < 2000; ++i) {  // one loop turn: sealed as a batch
    to_b.push_back(make_packet("sidA0001", "a" + std::to_string(i)));
    to_a.push_back(make_packet("sidB0002", "b" + std::to_string(i)));
    ASSERT_TRUE(a.proto->send(b.info(), to_b.back(), {}));
    ASSERT_TRUE(b.proto->send(without_props(a), to_a.back(), sdk::SendOptions{cb}));
  }
  ASSERT_TRUE(h->run_until([&] { return a.host->packets.size() == 2000 && b.host->packets.size() == 2001; }));
  for (std::size_t i = 0; i < 2000; ++i) {
    ASSERT_EQ(a.host->packets[i].packet, to_a[i]);
    ASSERT_EQ(b.host->packets[i + 1].packet, to_b[i]);
  }
}

TEST_F(Tls, LargePacketsBothWays) {
  auto h = make();
  Node& a = h->start("sidA0001");
  Node& b = h->start("sidB0002");
  const std::string big_ab = make_packet("sidA0001", pattern(1u << 20, 1));
  const std::string big_ba = make_packet("sidB0002", pattern(1u << 20, 2));
  ASSERT_TRUE(a.proto->send(b.info(), big_ab, {}));
  ASSERT_TRUE(a.proto->send(b.info(), big_ab, {}));
  ASSERT_TRUE(h->run_until([&] { return b.host->packets.size() == 2; }, 10000ms));
  EXPECT_TRUE(b.host->packets[0].packet == big_ab && b.host->packets[1].packet == big_ab);
  b.proto->bind(b.host->packets[0].origin.conn, a.uuid());
  ASSERT_TRUE(b.proto->send(without_props(a), big_ba, {}));
  ASSERT_TRUE(h->run_until([&] { return a.host->packets.size() == 1; }, 10000ms));
  EXPECT_TRUE(a.host->packets[0].packet == big_ba);
}

TEST_F(Tls, PendingOutputDuringTheHandshakeIsBounded) {
  auto h = make({{"max_pending_bytes", "100000"}});
  Node& a = h->start("sidA0001");
  Node& b = h->start("sidB0002");
  ASSERT_TRUE(a.proto->send(b.info(), make_packet("sidA0001", std::string(60000, 'x')), {}));
  const sdk::Result r = a.proto->send(b.info(), make_packet("sidA0001", std::string(60000, 'y')), {});
  EXPECT_FALSE(r);
  EXPECT_THAT(r.message(), HasSubstr("would exceed 100000 bytes"));
}

/// Runs the loops of two harnesses (members configured differently) until pred().
template <class Pred>
bool run_both(Harness& x, Harness& y, Pred pred, std::chrono::milliseconds limit = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < deadline) {
    x.loop.run_once(2ms);
    y.loop.run_once(2ms);
  }
  return pred();
}

/// A member whose certificate its peers must refuse; `a` tries both directions with it.
void expect_refused_both_ways(Harness& good, Harness& bad) {
  Node& a = good.start("sidA0001");
  Node& m = bad.start("sidM0009");
  // m connects to a: a refuses the handshake, nothing is delivered.
  ASSERT_TRUE(m.proto->send(a.info(), make_packet("sidM0009", "let me in"), {}));
  ASSERT_TRUE(run_both(good, bad, [&] { return a.host->guards[sdk::StreamGuard::refused] == 1; }));
  // a connects to m: a refuses m's certificate as a server's.
  ASSERT_TRUE(a.proto->send(m.info(), make_packet("sidA0001", "secret"), {}));
  ASSERT_TRUE(run_both(good, bad, [&] { return !a.host->closed.empty(); }));
  for (int i = 0; i < 20; ++i) run_both(good, bad, [] { return false; }, 5ms);
  EXPECT_TRUE(a.host->packets.empty());
  EXPECT_TRUE(m.host->packets.empty());
  const bool refused = std::count_if(a.host->logs.begin(), a.host->logs.end(), [](const auto& l) {
    return l.first == sdk::LogLevel::warning && l.second.find("refused a connection") != std::string::npos;
  }) >= 1;
  EXPECT_TRUE(refused) << "a refused handshake must be logged";
  // m finished its side of the handshake first (TLS 1.3), then read a's refusal: warned too.
  EXPECT_TRUE(std::any_of(m.host->logs.begin(), m.host->logs.end(), [&](const auto& l) {
    return l.first == sdk::LogLevel::warning && l.second.find("handshake with " + a.uuid()) != std::string::npos &&
           l.second.find("failed") != std::string::npos;
  })) << "m must learn that a refused it";
}

TEST_F(Tls, AMemberWithAForeignCaCertificateIsRefused) {
  auto good = make();
  const CertFiles foreign = pki_.member("mallory", {false, true, ""});
  Harness bad("tls", {{"cert", foreign.cert}, {"key", foreign.key}, {"ca", pki_.ca()}});
  expect_refused_both_ways(*good, bad);
  EXPECT_TRUE(std::any_of(good->nodes[0]->host->logs.begin(), good->nodes[0]->host->logs.end(), [](const auto& l) {
    return l.second.find("certificate verify failed") != std::string::npos;
  }));
}

TEST_F(Tls, AnExpiredCertificateIsRefusedByItsPeers) {
  auto good = make();
  const CertFiles expired = pki_.member("late", {true, false, ""});
  // Our own expired certificate fails the load; a client presenting one is refused.
  try {
    Harness bad("tls", config(expired));
    ADD_FAILURE() << "an expired certificate was loaded";
  } catch (const PluginError& e) {
    EXPECT_THAT(e.what(), HasSubstr("has expired"));
  }
  Node& a = good->start("sidA0001");
  Client c(port_of(a), {&expired, pki_.ca(), 0, false}, make_packet("sidL0001", "hi"));
  ASSERT_TRUE(good->run_until([&] { return c.done(); }));
  EXPECT_TRUE(c.closed_by_member());
  EXPECT_TRUE(a.host->packets.empty());
  EXPECT_EQ(a.host->guards[sdk::StreamGuard::refused], 1);
  EXPECT_TRUE(warned(a, "certificate has expired"));
}

TEST_F(Tls, AForeignCertificateFromARawClientIsRefused) {
  auto h = make();
  Node& a = h->start("sidA0001");
  const CertFiles foreign = pki_.member("mallory", {false, true, ""});
  Client c(port_of(a), {&foreign, pki_.ca(), 0, false}, make_packet("sidM0001", "hi"));
  ASSERT_TRUE(h->run_until([&] { return c.done(); }));
  EXPECT_TRUE(c.closed_by_member());
  EXPECT_TRUE(a.host->packets.empty());
  EXPECT_EQ(a.host->guards[sdk::StreamGuard::refused], 1);
}

TEST_F(Tls, AClientWithoutACertificateIsRefused) {
  auto h = make();
  Node& a = h->start("sidA0001");
  Client c(port_of(a), {nullptr, pki_.ca(), 0, false}, make_packet("sidN0001", "hi"));
  ASSERT_TRUE(h->run_until([&] { return c.done(); }));
  EXPECT_TRUE(c.closed_by_member());
  EXPECT_TRUE(a.host->packets.empty());
  EXPECT_EQ(a.host->guards[sdk::StreamGuard::refused], 1);
  EXPECT_TRUE(warned(a, "refused a connection from 127.0.0.1"));
}

TEST_F(Tls, ATls12ClientIsRefused) {
  auto h = make();
  Node& a = h->start("sidA0001");
  const CertFiles beta = pki_.member("beta");
  Client c(port_of(a), {&beta, pki_.ca(), TLS1_2_VERSION, false}, make_packet("sidO0001", "hi"));
  ASSERT_TRUE(h->run_until([&] { return c.done(); }));
  EXPECT_FALSE(c.handshake_ok());
  EXPECT_TRUE(a.host->packets.empty());
  EXPECT_EQ(a.host->guards[sdk::StreamGuard::refused], 1);
}

TEST_F(Tls, AValidRawClientIsServed) {  // the reference point for the refusals above
  auto h = make();
  Node& a = h->start("sidA0001");
  const CertFiles beta = pki_.member("beta");
  const std::string p = make_packet("sidB0001", "hi");
  Client c(port_of(a), {&beta, pki_.ca(), 0, false}, p);
  ASSERT_TRUE(h->run_until([&] { return a.host->packets.size() == 1; }));
  EXPECT_EQ(a.host->packets[0].packet, p);
  a.proto->stop();  // ends the client's wait
  ASSERT_TRUE(h->run_until([&] { return c.done(); }));
  EXPECT_TRUE(c.handshake_ok());
}

TEST_F(Tls, APlainTcpClientDeliversNothingAndTheMemberGoesOn) {
  auto h = make();
  Node& a = h->start("sidA0001");
  Node& b = h->start("sidB0002");
  Client c(port_of(a), {nullptr, "", 0, true}, make_packet("sidP0001", "plain bpacket"));
  ASSERT_TRUE(h->run_until([&] { return c.done(); }));
  EXPECT_TRUE(c.closed_by_member()) << "closed at once, not after the client's timeout";
  EXPECT_TRUE(a.host->packets.empty());
  EXPECT_EQ(a.host->guards[sdk::StreamGuard::refused], 1);
  ASSERT_TRUE(b.proto->send(a.info(), make_packet("sidB0002", "still here"), {}));
  ASSERT_TRUE(h->run_until([&] { return a.host->packets.size() == 1; }));
}

TEST_F(Tls, ASilentClientIsClosedAfterTheHandshakeTimeout) {
  auto h = make({{"connect_timeout_ms", "200"}});
  Node& a = h->start("sidA0001");
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port_of(a));
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&sin), sizeof sin), 0);
  ASSERT_TRUE(h->run_until([&] { return a.host->guards[sdk::StreamGuard::refused] == 1; }, 2000ms));
  EXPECT_TRUE(warned(a, "handshake timed out"));
  char b;
  EXPECT_EQ(::recv(fd, &b, 1, MSG_DONTWAIT), 0) << "closed by the member";
  ::close(fd);
}

TEST_F(Tls, VerifyNameMustMatchThePeersCertificate) {
  const CertFiles named = pki_.member("named", {false, false, "member.cluster.test"});
  {
    Harness h("tls", config(named, {{"verify_name", "member.cluster.test"}}));
    Node& a = h.start("sidA0001");
    Node& b = h.start("sidB0002");
    ASSERT_TRUE(a.proto->send(b.info(), make_packet("sidA0001", "named"), {}));
    ASSERT_TRUE(h.run_until([&] { return b.host->packets.size() == 1; }));
  }
  Harness h("tls", config(alpha_, {{"verify_name", "member.cluster.test"}}));  // alpha has no such name
  Node& a = h.start("sidA0001");
  Node& b = h.start("sidB0002");
  ASSERT_TRUE(a.proto->send(b.info(), make_packet("sidA0001", "unnamed"), {}));
  ASSERT_TRUE(h.run_until([&] { return !a.host->closed.empty(); }));
  h.settle(50ms);
  EXPECT_TRUE(b.host->packets.empty());
  EXPECT_TRUE(warned(a, "certificate verify failed"));
}

std::string load_error(const Harness::Config& cfg) {
  try {
    Harness h("tls", cfg);
  } catch (const PluginError& e) {
    return e.what();
  }
  return "(loaded)";
}

TEST_F(Tls, AKeyOthersMayReadIsRefusedAtInitWithTheFix) {
  ASSERT_EQ(::chmod(alpha_.key.c_str(), 0644), 0);
  const std::string err = load_error(config(alpha_));
  EXPECT_THAT(err, HasSubstr(alpha_.key));
  EXPECT_THAT(err, HasSubstr("mode 0644"));
  EXPECT_THAT(err, HasSubstr("chmod 600 " + alpha_.key));
  ASSERT_EQ(::chmod(alpha_.key.c_str(), 0640), 0);
  EXPECT_THAT(load_error(config(alpha_)), HasSubstr("mode 0640"));
}

TEST_F(Tls, MissingOrWrongFilesAreRefusedAtInit) {
  const std::string missing = dir_.file("nope.pem");
  EXPECT_THAT(load_error({{"key", alpha_.key}, {"ca", pki_.ca()}}), HasSubstr("[tls] cert is required"));
  EXPECT_THAT(load_error({{"cert", alpha_.cert}, {"ca", pki_.ca()}}), HasSubstr("[tls] key is required"));
  EXPECT_THAT(load_error({{"cert", alpha_.cert}, {"key", alpha_.key}}), HasSubstr("[tls] ca is required"));
  EXPECT_THAT(load_error(config({missing, alpha_.key})), HasSubstr("cert '" + missing + "': No such file"));
  EXPECT_THAT(load_error(config({alpha_.cert, missing})), HasSubstr("key '" + missing + "': No such file"));
  EXPECT_THAT(load_error({{"cert", alpha_.cert}, {"key", alpha_.key}, {"ca", missing}}),
              HasSubstr("ca '" + missing + "': No such file"));
  const CertFiles beta = pki_.member("beta");
  EXPECT_THAT(load_error(config({alpha_.cert, beta.key})), HasSubstr("does not match the certificate"));
  EXPECT_THAT(load_error(config({alpha_.key, alpha_.key})), HasSubstr("not a PEM certificate chain"));
  EXPECT_THAT(load_error({{"cert", alpha_.cert}, {"key", alpha_.key}, {"ca", alpha_.key}}),
              HasSubstr("not a PEM CA bundle"));
  EXPECT_THAT(load_error(config(alpha_, {{"port", "70000"}})), HasSubstr("[tls] port = '70000' is out of range"));
}

// conf/tls.ini, like the other samples (test_conf_samples.cpp), names every key with its
// default; cert, key and ca have none (required), so it is loaded with ours filled in.
TEST_F(Tls, ConfSampleDocumentsEveryKeyWithItsDefault) {
  const IniFile ini = IniFile::load(std::string(CLUSTER_CONF_DIR) + "/tls.ini");
  const IniSection* section = ini.section("tls");
  ASSERT_NE(section, nullptr);
  ASSERT_EQ(ini.sections().size(), 1u);
  IniSection filled = *section;
  filled.values["cert"] = IniValue{alpha_.cert, "test:1"};
  filled.values["key"] = IniValue{alpha_.key, "test:1"};
  filled.values["ca"] = IniValue{pki_.ca(), "test:1"};
  PluginManager plugins;
  ASSERT_NO_THROW(plugins.load(plugin_path("tls"), &filled));
  const auto& schema = plugins.protocol_config("s").values();
  EXPECT_EQ(section->values.size(), schema.size());
  for (const auto& [key, value] : schema) {
    const IniValue* v = section->find(key);
    ASSERT_NE(v, nullptr) << "tls.ini does not document '" << key << "'";
    const bool required = key == "cert" || key == "key" || key == "ca";
    EXPECT_EQ(v->value, required ? std::string() : value) << v->where << ": '" << key << "' is not the default";
  }
}

}  // namespace
}  // namespace cluster::test
