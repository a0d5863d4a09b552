#include "envelope.hpp"

#include "cluster/bpacket/payload_codec.hpp"
#include "cluster/bpacket/varint.hpp"

namespace cluster {
namespace {

constexpr char kMark[] = {'\0', 'C', 'L'};
constexpr std::size_t kFixed = sizeof kMark + 2;  // mark, flags, label length
constexpr unsigned char kSealed = 0x01;

/// The body of a framed packet (C0 8D | varint | body | 00 00) that encode_payload wrote.
std::string_view body_of(const std::string& framed) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(framed.data()) + 2;
  const auto* end = reinterpret_cast<const std::uint8_t*>(framed.data()) + framed.size();
  std::uint64_t len = 0;
  (void)bpacket::read_varint(p, end, len);  // our own encoder's output
  return {reinterpret_cast<const char*>(p), static_cast<std::size_t>(len)};
}

bool enveloped(std::string_view body) {
  return body.size() >= kFixed && body.compare(0, sizeof kMark, kMark, sizeof kMark) == 0;
}

}  // namespace

Envelope::Envelope(std::string label, std::shared_ptr<sdk::PacketSealer> sealer)
    : label_(std::move(label)), sealer_(std::move(sealer)), active_(!label_.empty() || sealer_ != nullptr) {
  header_.assign(kMark, sizeof kMark);
  header_.push_back(static_cast<char>(sealer_ ? kSealed : 0));
  header_.push_back(static_cast<char>(label_.size()));  // Options keeps it under 256 bytes
  header_ += label_;
}

std::size_t Envelope::overhead() const noexcept {
  if (!active_) return 0;
  // The header, its share of a longer length varint, and what sealing adds.
  return header_.size() + 2 + (sealer_ ? sealer_->overhead() : 0);
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
  std::string& wrapped = wrapped_;
  wrapped = header_;
  if (sealer_) {
    if (!sealer_->seal(header_, body, lane, wrapped)) return false;
  } else {
    wrapped.append(body.data(), body.size());
  }
  out.clear();
  out.reserve(wrapped.size() + 2 + bpacket::kMaxVarintBytes + 2);
  out.push_back(static_cast<char>(bpacket::kHeader0));
  out.push_back(static_cast<char>(bpacket::kHeader1));
  bpacket::append_varint(out, wrapped.size());
  out += wrapped;
  out.append(2, '\0');
  return true;
}

std::string_view Envelope::label_of(std::string_view body) noexcept {
  if (!enveloped(body)) return {};
  const std::size_t n = static_cast<unsigned char>(body[kFixed - 1]);
  if (body.size() < kFixed + n) return {};
  return body.substr(kFixed, n);
}

Envelope::Open Envelope::open(std::string_view body, std::string_view& payload, sdk::OpenStatus& status) {
  status = sdk::OpenStatus::ok;
  if (!enveloped(body)) {
    if (!label_.empty()) return Open::label;
    if (sealer_) return Open::plain;
    payload = body;
    return Open::ok;
  }
  const auto flags = static_cast<unsigned char>(body[sizeof kMark]);
  const std::size_t label_size = static_cast<unsigned char>(body[kFixed - 1]);
  if ((flags & ~kSealed) != 0 || body.size() < kFixed + label_size) return Open::malformed;
  if (body.compare(kFixed, label_size, label_) != 0) return Open::label;
  const std::string_view header = body.substr(0, kFixed + label_size);
  const std::string_view content = body.substr(header.size());
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
