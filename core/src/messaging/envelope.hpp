// The envelope: what the core puts around a packet body when this member has a cluster label or
// a sealer (docs/wire-format.md, "Envelope"). Without either, packets are the reference's,
// byte for byte.
//
//   body = 0E 01 03 01 'C' 'L'   -- field 14 filter = {"\x01CL"}
//          0B varint(len) raw    -- field 11 raw, to the end of the body
//   raw  = flags | len(label) | label | content
//   flags: bit 0 = content is sealed (else it is the payload body); other bits must be 0
//
// Why a filter: the reference decodes the fields it knows, sees a filter that names no member
// and drops the packet silently (any other marker, e.g. an unknown field id, makes it log an
// error for every packet). We tell an envelope from a payload by the 7-byte prefix alone. The
// label travels in clear (a member of another cluster is told apart without a key) and, sealed,
// flags and label are authenticated.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "cluster/payload.hpp"
#include "cluster/sdk/sealer.hpp"

namespace cluster {

class Envelope {
 public:
  /// Why a received body is refused (each maps to a counter), or `ok`.
  enum class Open : std::uint8_t {
    ok,
    label,      ///< another label (or none where we have one, or one where we have none)
    plain,      ///< not sealed, and we seal: a downgrade, refused
    unopened,   ///< sealed, and we cannot open it: no sealer, unknown key, forged
    replay,     ///< authentic but replayed or outside the time window
    malformed,  ///< an envelope that does not parse
  };

  /// `label`: [cluster] label ("" = none). `sealer` may be null.
  Envelope(std::string label, std::shared_ptr<sdk::PacketSealer> sealer);

  /// False: packets go out and come in as the reference's.
  bool active() const noexcept { return active_; }
  /// Bytes the envelope adds to a packet at most.
  std::size_t overhead() const noexcept;

  /// Encodes `p` as a framed packet into `out` (replacing it): plain when inactive, else
  /// enveloped and, with a sealer, sealed on `lane`. False when sealing failed.
  bool encode(const Payload& p, std::uint8_t lane, std::string& out);

  /// Checks a received frame body; on ok, `payload` views the payload body to decode (into
  /// `body` itself or into an internal buffer valid until the next open()). `status` says why
  /// a sealer refused (for logs) when the result is unopened or replay.
  Open open(std::string_view body, std::string_view& payload, sdk::OpenStatus& status);

  sdk::PacketSealer* sealer() const noexcept { return sealer_.get(); }
  const std::string& label() const noexcept { return label_; }
  /// The label of an enveloped body ("" for a plain one or an unparsable envelope), for logs.
  static std::string_view label_of(std::string_view body) noexcept;

 private:
  std::string label_;
  std::shared_ptr<sdk::PacketSealer> sealer_;
  bool active_ = false;
  std::string header_;   ///< our envelope header, flags included
  std::string scratch_;  ///< the encoded plain packet, before it is wrapped
  std::string wrapped_;  ///< the envelope body being sent
  std::string opened_;   ///< the last opened payload body
};

}  // namespace cluster
