// cluster_bench: the end-to-end benchmark suite (docs/benchmarks.md), normally started by
// tests/bench/run inside a private network namespace.
//   cluster_bench run --plugins DIR [--clusterd PATH] [--quick] [--only a,b]   the driver
//   cluster_bench member --plugins DIR [--sockets DIR]                          a member process
//   cluster_bench scale --plugins DIR [--quick] [--csv FILE] ...   the scale suite (bench_scale.cpp)
//   cluster_bench synth --group G --port P --members N ...         synthetic members' heartbeats
//   cluster_bench udp-sink GROUP PORT     the idle floor: receives the group's datagrams and
//                                         drops them (epoll + recvfrom), until stdin closes
//   cluster_bench raw-server ...          the far end of a raw-socket floor (bench_raw.cpp)
//   cluster_bench zmq-pull ENDPOINT       the far end of the ZeroMQ baseline (bench_zmq.cpp)
#include <cstdio>
#include <string>

namespace bench {
int driver_main(int argc, char** argv);
int member_main(int argc, char** argv);
int scale_main(int argc, char** argv);
int synth_main(int argc, char** argv);
int udp_sink_main(int argc, char** argv);
int raw_server_main(int argc, char** argv);
int zmq_pull_main(int argc, char** argv);
}  // namespace bench

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "member") return bench::member_main(argc, argv);
    if (mode == "run") return bench::driver_main(argc, argv);
    if (mode == "scale") return bench::scale_main(argc, argv);
    if (mode == "synth") return bench::synth_main(argc, argv);
    if (mode == "udp-sink") return bench::udp_sink_main(argc, argv);
    if (mode == "raw-server") return bench::raw_server_main(argc, argv);
    if (mode == "zmq-pull") return bench::zmq_pull_main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cluster_bench %s: %s\n", mode.c_str(), e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: cluster_bench run|member|scale|synth ... (see tests/bench/run)\n");
  return 2;
}
