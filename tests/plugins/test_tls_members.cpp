// Whole members over the tls transport ("s"): with [cluster] protocols = s alone, found through
// the seeds discovery over s, two members meet and answer each other's queries over s; a member
// whose certificate another CA signed never meets them. Loopback only, no multicast.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <thread>

#include "cluster/cluster.hpp"
#include "member_helpers.hpp"
#include "net.hpp"
#include "protocol_harness.hpp"
#include "tls_certs.hpp"

namespace cluster::test {
namespace {

std::string node_ini(std::uint16_t port, std::uint16_t seed, const CertFiles& files, const std::string& ca) {
  return "[cluster]\nprotocols = s\ndiscovery = seeds\nheartbeat = 200ms\nttl = 2s\nhid = 02:00:00:00:00:0e\n"
         "[plugins]\npath = " CLUSTER_PLUGIN_DIR "\nload = tls seeds\n"
         "[tls]\nbind = 127.0.0.1\nport = " + std::to_string(port) + "\ncert = " + files.cert + "\nkey = " + files.key +
         "\nca = " + ca + "\n[seeds]\nseeds = 127.0.0.1:" + std::to_string(seed) + "\nprotocol = s\n";
}

struct Member {
  std::mutex m;
  std::vector<std::string> queries;  ///< the protocol each query came over
  std::unique_ptr<Cluster> cluster;

  explicit Member(const std::string& ini) {
    NodeConfig cfg = NodeConfig::from_ini(IniFile::parse(ini, "node.ini"));
    cluster = Cluster::join(cfg, [this](Cluster& c) {
      c.hook(HookPoint::query, "answer", [this, &c](HookContext& ctx) {
        {
          std::lock_guard<std::mutex> g(m);
          queries.emplace_back(ctx.protocol);
        }
        ctx.answer = c.sid() + " got " + ctx.payload->data.value_or("");
        return Verdict::modified;
      });
    });
  }
};

TEST(TlsMembers, MeetThroughSeedsAndAnswerQueriesOverS) {
  TempDir dir;
  TestPki pki(dir.path());
  const std::uint16_t port = free_tcp_port();
  Member a(node_ini(port, port, pki.member("alpha"), pki.ca()));
  Member b(node_ini(0, port, pki.member("beta"), pki.ca()));
  ASSERT_TRUE(wait_for([&] { return knows(*a.cluster, *b.cluster) && knows(*b.cluster, *a.cluster); }))
      << "they never met over s";
  EXPECT_EQ(b.cluster->resolve({a.cluster->sid()})[0]->info().prop("s", "port"), std::to_string(port));
  for (auto [from, to] : {std::pair<Member*, Member*>{&a, &b}, {&b, &a}}) {
    QueryOptions q;
    q.resolve = {to->cluster->sid()};
    q.query = "status";
    q.timeout = 3s;
    q.collect = true;
    QueryPtr query = from->cluster->query(q);
    ASSERT_TRUE(query->wait(5s));
    EXPECT_FALSE(query->timed_out());
    const auto answers = query->results();
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers.begin()->second.data, to->cluster->sid() + " got status");
  }
  std::scoped_lock g(a.m, b.m);
  EXPECT_EQ(a.queries, std::vector<std::string>{"s"});
  EXPECT_EQ(b.queries, std::vector<std::string>{"s"});
}

TEST(TlsMembers, AMemberOfAnotherCaNeverJoins) {
  TempDir dir;
  TestPki pki(dir.path());
  const std::uint16_t port = free_tcp_port();
  Member a(node_ini(port, port, pki.member("alpha"), pki.ca()));
  // mallory trusts our CA but presents a certificate of another one.
  Member m(node_ini(0, port, pki.member("mallory", {false, true, ""}), pki.ca()));
  EXPECT_FALSE(wait_for([&] { return knows(*a.cluster, *m.cluster) || knows(*m.cluster, *a.cluster); }, 1500ms));
}

}  // namespace
}  // namespace cluster::test
