// Counts the batched datagram calls the transport plugins make (recvmmsg, sendmmsg): the test
// executable defines both and exports them (CMake: --export-dynamic-symbol), so a plugin .so
// loaded into it calls these, which count and pass the call on to the C library.
#pragma once

#include <cstdint>

namespace cluster::test {

struct SyscallCounts {
  std::uint64_t recvmmsg_calls = 0;
  std::uint64_t recvmmsg_datagrams = 0;  ///< returned by those calls
  std::uint64_t sendmmsg_calls = 0;
  std::uint64_t sendmmsg_datagrams = 0;  ///< sent by those calls
};

/// The counts so far (this process, every thread).
SyscallCounts syscall_counts();

}  // namespace cluster::test
