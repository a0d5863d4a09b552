// bpacket framing: C0 8D | varint(len) | body | 00 00. Finds intact packets in a datagram or in
// a byte stream, resynchronising after damage (PROTOCOL.md section 1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cluster/bpacket/status.hpp"
#include "cluster/export.hpp"

namespace cluster::bpacket {

inline constexpr std::uint8_t kHeader0 = 0xC0;
inline constexpr std::uint8_t kHeader1 = 0x8D;
/// Default body limits: a datagram can never be larger; a stream packet beyond this is dropped.
inline constexpr std::size_t kDatagramLimit = 64 * 1024;
inline constexpr std::size_t kStreamLimit = 16 * 1024 * 1024;

struct Frame {
  std::string_view packet;  ///< header to footer inclusive
  std::string_view body;
};

enum class ScanResult : std::uint8_t {
  frame,      ///< `out` holds an intact packet; pos is past it
  need_more,  ///< a packet may start at pos but is incomplete
  none,       ///< nothing left that could be a packet; pos is where scanning may resume
};

/// Scans `data` from `pos` for the next intact packet with a body of at most `max_body`
/// bytes. Damaged candidates (bad length, oversize, bad footer) are skipped by resuming at the
/// byte after their header. `skipped` counts bytes passed over.
CLUSTER_API ScanResult scan_frame(std::string_view data, std::size_t& pos, std::size_t max_body,
                                  Frame& out, std::uint64_t& skipped) noexcept;

/// Calls on_frame(const Frame&) for every intact packet in one datagram, in order. A packet
/// cut short by the end of the datagram is not intact. Returns the number of bytes skipped.
template <class OnFrame>
std::uint64_t for_each_frame(std::string_view datagram, std::size_t max_body, OnFrame&& on_frame) {
  std::size_t pos = 0;
  std::uint64_t skipped = 0;
  Frame f;
  for (;;) {
    switch (scan_frame(datagram, pos, max_body, f, skipped)) {
      case ScanResult::frame:
        on_frame(static_cast<const Frame&>(f));
        break;
      case ScanResult::need_more:  // a datagram never grows: skip this header and go on
        ++pos;
        ++skipped;
        break;
      case ScanResult::none:
        return skipped;
    }
  }
}

/// Reassembles packets from stream reads split anywhere. Every intact packet comes out once,
/// in order. It buffers at most one incomplete packet (bounded by the body limit), so memory per
/// stream is bounded whatever the peer sends.
class CLUSTER_API StreamDecoder {
 public:
  explicit StreamDecoder(std::size_t max_body = kStreamLimit) : max_body_(max_body) {}

  /// Feeds one read; calls on_frame(const Frame&) for each completed packet. Frames are views
  /// valid only during the callback.
  template <class OnFrame>
  void feed(std::string_view chunk, OnFrame&& on_frame) {
    if (buf_.empty()) {  // fast path: parse straight from the caller's bytes
      std::size_t pos = 0;
      drain(chunk, pos, on_frame);
      keep(chunk.substr(pos));
      return;
    }
    buf_.append(chunk.data(), chunk.size());
    std::size_t pos = 0;
    drain(buf_, pos, on_frame);
    buf_.erase(0, pos);
    release_spare();
  }

  /// Bytes held back waiting for the rest of a packet.
  std::size_t buffered() const noexcept { return buf_.size(); }
  /// Heap memory held for them: the buffer's capacity, 0 while it fits in the string object.
  std::size_t memory() const noexcept { return buf_.capacity() >= sizeof(std::string) ? buf_.capacity() : 0; }
  /// Bytes skipped as junk or damaged packets since construction.
  std::uint64_t skipped() const noexcept { return skipped_; }
  std::size_t max_body() const noexcept { return max_body_; }
  void reset() noexcept { buf_.clear(); }

 private:
  template <class OnFrame>
  void drain(std::string_view data, std::size_t& pos, OnFrame& on_frame) {
    Frame f;
    while (scan_frame(data, pos, max_body_, f, skipped_) == ScanResult::frame)
      on_frame(static_cast<const Frame&>(f));
  }
  void keep(std::string_view rest) {
    buf_.assign(rest.data(), rest.size());
    release_spare();
  }
  // erase() and assign() keep the capacity a burst grew to: give it back once the buffer holds
  // far less, or every stream that once saw a big packet holds its size for ever.
  void release_spare() {
    if (buf_.capacity() > kKeepCapacity && buf_.size() * 4 < buf_.capacity()) buf_.shrink_to_fit();
  }

  static constexpr std::size_t kKeepCapacity = 64 * 1024;

  std::string buf_;
  std::size_t max_body_;
  std::uint64_t skipped_ = 0;
};

}  // namespace cluster::bpacket
