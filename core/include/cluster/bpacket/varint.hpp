// Unsigned LEB128 varints, as bpacket writes lengths, ids and numbers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "cluster/bpacket/status.hpp"

namespace cluster::bpacket {

inline constexpr std::size_t kMaxVarintBytes = 10;

constexpr std::size_t varint_size(std::uint64_t v) noexcept {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

/// Writes v at p (which must have room for varint_size(v) bytes); returns the end.
inline std::uint8_t* write_varint(std::uint8_t* p, std::uint64_t v) noexcept {
  while (v >= 0x80) {
    *p++ = static_cast<std::uint8_t>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<std::uint8_t>(v);
  return p;
}

inline void append_varint(std::string& out, std::uint64_t v) {
  std::uint8_t tmp[kMaxVarintBytes];
  const std::uint8_t* end = write_varint(tmp, v);
  out.append(reinterpret_cast<const char*>(tmp), static_cast<std::size_t>(end - tmp));
}

/// Reads a varint from [p, end). On success advances p. Errors: truncated_varint (ran out of
/// bytes), varint_overflow (more than 64 significant bits).
inline Status read_varint(const std::uint8_t*& p, const std::uint8_t* end,
                          std::uint64_t& out) noexcept {
  if (p < end && *p < 0x80) {  // the common one-byte case
    out = *p++;
    return {};
  }
  std::uint64_t v = 0;
  const std::uint8_t* q = p;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (q == end) return Status(Errc::truncated_varint);
    const std::uint8_t b = *q++;
    if (shift == 63 && b > 1) return Status(Errc::varint_overflow);
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if (b < 0x80) {
      out = v;
      p = q;
      return {};
    }
  }
  return Status(Errc::varint_overflow);
}

}  // namespace cluster::bpacket
