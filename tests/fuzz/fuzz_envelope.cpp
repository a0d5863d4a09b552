// fuzz_envelope: what a member does with a body before decoding it, when it has a label or a
// sealer (core/src/messaging/envelope.*, the encrypt sealer). Checked:
//   - any input opens or is refused without a crash, by a labelled member, a sealing member and
//     a member with neither (which passes every non-envelope body through unchanged);
//   - an input sealed by encrypt (as a body, on a lane it picks) opens to itself exactly once,
//     is refused as replayed the second time, and with any one byte flipped is refused.
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "cluster/event_loop.hpp"
#include "encrypt_sealer.hpp"
#include "fuzz_check.hpp"
#include "messaging/envelope.hpp"

using cluster::Envelope;
using cluster::fuzz::check;
namespace sdk = cluster::sdk;

namespace {

struct Host final : sdk::SealerHost {
  cluster::EventLoop loop_;
  sdk::ClusterSettings settings_;
  sdk::PluginConfig config_;
  sdk::EventLoop& loop() noexcept override { return loop_; }
  void log(sdk::LogLevel, std::string_view) noexcept override {}
  const sdk::ClusterSettings& settings() const noexcept override { return settings_; }
  const sdk::PluginConfig& config() const noexcept override { return config_; }
};

struct World {
  Host host;
  std::shared_ptr<cluster::encrypt::EncryptSealer> sealer;
  std::unique_ptr<Envelope> labelled, sealing, plain;
  World() {
    char tmpl[] = "/tmp/fuzz-envelope.XXXXXX";
    const char* dir = ::mkdtemp(tmpl);
    if (dir == nullptr) cluster::fuzz::fail("mkdtemp");
    cluster::encrypt::Options o;
    o.keyring = std::string(dir) + "/keyring";
    o.persist = false;
    std::ofstream(o.keyring) << "3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhs=\n";
    ::chmod(o.keyring.c_str(), 0600);
    cluster::encrypt::Tuning t;
    t.now_ms = [] { return std::int64_t{1700000000000}; };  // one instant: nothing goes stale
    sealer = std::make_shared<cluster::encrypt::EncryptSealer>(host, o, t);
    check(static_cast<bool>(sealer->start()), "the sealer did not start");
    ::unlink(o.keyring.c_str());
    ::rmdir(dir);
    labelled = std::make_unique<Envelope>("fz", nullptr);
    sealing = std::make_unique<Envelope>("fz", sealer);
    plain = std::make_unique<Envelope>(std::string(), nullptr);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World w;
  const std::string_view input = cluster::fuzz::as_view(data, size);
  std::string_view payload;
  sdk::OpenStatus why;
  (void)w.labelled->open(input, payload, why);
  (void)w.sealing->open(input, payload, why);
  if (w.plain->open(input, payload, why) == Envelope::Open::ok && Envelope::label_of(input).empty() &&
      !(input.size() >= 7 && input.substr(0, 7) == std::string_view("\x0E\x01\x03\x01" "CL\x0B", 7)))
    check(payload == input, "a member with neither label nor sealer changed a plain body");

  // The input as a body, sealed on the lane its first byte names, with the aad of a label "fz".
  const std::string aad("\x01\x02" "fz", 4);
  const auto lane = static_cast<std::uint8_t>(size > 0 ? data[0] : 0);
  std::string sealed;
  check(w.sealer->seal(aad, input, lane, sealed), "seal failed");
  check(sealed.size() == input.size() + w.sealer->overhead(), "seal added other than overhead()");
  std::string body;
  check(w.sealer->open(aad, sealed, body) == sdk::OpenStatus::ok, "a sealed body did not open");
  check(body == input, "a sealed body opened to something else");
  check(w.sealer->open(aad, sealed, body) == sdk::OpenStatus::replayed, "a replay opened");
  const std::size_t at = size > 1 ? (static_cast<std::size_t>(data[1]) * 131u) % sealed.size() : 0;
  sealed[at] = static_cast<char>(sealed[at] ^ 0x01);
  check(w.sealer->open(aad, sealed, body) != sdk::OpenStatus::ok, "a flipped byte opened");
  check(body.empty(), "a refused packet left plaintext behind");
  return 0;
}
