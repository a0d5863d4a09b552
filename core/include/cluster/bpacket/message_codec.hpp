// bpacket for any protobuf message, through reflection: how a third party uses bpacket framing
// for its own schema. Slower than the cluster fast path; fine for tools and control traffic.
#pragma once

#include <string>
#include <string_view>

#include "cluster/bpacket/status.hpp"
#include "cluster/bpacket/template.hpp"

namespace google::protobuf {
class Message;
}

namespace cluster::bpacket {

/// Appends `m` as one framed packet (set fields in ascending number order). Throws
/// std::invalid_argument when the message type has no bpacket mapping (Template::from_descriptor).
CLUSTER_API void encode_message(const google::protobuf::Message& m, std::string& out);

/// Decodes a body into `m` (cleared first). Field ids unknown to the message are an error.
CLUSTER_API Status decode_message(std::string_view body, google::protobuf::Message& m);

}  // namespace cluster::bpacket
