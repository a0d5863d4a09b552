// Builds one framed bpacket by appending fields in the order given.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "cluster/bpacket/frame.hpp"
#include "cluster/bpacket/varint.hpp"

namespace cluster::bpacket {

/// Appends a packet to `out`: construct, add fields, finish(). Field order is the caller's
/// (the reference writes Tcl dict order; the core writes filter first, then ascending ids).
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out), start_(out.size()) {
    // Header plus one byte reserved for the length; finish() widens it when needed.
    const char head[3] = {static_cast<char>(kHeader0), static_cast<char>(kHeader1), 0};
    out_.append(head, 3);
  }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  Writer& varint(std::uint32_t id, std::uint64_t v) {
    key(id);
    append_varint(out_, v);
    return *this;
  }
  Writer& string(std::uint32_t id, std::string_view s) {
    key(id);
    bytes(s);
    return *this;
  }
  Writer& raw(std::uint32_t id, std::string_view s) { return string(id, s); }
  Writer& boolean(std::uint32_t id, bool b) {
    key(id);
    out_.push_back(b ? '\1' : '\0');
    return *this;
  }
  /// list and dict: count, then each element as a string.
  template <class Range>
  Writer& list(std::uint32_t id, const Range& items) {
    key(id);
    append_varint(out_, static_cast<std::uint64_t>(std::size(items)));
    for (const auto& s : items) bytes(std::string_view(s));
    return *this;
  }
  template <class Range>
  Writer& numlist(std::uint32_t id, const Range& nums) {
    key(id);
    append_varint(out_, static_cast<std::uint64_t>(std::size(nums)));
    for (auto v : nums) append_varint(out_, static_cast<std::uint64_t>(v));
    return *this;
  }
  template <class Range>
  Writer& flags(std::uint32_t id, const Range& bits) {
    key(id);
    append_varint(out_, static_cast<std::uint64_t>(std::size(bits)));
    for (bool b : bits) out_.push_back(b ? '\1' : '\0');
    return *this;
  }
  /// bpacket "float": one byte 0 (32-bit) or 1 (64-bit), then the IEEE 754 bytes, little-endian.
  Writer& real(std::uint32_t id, double v, bool as32 = false);

  /// Writes the length and footer. Returns the size of the whole packet.
  std::size_t finish() {
    const std::size_t body = out_.size() - start_ - 3;
    const std::size_t n = varint_size(body);
    if (n > 1) out_.insert(start_ + 3, n - 1, '\0');
    write_varint(reinterpret_cast<std::uint8_t*>(&out_[start_ + 2]), body);
    out_.append(2, '\0');
    return out_.size() - start_;
  }

 private:
  void key(std::uint32_t id) { append_varint(out_, id); }
  void bytes(std::string_view s) {
    append_varint(out_, s.size());
    out_.append(s.data(), s.size());
  }
  std::string& out_;
  std::size_t start_;
};

inline Writer& Writer::real(std::uint32_t id, double v, bool as32) {
  key(id);
  out_.push_back(as32 ? '\0' : '\1');
  unsigned char b[8];
  std::size_t n = 8;
  if (as32) {
    const float f = static_cast<float>(v);
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    for (int i = 0; i < 4; ++i) b[i] = static_cast<unsigned char>(u >> (8 * i));
    n = 4;
  } else {
    std::uint64_t u;
    std::memcpy(&u, &v, 8);
    for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(u >> (8 * i));
  }
  out_.append(reinterpret_cast<const char*>(b), n);
  return *this;
}

}  // namespace cluster::bpacket
