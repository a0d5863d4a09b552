// What the core offers each protocol and hook set (sdk::ProtocolHost, sdk::HookSetHost): the
// entry of received bytes (counted, so what they cause waits until the read callback returned),
// connection state, counters and re-announcing changed props.
#include "cluster/bpacket/payload_codec.hpp"
#include "cluster/impl.hpp"

namespace cluster {

sdk::EventLoop& ProtocolSlot::loop() noexcept { return *owner.loop_; }
void ProtocolSlot::log(sdk::LogLevel level, std::string_view message) noexcept {
  owner.log(level, "[" + id + "] " + std::string(message));
}
const sdk::ClusterSettings& ProtocolSlot::settings() const noexcept { return owner.settings_; }
void ProtocolSlot::received(std::string_view bytes, const sdk::Origin& origin) noexcept {
  ++owner.receiving;
  traffic.bytes_received += bytes.size();
  try {
    owner.on_bytes(*this, bytes, origin);
  } catch (const std::exception& e) {
    owner.log(sdk::LogLevel::error, std::string("receive failed: ") + e.what());
  }
  --owner.receiving;
}
void ProtocolSlot::connection_closed(sdk::ConnectionId conn) noexcept {
  owner.forget_stream(*this, conn);
  bound.erase(conn);
}
void ProtocolSlot::count(sdk::StreamGuard what) noexcept {
  switch (what) {
    case sdk::StreamGuard::refused: ++owner.counters.conns_refused; break;
    case sdk::StreamGuard::evicted: ++owner.counters.conns_evicted; break;
    case sdk::StreamGuard::idle_closed: ++owner.counters.conns_idle_closed; break;
  }
}
void ProtocolSlot::props_changed() noexcept {
  owner.props_dirty = true;
  owner.announce_changes();
}

sdk::EventLoop& HookSetSlot::loop() noexcept { return *owner.loop_; }
void HookSetSlot::log(sdk::LogLevel level, std::string_view message) noexcept { owner.log(level, message); }
const sdk::ClusterSettings& HookSetSlot::settings() const noexcept { return owner.settings_; }
void HookSetSlot::encode(const Payload& payload, std::string& out) const noexcept {
  try {
    bpacket::encode_payload(payload, out);
  } catch (...) {
  }
}

}  // namespace cluster
