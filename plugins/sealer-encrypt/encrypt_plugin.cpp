// cluster-encrypt.so: the `encrypt` packet sealer ([cluster] sealer = encrypt; [encrypt]
// keyring = FILE): AES-256-GCM over every packet body, a keyring managed at run time. The logic
// is in the static library cluster_encrypt (encrypt_sealer.hpp).
#include <cluster/sdk/boundary.hpp>

#include <iterator>
#include <memory>

#include "encrypt_sealer.hpp"

namespace {

namespace sdk = cluster::sdk;
namespace encrypt = cluster::encrypt;

bool init(sdk::Registrar& registrar, std::string& error) noexcept {
  return sdk::guard_init("encrypt", error, [&] {
    encrypt::Options options;
    if (sdk::Result r = encrypt::options_from(registrar.config(), options); !r) return r;
    registrar.add_sealer("encrypt", [options](sdk::SealerHost& host) -> std::unique_ptr<sdk::PacketSealer> {
      return std::make_unique<encrypt::EncryptSealer>(host, options);
    });
    return sdk::Result::success();
  });
}

}  // namespace

CLUSTER_PLUGIN_RANGED("encrypt", "1.0.0", "packet sealer encrypt: AES-256-GCM with a keyring file and replay windows",
                      encrypt::kKeys, std::size(encrypt::kKeys), encrypt::kRanges, std::size(encrypt::kRanges), init,
                      nullptr)
