#include "cluster/bpacket/frame.hpp"

#include <cstddef>
#include <cstring>

#include "cluster/bpacket/varint.hpp"

namespace cluster::bpacket {

ScanResult scan_frame(std::string_view data, std::size_t& pos, std::size_t max_body, Frame& out,
                      std::uint64_t& skipped) noexcept {
  const auto* base = reinterpret_cast<const std::uint8_t*>(data.data());
  const std::size_t size = data.size();
  while (pos < size) {
    // Find the next header byte pair.
    const void* hit = std::memchr(base + pos, kHeader0, size - pos);
    if (hit == nullptr) {
      skipped += size - pos;
      pos = size;
      return ScanResult::none;
    }
    const auto h = static_cast<std::size_t>(static_cast<const std::uint8_t*>(hit) - base);
    skipped += h - pos;
    pos = h;
    if (h + 1 == size) return ScanResult::none;  // a lone C0 at the end: may be half a header
    if (base[h + 1] != kHeader1) {
      ++pos;
      ++skipped;
      continue;
    }
    const std::uint8_t* p = base + h + 2;
    const std::uint8_t* end = base + size;
    std::uint64_t len = 0;
    const Status ls = read_varint(p, end, len);
    if (ls.code() == Errc::truncated_varint && end - (base + h + 2) < static_cast<std::ptrdiff_t>(kMaxVarintBytes))
      return ScanResult::need_more;
    if (!ls || len > max_body) {  // damaged or oversize header: resync after it
      ++pos;
      ++skipped;
      continue;
    }
    const auto body_at = static_cast<std::size_t>(p - base);
    if (len + 2 > size - body_at) return ScanResult::need_more;
    const std::size_t foot = body_at + static_cast<std::size_t>(len);
    if (base[foot] != 0 || base[foot + 1] != 0) {
      ++pos;
      ++skipped;
      continue;
    }
    out.packet = data.substr(h, foot + 2 - h);
    out.body = data.substr(body_at, static_cast<std::size_t>(len));
    pos = foot + 2;
    return ScanResult::frame;
  }
  return ScanResult::none;
}

}  // namespace cluster::bpacket
