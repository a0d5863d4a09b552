// ZeroMQ PUSH/PULL throughput: a baseline next to the raw floors (bench_zmq.cpp).
#pragma once

#include <cstdint>
#include <string>

#include "bench_raw.hpp"

namespace bench {

/// False when cluster_bench was built without libzmq.
bool zmq_available();
/// This process PUSHes `size`-byte messages (over "ipc" or "tcp") to a PULL process that counts
/// them. Stops after `count` or `seconds`.
raw::Throughput zmq_push_pull(const raw::Env& env, const std::string& transport, std::size_t size, std::uint64_t count,
                              double seconds);
/// `cluster_bench zmq-pull ENDPOINT`: the far end.
int zmq_pull_main(int argc, char** argv);

}  // namespace bench
