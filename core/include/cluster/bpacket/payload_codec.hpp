// Fast encode/decode of the cluster payload (the hot path: no reflection, no per-packet lookups).
#pragma once

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

/// Like decode_payload, but after each field calls gate(const Payload& so_far, FieldId) and
/// stops (Errc::stopped) when it returns false: drop a packet for someone else after reading
/// its first field.
template <class Gate>
Status decode_payload(std::string_view body, Payload& p, Gate&& gate) {
  p.clear();
  return decode_body(body, Template::cluster(), [&](const FieldView& f) {
    assign_field(p, f);
    return static_cast<bool>(gate(static_cast<const Payload&>(p), static_cast<FieldId>(f.id)));
  });
}

/// Frames and decodes the first intact packet of a datagram. incomplete when there is none.
CLUSTER_API Status decode_datagram(std::string_view datagram, Payload& p,
                                   std::size_t max_body = kDatagramLimit);

}  // namespace cluster::bpacket
