// host-app: the smallest useful embedding of cluster.
//   host-app CONFIG [--seconds N] [--query TEXT]
// Joins as CONFIG says (plugins come from its [plugins] section), prints every member it
// discovers or loses, answers queries with "pong: <text>" from a hook registered in code, and
// with --query asks every other member once and prints their answers. Exits after N seconds
// (default 5), or as soon as its query is done. Exit code 0, or 1 when the query got no answer.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include <cluster/cluster.hpp>
#include <cluster/sdk/text.hpp>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: host-app CONFIG [--seconds N] [--query TEXT]\n");
    return 2;
  }
  int seconds = 5;
  std::string query;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0) {
      const auto n = cluster::sdk::text::parse_int(argv[i + 1], 0, 86400);  // strict: "5s" is refused
      if (!n) {
        std::fprintf(stderr, "host-app: --seconds wants a number from 0 to 86400, not '%s'\n", argv[i + 1]);
        return 2;
      }
      seconds = static_cast<int>(*n);
    } else if (std::strcmp(argv[i], "--query") == 0) query = argv[i + 1];
  }
  std::unique_ptr<cluster::Cluster> c;
  try {
    // Hooks are registered in `prepare`, before the first packet, so no member is missed.
    c = cluster::Cluster::join(cluster::NodeConfig::load_file(argv[1]), [](cluster::Cluster& joining) {
      joining.hook(cluster::HookPoint::service_discovered, "host.discovered", [](cluster::HookContext& ctx) {
        std::printf("discovered %s\n", ctx.service->uuid.c_str());
        std::fflush(stdout);
        return cluster::Verdict::pass;
      });
      joining.hook(cluster::HookPoint::service_lost, "host.lost", [](cluster::HookContext& ctx) {
        std::printf("lost %s (%s)\n", ctx.service->uuid.c_str(), ctx.reason.c_str());
        std::fflush(stdout);
        return cluster::Verdict::pass;
      });
      joining.hook(cluster::HookPoint::query, "host.pong", [](cluster::HookContext& ctx) {
        ctx.answer = "pong: " + *ctx.payload->data;
        return cluster::Verdict::modified;  // "I answered"
      });
    });
  } catch (const std::exception& e) {  // ConfigError, PluginError: one line with the reason
    std::fprintf(stderr, "host-app: %s\n", e.what());
    return 1;
  }
  std::printf("joined as %s\n", c->uuid().c_str());
  std::fflush(stdout);
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  if (query.empty()) {
    std::this_thread::sleep_until(end);
    return 0;
  }
  while (c->known_services() == 0 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  cluster::QueryOptions q;
  q.resolve = {"*"};
  q.query = query;
  q.collect = true;
  q.timeout = std::chrono::seconds(2);
  auto running = c->query(q);
  running->wait(std::chrono::seconds(3));
  for (const auto& [uuid, answer] : running->results())
    std::printf("%s %s: %s\n", answer.error ? "error" : "answer", uuid.c_str(), answer.data.c_str());
  return running->results().empty() ? 1 : 0;
}
