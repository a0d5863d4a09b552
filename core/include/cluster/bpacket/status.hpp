// Decoding results as values: every malformed input yields a Status, never UB or a hang.
#pragma once

#include <cstdint>
#include <string>

#include "cluster/export.hpp"

namespace cluster::bpacket {

enum class Errc : std::uint8_t {
  ok = 0,
  stopped,           ///< a visitor asked to stop early; not a defect of the input
  bad_header,        ///< does not start with C0 8D
  bad_footer,        ///< body not followed by 00 00
  incomplete,        ///< fewer bytes than the header announces
  truncated_varint,  ///< a varint runs past the end of its region
  varint_overflow,   ///< a varint does not fit 64 bits
  length_overrun,    ///< a string/raw/list length runs past the end of the body
  unknown_field,     ///< field id not in the template
  too_large,         ///< packet larger than the configured limit
  bad_value,         ///< a value the type cannot hold (e.g. float width byte not 0/1)
};

class CLUSTER_API Status {
 public:
  constexpr Status() noexcept = default;
  constexpr Status(Errc code, std::uint64_t detail = 0, std::uint32_t field = 0) noexcept
      : code_(code), field_(field), detail_(detail) {}

  constexpr bool ok() const noexcept { return code_ == Errc::ok; }
  constexpr explicit operator bool() const noexcept { return ok(); }
  constexpr Errc code() const noexcept { return code_; }
  /// Field id the error occurred in (0 when not inside a field).
  constexpr std::uint32_t field() const noexcept { return field_; }
  /// Extra number: the unknown field id, the announced length, the limit exceeded, ...
  constexpr std::uint64_t detail() const noexcept { return detail_; }
  /// One-line reason, e.g. "unknown field id 16" or "truncated varint (field 2)".
  std::string message() const;

 private:
  Errc code_ = Errc::ok;
  std::uint32_t field_ = 0;
  std::uint64_t detail_ = 0;
};

}  // namespace cluster::bpacket
