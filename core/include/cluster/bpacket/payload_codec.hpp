// Fast encode/decode of the cluster payload (the hot path: no reflection, no per-packet lookups).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cluster/bpacket/frame.hpp"
#include "cluster/bpacket/reader.hpp"
#include "cluster/payload.hpp"

namespace cluster::bpacket {

/// Appends `p` as one framed packet: `filter` first (so receivers can drop early), then the
/// other present fields in ascending id order.
CLUSTER_API void encode_payload(const Payload& p, std::string& out);

/// Stores one decoded cluster field into `p` (last duplicate wins).
CLUSTER_API void assign_field(Payload& p, const FieldView& f);

/// Decodes a body into `p` (cleared first; storage is reused).
CLUSTER_API Status decode_payload(std::string_view body, Payload& p);

namespace detail {
/// The fast path's step: reads one cluster field at p (advancing it) straight into `out` and
/// sets `field` to its id. Errors as read_field with Template::cluster(); on error the field
/// being read is left as it was.
CLUSTER_API Status read_payload_field(const std::uint8_t*& p, const std::uint8_t* end,
                                      Payload& out, std::uint32_t& field);
}  // namespace detail

/// Like decode_payload, but after each field calls gate(const Payload& so_far, FieldId) and
/// stops (Errc::stopped) when it returns false: drop a packet for someone else after reading
/// its first field.
template <class Gate>
Status decode_payload(std::string_view body, Payload& p, Gate&& gate) {
  p.clear();
  const auto* q = reinterpret_cast<const std::uint8_t*>(body.data());
  const auto* end = q + body.size();
  std::uint32_t id = 0;
  while (q < end) {
    if (Status s = detail::read_payload_field(q, end, p, id); !s) return s;
    if (!gate(static_cast<const Payload&>(p), static_cast<FieldId>(id)))
      return Status(Errc::stopped, 0, id);
  }
  return {};
}

/// Frames and decodes the first intact packet of a datagram. incomplete when there is none.
CLUSTER_API Status decode_datagram(std::string_view datagram, Payload& p,
                                   std::size_t max_body = kDatagramLimit);

}  // namespace cluster::bpacket
