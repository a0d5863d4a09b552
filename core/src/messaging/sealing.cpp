// The cluster's side of the envelope: encoding for a protocol, checking what arrives (each
// refusal counted), the sealer's host services, and the keyring calls of the public API.
#include <stdexcept>

#include "cluster/impl.hpp"
#include "cluster/text.hpp"

namespace cluster {

sdk::EventLoop& SealerSlot::loop() noexcept { return *owner.loop_; }
void SealerSlot::log(sdk::LogLevel level, std::string_view message) noexcept { owner.log(level, message); }
const sdk::ClusterSettings& SealerSlot::settings() const noexcept { return owner.settings_; }

bool Cluster::Impl::encode_for(const ProtocolSlot& sl, const Payload& p, std::string& out) {
  if (envelope.encode(p, sl.lane, out)) return true;
  ++counters.send_failures;
  log(sdk::LogLevel::error, "the sealer failed to seal a type " + std::to_string(p.type.value_or(0)) + " packet");
  return false;
}

bool Cluster::Impl::open_envelope(std::string_view body, std::string_view& payload) {
  sdk::OpenStatus why = sdk::OpenStatus::ok;
  const Envelope::Open r = envelope.open(body, payload, why);
  std::string more;
  switch (r) {
    case Envelope::Open::ok:
      return true;
    case Envelope::Open::label:
      ++counters.dropped_label;
      // Two clusters on one group and port see each other's every packet: say it, once a minute.
      if (foreign_label_log.due(loop_->now(), more))
        log(sdk::LogLevel::notice, "dropped a packet of cluster label '" + escape_controls(std::string(Envelope::label_of(body))) +
                                       "' (ours: '" + envelope.label() + "')" + more);
      return false;
    case Envelope::Open::plain:
      ++counters.dropped_plain;
      if (unopened_log.due(loop_->now(), more))
        log(sdk::LogLevel::warning, "dropped a packet that is not sealed (we seal: a member without the sealer, or a "
                                    "downgrade attempt)" + more);
      return false;
    case Envelope::Open::unopened:
      ++counters.dropped_unopened;
      if (unopened_log.due(loop_->now(), more))
        log(sdk::LogLevel::warning, "dropped a sealed packet: " + std::string(sdk::open_status_name(why)) +
                                        (envelope.sealer() ? "" : " (we have no sealer)") + more);
      return false;
    case Envelope::Open::replay:
      ++counters.dropped_replay;
      // An attack, a clock out of sync, or packets reordered beyond the window: say it.
      if (replay_log.due(loop_->now(), more))
        log(sdk::LogLevel::warning, "dropped a sealed packet: " + std::string(sdk::open_status_name(why)) + more);
      return false;
    case Envelope::Open::malformed:
      break;
  }
  ++counters.dropped_malformed;
  return false;
}

void Cluster::Impl::start_sealer() {
  if (!opt.label.empty())
    if (const std::string why = Options::label_problem(opt.label); !why.empty())
      throw ConfigError("[cluster] label " + why);
  std::shared_ptr<sdk::PacketSealer> sealer;
  if (!opt.sealer.empty()) {
    if (!plugins || !plugins->has_sealer(opt.sealer))
      throw ConfigError("[cluster] sealer names '" + opt.sealer + "', but no loaded plugin provides it" +
                        (opt.sealer == "encrypt" ? " (load encrypt)" : ""));
    sealer_slot = std::make_unique<SealerSlot>(*this, plugins->sealer_config(opt.sealer));
    sealer = plugins->create_sealer(opt.sealer, *sealer_slot);
    if (!sealer) throw std::runtime_error("sealer '" + opt.sealer + "' could not be created");
    if (auto r = sealer->start(); !r) throw std::runtime_error("sealer '" + opt.sealer + "' failed to start: " + r.message());
  }
  envelope = Envelope(opt.label, std::move(sealer));
}

namespace {

sdk::Keyring& keyring_of(Cluster::Impl& impl) {
  sdk::PacketSealer* s = impl.envelope.sealer();
  if (s == nullptr) throw std::runtime_error("no sealer: keys need [cluster] sealer = encrypt (docs/security.md)");
  sdk::Keyring* k = s->keyring();
  if (k == nullptr) throw std::runtime_error("sealer '" + impl.opt.sealer + "' has no keyring");
  return *k;
}

void check(const sdk::Result& r) {
  if (!r) throw std::invalid_argument(r.message());
}

}  // namespace

void Cluster::install_key(const std::string& key) {
  impl_->on_loop([&] { check(keyring_of(*impl_).install(key)); });
}
void Cluster::use_key(const std::string& key) {
  impl_->on_loop([&] { check(keyring_of(*impl_).use(key)); });
}
void Cluster::remove_key(const std::string& key) {
  impl_->on_loop([&] { check(keyring_of(*impl_).remove(key)); });
}
std::vector<sdk::KeyInfo> Cluster::keys() const {
  return impl_->on_loop([&] { return keyring_of(*impl_).list(); });
}

}  // namespace cluster
