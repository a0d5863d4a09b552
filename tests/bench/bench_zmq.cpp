// The ZeroMQ baseline (issue "Measured"): PUSH/PULL one-way throughput over ipc and tcp, the two
// ends in separate processes like the raw floors. Built only when Debian's libzmq3-dev is there
// (a benchmark-only dependency); otherwise zmq_available() is false and the driver says so.
#include "bench_zmq.hpp"

#include <sys/prctl.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "bench_util.hpp"

#ifdef CLUSTER_BENCH_ZMQ
#include <zmq.h>
#endif

namespace bench {

#ifdef CLUSTER_BENCH_ZMQ

bool zmq_available() { return true; }

namespace {

[[noreturn]] void zfail(const std::string& what) { throw std::runtime_error(what + ": " + zmq_strerror(zmq_errno())); }

}  // namespace

raw::Throughput zmq_push_pull(const raw::Env& env, const std::string& transport, std::size_t size, std::uint64_t count,
                              double seconds) {
  const std::string bind = transport == "ipc" ? "ipc://" + env.tmp + "/zmq.ipc" : "tcp://127.0.0.1:*";
  Child pull({env.self, "zmq-pull", bind}, env.tmp + "/zmq-pull.err");
  std::string line;
  pump({&pull}, [&](std::size_t, const std::string& l) { if (line.empty()) line = l; }, [&] { return !line.empty(); },
       now_ns() + 10'000'000'000);
  if (!starts_with(line, "ready ")) throw std::runtime_error("zmq-pull did not start");
  void* ctx = zmq_ctx_new();
  void* push = zmq_socket(ctx, ZMQ_PUSH);
  int hwm = 100000;  // ZeroMQ's own batching needs room; its default (1000) throttles it
  zmq_setsockopt(push, ZMQ_SNDHWM, &hwm, sizeof hwm);
  if (zmq_connect(push, line.substr(6).c_str()) != 0) zfail("zmq_connect");
  std::string msg(size, 'z');
  raw::Throughput t;
  const std::int64_t first = now_ns();
  const std::int64_t deadline = first + static_cast<std::int64_t>(seconds * 1e9);
  for (std::uint64_t i = 0; i < count; ++i) {
    if (zmq_send(push, msg.data(), size, 0) < 0) zfail("zmq_send");
    ++t.sent;
    if ((i & 255) == 255 && now_ns() >= deadline) break;
  }
  zmq_send(push, "", 0, 0);  // the end marker
  line.clear();
  pump({&pull}, [&](std::size_t, const std::string& l) { if (line.empty()) line = l; }, [&] { return !line.empty(); },
       now_ns() + 30'000'000'000);
  int linger = 0;
  zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof linger);
  zmq_close(push);
  zmq_ctx_term(ctx);
  const auto w = split(line);  // got COUNT LAST_NS
  if (w.size() != 3) throw std::runtime_error("zmq-pull: no result");
  t.received = std::strtoull(w[1].c_str(), nullptr, 10);
  t.seconds = static_cast<double>(std::atoll(w[2].c_str()) - first) / 1e9;
  return t;
}

int zmq_pull_main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: cluster_bench zmq-pull ENDPOINT\n");
    return 2;
  }
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  void* ctx = zmq_ctx_new();
  void* pull = zmq_socket(ctx, ZMQ_PULL);
  int hwm = 100000;
  zmq_setsockopt(pull, ZMQ_RCVHWM, &hwm, sizeof hwm);
  if (zmq_bind(pull, argv[2]) != 0) {
    std::fprintf(stderr, "zmq-pull: bind %s: %s\n", argv[2], zmq_strerror(zmq_errno()));
    return 1;
  }
  char endpoint[256] = {};
  std::size_t len = sizeof endpoint;
  zmq_getsockopt(pull, ZMQ_LAST_ENDPOINT, endpoint, &len);
  std::printf("ready %s\n", endpoint);
  std::fflush(stdout);
  std::vector<char> buf(65536);
  std::uint64_t count = 0;
  std::int64_t last = 0;
  for (;;) {
    const int n = zmq_recv(pull, buf.data(), buf.size(), 0);
    if (n < 0) {
      if (zmq_errno() == EINTR) continue;
      break;
    }
    if (n == 0) break;  // the end marker
    ++count;
    last = now_ns();
  }
  std::printf("got %llu %lld\n", static_cast<unsigned long long>(count), static_cast<long long>(last));
  std::fflush(stdout);
  zmq_close(pull);
  zmq_ctx_term(ctx);
  return 0;
}

#else

bool zmq_available() { return false; }

raw::Throughput zmq_push_pull(const raw::Env&, const std::string&, std::size_t, std::uint64_t, double) { return {}; }

int zmq_pull_main(int, char**) {
  std::fprintf(stderr, "cluster_bench was built without libzmq (Debian: libzmq3-dev)\n");
  return 2;
}

#endif

}  // namespace bench
