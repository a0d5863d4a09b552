#include "envelope.hpp"

#include "cluster/bpacket/payload_codec.hpp"
#include "cluster/bpacket/varint.hpp"

namespace cluster {
namespace {

// filter (field 14) = {"\x01CL"}, then raw (field 11): the reference drops the packet silently at
// its filter check (no member is called that), without reading raw.
constexpr char kPrefix[] = {14, 1, 3, 1, 'C', 'L', 11};
constexpr unsigned char kSealed = 0x01;

/// The body of a framed packet (C0 8D | varint | body | 00 00) that encode_payload wrote.
std::string_view body_of(const std::string& framed) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(framed.data()) + 2;
  const auto* end = reinterpret_cast<const std::uint8_t*>(framed.data()) + framed.size();
  std::uint64_t len = 0;
  (void)bpacket::read_varint(p, end, len);  // our own encoder's output
  return {reinterpret_cast<const char*>(p), static_cast<std::size_t>(len)};
}

/// The raw field of an enveloped body (flags, label, content), or false when `body` is none.
bool raw_of(std::string_view body, std::string_view& raw) {
  if (body.size() < sizeof kPrefix || body.compare(0, sizeof kPrefix, kPrefix, sizeof kPrefix) != 0) return false;
  const auto* p = reinterpret_cast<const std::uint8_t*>(body.data()) + sizeof kPrefix;
  const auto* end = reinterpret_cast<const std::uint8_t*>(body.data()) + body.size();
  std::uint64_t len = 0;
  if (!bpacket::read_varint(p, end, len) || len != static_cast<std::uint64_t>(end - p)) {
    raw = {};  // a prefix without a well-formed raw to the end: malformed
    return true;
  }
  raw = {reinterpret_cast<const char*>(p), static_cast<std::size_t>(len)};
  return true;
}

}  // namespace

Envelope::Envelope(std::string label, std::shared_ptr<sdk::PacketSealer> sealer)
    : label_(std::move(label)), sealer_(std::move(sealer)), active_(!label_.empty() || sealer_ != nullptr) {
  header_.push_back(static_cast<char>(sealer_ ? kSealed : 0));
  header_.push_back(static_cast<char>(label_.size()));  // Options keeps it under 256 bytes
  header_ += label_;
}

std::size_t Envelope::overhead() const noexcept {
  if (!active_) return 0;
  // The prefix, raw's length, our header, a longer frame length, and what sealing adds.
  return sizeof kPrefix + 3 + header_.size() + 2 + (sealer_ ? sealer_->overhead() : 0);
}

bool Envelope::encode(const Payload& p, std::uint8_t lane, std::string& out) {
  if (!active_) {
    out.clear();
    bpacket::encode_payload(p, out);
    return true;
  }
  scratch_.clear();  // encode_payload appends
  bpacket::encode_payload(p, scratch_);
  const std::string_view body = body_of(scratch_);
  // Written straight into `out`: the sizes are known before sealing when the sealer adds
  // exactly overhead() (encrypt does); otherwise the frame is written again with the real size.
  const std::size_t sealed = body.size() + (sealer_ ? sealer_->overhead() : 0);
  const auto frame_up_to_raw = [&](std::size_t raw_size) {
    std::string len;
    bpacket::append_varint(len, raw_size);
    out.clear();
    out.reserve(2 + bpacket::kMaxVarintBytes + sizeof kPrefix + len.size() + raw_size + 2);
    out.push_back(static_cast<char>(bpacket::kHeader0));
    out.push_back(static_cast<char>(bpacket::kHeader1));
    bpacket::append_varint(out, sizeof kPrefix + len.size() + raw_size);
    out.append(kPrefix, sizeof kPrefix);
    out += len;
    return out.size();
  };
  const std::size_t predicted = header_.size() + sealed;
  const std::size_t raw_at = frame_up_to_raw(predicted);
  out += header_;
  if (sealer_) {
    if (!sealer_->seal(header_, body, lane, out)) return false;
  } else {
    out.append(body.data(), body.size());
  }
  if (out.size() - raw_at != predicted) {  // a sealer that added less than its overhead()
    wrapped_.assign(out, raw_at, std::string::npos);
    frame_up_to_raw(wrapped_.size());
    out += wrapped_;
  }
  out.append(2, '\0');
  return true;
}

std::string_view Envelope::label_of(std::string_view body) noexcept {
  std::string_view raw;
  if (!raw_of(body, raw) || raw.size() < 2) return {};
  const std::size_t n = static_cast<unsigned char>(raw[1]);
  return raw.size() < 2 + n ? std::string_view() : raw.substr(2, n);
}

Envelope::Open Envelope::open(std::string_view body, std::string_view& payload, sdk::OpenStatus& status) {
  status = sdk::OpenStatus::ok;
  std::string_view raw;
  if (!raw_of(body, raw)) {
    if (!label_.empty()) return Open::label;
    if (sealer_) return Open::plain;
    payload = body;
    return Open::ok;
  }
  if (raw.size() < 2) return Open::malformed;
  const auto flags = static_cast<unsigned char>(raw[0]);
  const std::size_t label_size = static_cast<unsigned char>(raw[1]);
  if ((flags & ~kSealed) != 0 || raw.size() < 2 + label_size) return Open::malformed;
  if (raw.compare(2, label_size, label_) != 0) return Open::label;
  const std::string_view header = raw.substr(0, 2 + label_size);
  const std::string_view content = raw.substr(header.size());
  if ((flags & kSealed) == 0) {
    if (sealer_) return Open::plain;
    payload = content;
    return Open::ok;
  }
  if (!sealer_) {
    status = sdk::OpenStatus::unknown_key;
    return Open::unopened;
  }
  status = sealer_->open(header, content, opened_);
  switch (status) {
    case sdk::OpenStatus::ok:
      payload = opened_;
      return Open::ok;
    case sdk::OpenStatus::stale:
    case sdk::OpenStatus::replayed:
      return Open::replay;
    case sdk::OpenStatus::malformed:
    case sdk::OpenStatus::unknown_key:
    case sdk::OpenStatus::forged:
      break;
  }
  return Open::unopened;
}

}  // namespace cluster
