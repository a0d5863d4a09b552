// Zero-copy bpacket body decoding: a visitor sees each field in wire order and may stop early.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#include "cluster/bpacket/status.hpp"
#include "cluster/bpacket/template.hpp"
#include "cluster/bpacket/varint.hpp"

namespace cluster::bpacket {

/// Iterates the elements of a list/dict field as string_views. The region was validated when
/// the field was read, so iteration cannot fail.
class CLUSTER_API ListView {
 public:
  ListView() = default;
  ListView(std::string_view region, std::uint64_t count) : region_(region), count_(count) {}
  std::uint64_t size() const noexcept { return count_; }

  class iterator {
   public:
    iterator(const std::uint8_t* p, const std::uint8_t* end, std::uint64_t left)
        : p_(p), end_(end), left_(left) {
      load();
    }
    std::string_view operator*() const noexcept { return cur_; }
    iterator& operator++() noexcept {
      --left_;
      load();
      return *this;
    }
    bool operator!=(const iterator& o) const noexcept { return left_ != o.left_; }

   private:
    void load() noexcept {
      if (left_ == 0) return;
      std::uint64_t n = 0;
      (void)read_varint(p_, end_, n);  // validated already
      cur_ = std::string_view(reinterpret_cast<const char*>(p_), static_cast<std::size_t>(n));
      p_ += n;
    }
    const std::uint8_t* p_;
    const std::uint8_t* end_;
    std::uint64_t left_;
    std::string_view cur_;
  };
  iterator begin() const noexcept {
    const auto* p = reinterpret_cast<const std::uint8_t*>(region_.data());
    return {p, p + region_.size(), count_};
  }
  iterator end() const noexcept { return {nullptr, nullptr, 0}; }

 private:
  std::string_view region_;
  std::uint64_t count_ = 0;
};

/// One decoded field; views point into the body and live as long as it does.
struct FieldView {
  std::uint32_t id = 0;
  const FieldSpec* spec = nullptr;
  std::uint64_t number = 0;   ///< varint; boolean as 0/1; element count for numlist/flags
  std::string_view bytes;     ///< string/raw; numlist/flags: the encoded elements
  ListView list;              ///< list/dict elements
  double real = 0;            ///< real ("float")
  bool real32 = false;        ///< real was encoded as 32 bits

  FieldType type() const noexcept { return spec->type; }
  bool boolean() const noexcept { return number != 0; }
};

/// Reads one field at p (advancing it). Errors: unknown_field, truncated_varint,
/// varint_overflow, length_overrun, bad_value.
CLUSTER_API Status read_field(const std::uint8_t*& p, const std::uint8_t* end, const Template& t,
                              FieldView& out) noexcept;

/// Decodes a packet body (what lies between the length and the footer). `visit(const
/// FieldView&)` returns true to go on, false to stop (the result is then Errc::stopped).
template <class Visit>
Status decode_body(std::string_view body, const Template& t, Visit&& visit) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(body.data());
  const auto* end = p + body.size();
  FieldView f;
  while (p < end) {
    if (Status s = read_field(p, end, t, f); !s) return s;
    if (!visit(static_cast<const FieldView&>(f))) return Status(Errc::stopped, 0, f.id);
  }
  return {};
}

/// Iterates the elements of a numlist field.
template <class F>
void for_each_number(const FieldView& f, F&& fn) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(f.bytes.data());
  const auto* end = p + f.bytes.size();
  for (std::uint64_t i = 0; i < f.number; ++i) {
    std::uint64_t v = 0;
    (void)read_varint(p, end, v);  // validated already
    fn(v);
  }
}

}  // namespace cluster::bpacket
