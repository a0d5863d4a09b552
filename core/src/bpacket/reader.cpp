#include "cluster/bpacket/reader.hpp"

namespace cluster::bpacket {
namespace {

// Reads a length-prefixed byte run. `ok` false on error (status set).
inline Status read_bytes(const std::uint8_t*& p, const std::uint8_t* end, std::uint32_t id,
                         std::string_view& out) noexcept {
  std::uint64_t n = 0;
  if (Status s = read_varint(p, end, n); !s) return Status(s.code(), 0, id);
  if (n > static_cast<std::uint64_t>(end - p)) return Status(Errc::length_overrun, n, id);
  out = std::string_view(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
  p += n;
  return {};
}

inline std::uint64_t load_le(const std::uint8_t* p, int n) noexcept {
  std::uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

Status read_field(const std::uint8_t*& p, const std::uint8_t* end, const Template& t,
                  FieldView& f) noexcept {
  std::uint64_t id = 0;
  if (Status s = read_varint(p, end, id); !s) return s;
  const FieldSpec* spec = id <= Template::kMaxFieldId ? t.find(static_cast<std::uint32_t>(id))
                                                      : nullptr;
  if (spec == nullptr) return Status(Errc::unknown_field, id);
  f.id = static_cast<std::uint32_t>(id);
  f.spec = spec;
  switch (spec->type) {
    case FieldType::varint:
      if (Status s = read_varint(p, end, f.number); !s) return Status(s.code(), 0, f.id);
      return {};
    case FieldType::string:
    case FieldType::raw:
      return read_bytes(p, end, f.id, f.bytes);
    case FieldType::boolean:
      if (p == end) return Status(Errc::length_overrun, 1, f.id);
      f.number = *p++ != 0 ? 1 : 0;
      return {};
    case FieldType::list:
    case FieldType::dict: {
      std::uint64_t count = 0;
      if (Status s = read_varint(p, end, count); !s) return Status(s.code(), 0, f.id);
      // Each element needs at least one byte: a count past the end is rejected up front.
      if (count > static_cast<std::uint64_t>(end - p)) return Status(Errc::length_overrun, count, f.id);
      const std::uint8_t* start = p;
      std::string_view ignored;
      for (std::uint64_t i = 0; i < count; ++i)
        if (Status s = read_bytes(p, end, f.id, ignored); !s) return s;
      f.list = ListView(std::string_view(reinterpret_cast<const char*>(start),
                                         static_cast<std::size_t>(p - start)),
                        count);
      return {};
    }
    case FieldType::numlist: {
      std::uint64_t count = 0;
      if (Status s = read_varint(p, end, count); !s) return Status(s.code(), 0, f.id);
      if (count > static_cast<std::uint64_t>(end - p)) return Status(Errc::length_overrun, count, f.id);
      const std::uint8_t* start = p;
      std::uint64_t ignored = 0;
      for (std::uint64_t i = 0; i < count; ++i)
        if (Status s = read_varint(p, end, ignored); !s) return Status(s.code(), 0, f.id);
      f.number = count;
      f.bytes = std::string_view(reinterpret_cast<const char*>(start),
                                 static_cast<std::size_t>(p - start));
      return {};
    }
    case FieldType::flags: {
      std::uint64_t count = 0;
      if (Status s = read_varint(p, end, count); !s) return Status(s.code(), 0, f.id);
      if (count > static_cast<std::uint64_t>(end - p)) return Status(Errc::length_overrun, count, f.id);
      f.number = count;
      f.bytes = std::string_view(reinterpret_cast<const char*>(p), static_cast<std::size_t>(count));
      p += count;
      return {};
    }
    case FieldType::real: {
      if (p == end) return Status(Errc::length_overrun, 1, f.id);
      const std::uint8_t width = *p++;
      if (width > 1) return Status(Errc::bad_value, width, f.id);
      const int n = width == 0 ? 4 : 8;
      if (end - p < n) return Status(Errc::length_overrun, static_cast<std::uint64_t>(n), f.id);
      const std::uint64_t bits = load_le(p, n);
      p += n;
      f.real32 = width == 0;
      if (f.real32) {
        const auto u = static_cast<std::uint32_t>(bits);
        float v;
        std::memcpy(&v, &u, 4);
        f.real = static_cast<double>(v);
      } else {
        std::memcpy(&f.real, &bits, 8);
      }
      return {};
    }
  }
  return Status(Errc::bad_value, 0, f.id);
}

}  // namespace cluster::bpacket
