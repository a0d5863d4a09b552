// Reassembly of multicast packets sent in pieces (reassembly.hpp).
#include "reassembly.hpp"

#include <limits>
#include <utility>

namespace cluster::transport {
namespace {

constexpr unsigned char kHeader0 = 0xC0;
constexpr unsigned char kHeader1 = 0x8D;
constexpr std::size_t kFooter = 2;

}  // namespace

std::size_t DatagramReassembler::announced_size(std::string_view data) noexcept {
  if (data.size() < 3 || static_cast<unsigned char>(data[0]) != kHeader0 ||
      static_cast<unsigned char>(data[1]) != kHeader1)
    return 0;
  // varint (LEB128) body length; anything past 2^48 is "too large", whatever it says exactly
  std::uint64_t body = 0;
  for (std::size_t i = 2, shift = 0; i < data.size() && i < 12; ++i, shift += 7) {
    const auto byte = static_cast<unsigned char>(data[i]);
    if (shift < 49) body |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    else if ((byte & 0x7f) != 0) return std::numeric_limits<std::size_t>::max();
    if ((byte & 0x80) == 0) {
      if (body > (std::uint64_t{1} << 48)) return std::numeric_limits<std::size_t>::max();
      return static_cast<std::size_t>(body) + (i + 1) + kFooter;
    }
  }
  return 0;  // the length does not end within the datagram (or within 10 bytes)
}

bool DatagramReassembler::is_first_piece(std::string_view datagram, std::size_t& expected) const noexcept {
  expected = announced_size(datagram);
  return expected > datagram.size() && expected <= limits_.max_packet;
}

bool DatagramReassembler::holds(std::uint64_t source) const noexcept {
  for (const Pending& p : pending_)
    if (p.source == source) return true;
  return false;
}

void DatagramReassembler::abandon(std::size_t index, const Deliver& deliver) {
  // Out of the table before handing on: the callback may reach back into us (a stop()).
  std::string bytes = std::move(pending_[index].bytes);
  const std::uint64_t source = pending_[index].source;
  pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(index));
  ++abandoned_;
  deliver(source, bytes);
}

void DatagramReassembler::expire(Clock::time_point now, const Deliver& deliver) {
  for (std::size_t i = 0; i < pending_.size();) {
    if (now - pending_[i].started > limits_.max_age) abandon(i, deliver);
    else ++i;
  }
}

void DatagramReassembler::feed(std::uint64_t source, std::string_view datagram, Clock::time_point now,
                               const Deliver& deliver) {
  if (!pending_.empty()) {
    expire(now, deliver);
    for (std::size_t i = 0; i < pending_.size(); ++i) {
      if (pending_[i].source != source) continue;
      // A datagram starting with a frame header of its own is a new packet: the rest of the
      // pending one was lost.
      if (announced_size(datagram) != 0) {
        abandon(i, deliver);
        break;
      }
      Pending& p = pending_[i];
      p.bytes.append(datagram.data(), datagram.size());
      if (p.bytes.size() >= p.expected) {
        std::string whole = std::move(p.bytes);
        pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
        ++reassembled_;
        deliver(source, whole);
      }
      return;
    }
  }
  std::size_t expected = 0;
  if (!is_first_piece(datagram, expected)) {
    deliver(source, datagram);
    return;
  }
  if (pending_.size() >= limits_.max_sources) abandon(0, deliver);  // the oldest
  pending_.push_back(Pending{source, expected, now, std::string(datagram)});
}

}  // namespace cluster::transport
