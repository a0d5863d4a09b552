// Reassembly of packets a reference (Tcl) member multicast in pieces. Its UDP channel is
// fully buffered (4096 bytes), so tcl-udp sends a packet larger than that as consecutive
// 4096-byte datagrams (10086 bytes: 4096 + 4096 + 1894); reference receivers glue them back in
// their stream buffer (PROTOCOL.md section 9). Here: a datagram that starts with a frame header
// whose length runs past its end is a first piece; the next datagrams from the same source
// (address and port) are appended until the announced length is there.
//
// Bounded: at most `max_packet` bytes per packet (a header announcing more starts nothing), at
// most `max_sources` sources at once (a new one evicts the oldest), and each packet must be
// complete within `max_age` of its first piece. Whatever is abandoned (timeout, eviction, a
// source that starts a new packet, a lost piece) is handed on as it is, so the core counts it
// as malformed instead of it vanishing. A datagram that is not a piece, from a source with
// nothing pending, goes straight through: the normal path costs a header check.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace cluster::transport {

class DatagramReassembler {
 public:
  using Clock = std::chrono::steady_clock;
  /// Receives what to decode: a datagram, a reassembled packet, or abandoned pieces, with
  /// the source they came from.
  using Deliver = std::function<void(std::uint64_t source, std::string_view bytes)>;

  struct Limits {
    std::size_t max_packet = 64 * 1024;            ///< header to footer inclusive
    std::size_t max_sources = 8;                   ///< packets being reassembled at once
    std::chrono::milliseconds max_age{1000};       ///< from the first piece to the last
  };

  DatagramReassembler() = default;
  explicit DatagramReassembler(Limits limits) : limits_(limits) {}

  /// One datagram from `source` (a key for its address and port).
  void feed(std::uint64_t source, std::string_view datagram, Clock::time_point now, const Deliver& deliver);
  /// Hands on (as abandoned) every packet older than max_age; feed() does it too.
  void expire(Clock::time_point now, const Deliver& deliver);

  std::size_t pending() const noexcept { return pending_.size(); }
  /// Whether a packet from `source` is being reassembled.
  bool holds(std::uint64_t source) const noexcept;
  std::uint64_t reassembled() const noexcept { return reassembled_; }
  std::uint64_t abandoned() const noexcept { return abandoned_; }

  /// The whole size (header to footer) a frame starting at data[0] announces; 0 when data does
  /// not start with a readable frame header.
  static std::size_t announced_size(std::string_view data) noexcept;

 private:
  struct Pending {
    std::uint64_t source = 0;
    std::size_t expected = 0;  ///< header to footer inclusive
    Clock::time_point started;
    std::string bytes;
  };

  bool is_first_piece(std::string_view datagram, std::size_t& expected) const noexcept;
  void abandon(std::size_t index, const Deliver& deliver);

  Limits limits_;
  std::vector<Pending> pending_;  ///< a few at most: a linear search beats a map
  std::uint64_t reassembled_ = 0;
  std::uint64_t abandoned_ = 0;
};

}  // namespace cluster::transport
