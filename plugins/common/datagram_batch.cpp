#include "datagram_batch.hpp"

#include <sys/mman.h>
#include <sys/uio.h>

#include <algorithm>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

namespace cluster::transport {

/// kBatch slots of kSlot bytes and their message headers (see datagram_batch.hpp).
class DatagramSlab {
 public:
  static constexpr unsigned kBatch = BatchReceiver::kBatch;
  static constexpr std::size_t kSlot = BatchReceiver::kSlot;

  DatagramSlab() {
    // mmap, not new[]: no zeroing, no huge page (one touched byte would make 2 MiB resident).
    void* p = ::mmap(nullptr, kBatch * kSlot, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_NOHUGEPAGE
    (void)::madvise(p, kBatch * kSlot, MADV_NOHUGEPAGE);
#endif
    data = static_cast<char*>(p);
    for (unsigned i = 0; i < kBatch; ++i) {
      iov[i].iov_base = data + i * kSlot;
      iov[i].iov_len = kSlot;
      msgs[i] = mmsghdr{};
      msgs[i].msg_hdr.msg_name = &names[i];
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
  }
  ~DatagramSlab() { ::munmap(data, kBatch * kSlot); }
  DatagramSlab(const DatagramSlab&) = delete;
  DatagramSlab& operator=(const DatagramSlab&) = delete;

  char* data = nullptr;
  mmsghdr msgs[kBatch];
  iovec iov[kBatch];
  sockaddr_storage names[kBatch];
  std::thread::id owner = std::this_thread::get_id();
  bool busy = false;  ///< a read() on its thread is using it
};

namespace {

// The slabs of the threads that read, one per thread; held by their readers (weak here), so the
// last reader of a thread to release it unmaps it. Plain statics: a thread_local with a
// destructor would pin the plugin library in memory (dlclose would not unload it).
std::mutex slabs_mu;
std::vector<std::weak_ptr<DatagramSlab>> slabs;

std::shared_ptr<DatagramSlab> slab_of_this_thread() {
  const std::thread::id me = std::this_thread::get_id();
  std::lock_guard<std::mutex> lock(slabs_mu);
  slabs.erase(std::remove_if(slabs.begin(), slabs.end(), [](const auto& w) { return w.expired(); }), slabs.end());
  for (const auto& w : slabs)
    if (auto s = w.lock(); s && s->owner == me) return s;
  auto s = std::make_shared<DatagramSlab>();
  slabs.push_back(s);
  return s;
}

}  // namespace

BatchReceiver::BatchReceiver() noexcept = default;

BatchReceiver::~BatchReceiver() { release(); }

void BatchReceiver::release() noexcept {
  std::lock_guard<std::mutex> lock(slabs_mu);  // the registry's weak_ptrs see it go
  shared_.reset();
}

BatchReceiver::Lease::Lease(BatchReceiver& r) {
  if (!r.shared_ || r.shared_->owner != std::this_thread::get_id()) {
    r.shared_ = slab_of_this_thread();
  }
  if (r.shared_->busy) {
    own_ = std::make_shared<DatagramSlab>();
  } else {
    own_ = r.shared_;  // held: a callback may release() the reader while the read goes on
  }
  slab = own_.get();
  slab->busy = true;
}

BatchReceiver::Lease::~Lease() { slab->busy = false; }

int BatchReceiver::receive(DatagramSlab* slab, int fd, unsigned count) noexcept {
  for (unsigned i = 0; i < count; ++i) {
    slab->msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    slab->msgs[i].msg_hdr.msg_flags = 0;
    slab->msgs[i].msg_len = 0;
  }
  return ::recvmmsg(fd, slab->msgs, count, MSG_DONTWAIT, nullptr);
}

Datagram BatchReceiver::datagram(const DatagramSlab* slab, unsigned index) noexcept {
  const mmsghdr& m = slab->msgs[index];
  Datagram d;
  d.bytes = std::string_view(slab->data + index * kSlot, std::min<std::size_t>(m.msg_len, kSlot));
  d.from = &slab->names[index];
  d.from_len = m.msg_hdr.msg_namelen;
  d.truncated = (m.msg_hdr.msg_flags & MSG_TRUNC) != 0;
  return d;
}

}  // namespace cluster::transport
