// Batched datagram reads for the UDP transports (udp, udp-multicast): recvmmsg into a slab of
// buffers shared by every reader on the same thread. Compiled into each plugin .so; nothing here
// is exported or part of the core.
//
// The slab holds kBatch slots of kSlot bytes (2 MiB of address space): any UDP payload fits a
// slot, so nothing is truncated. It is mapped once per thread (per plugin library), without
// huge pages and never zeroed: only the pages a datagram touched become resident (a small
// datagram touches one page of its slot). The readers of one thread share it (all their reads
// run on that thread, one at a time); it is unmapped when the last of them releases it.
#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace cluster::transport {

/// One datagram of a batch: valid until the reader's next read().
struct Datagram {
  std::string_view bytes;  ///< the payload (when truncated: the first kSlot bytes)
  const sockaddr_storage* from = nullptr;
  socklen_t from_len = 0;
  bool truncated = false;  ///< larger than a slot (MSG_TRUNC): not whole
};

class DatagramSlab;

/// Reads datagrams in batches (recvmmsg, MSG_DONTWAIT). One per socket; use on one thread.
class BatchReceiver {
 public:
  static constexpr unsigned kBatch = 32;      ///< datagrams per recvmmsg call
  static constexpr std::size_t kSlot = 65536;  ///< bytes per datagram slot: any UDP payload

  BatchReceiver() noexcept;
  ~BatchReceiver();
  BatchReceiver(const BatchReceiver&) = delete;
  BatchReceiver& operator=(const BatchReceiver&) = delete;

  /// What a read() did.
  struct Outcome {
    int datagrams = 0;  ///< handed to on_datagram
    int calls = 0;      ///< recvmmsg calls made
    int error = 0;      ///< errno of a failed call other than EAGAIN/EINTR (0: none)
  };

  /// Reads up to `limit` datagrams from the non-blocking socket `fd`, in arrival order, calling
  /// on_datagram(const Datagram&) for each; it returns false to stop (e.g. the socket was
  /// closed inside it). Calls recvmmsg again only after a full batch: a short one means the
  /// socket is drained. A failed call (other than EAGAIN and EINTR) ends the read with
  /// Outcome::error set (udp: an earlier send's ICMP error; the caller may read again).
  template <class OnDatagram>
  Outcome read(int fd, int limit, OnDatagram&& on_datagram) {
    Outcome out;
    Lease lease(*this);
    while (out.datagrams < limit) {
      const unsigned want = static_cast<unsigned>(limit - out.datagrams) < kBatch
                                ? static_cast<unsigned>(limit - out.datagrams)
                                : kBatch;
      ++out.calls;
      const int n = receive(lease.slab, fd, want);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) out.error = errno;
        break;
      }
      for (int i = 0; i < n; ++i) {
        ++out.datagrams;
        if (!on_datagram(datagram(lease.slab, static_cast<unsigned>(i)))) return out;
      }
      if (static_cast<unsigned>(n) < want) break;  // drained
    }
    return out;
  }

  /// Gives up this reader's share of the slab (at stop; the next read() takes it again).
  void release() noexcept;

 private:
  /// The slab for one read(): this thread's shared one, or a private one when a read is already
  /// running on this thread (a callback that ran the loop again) and holds the shared one.
  class Lease {
   public:
    explicit Lease(BatchReceiver& r);
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    DatagramSlab* slab;

   private:
    std::shared_ptr<DatagramSlab> own_;  ///< keeps the slab alive for the whole read
  };

  static int receive(DatagramSlab* slab, int fd, unsigned count) noexcept;
  static Datagram datagram(const DatagramSlab* slab, unsigned index) noexcept;

  std::shared_ptr<DatagramSlab> shared_;
};

}  // namespace cluster::transport
