// The tls transport's OpenSSL context, built once from the [tls] section at init: TLS 1.3
// only, our certificate chain and key, the CA bundle that signs members' certificates, and
// mutual verification (each side presents a certificate and checks the other's chain; with
// verify_name, also its DNS name / CN). Every problem with the files is a failure naming the
// file and the fix, never a crash (docs/transports.md, "tls").
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "cluster/sdk/result.hpp"

namespace cluster::transport::tls {

struct TlsFiles {
  std::string cert;         ///< PEM certificate chain (ours first)
  std::string key;          ///< PEM private key: mode 0600 or stricter, owned by us
  std::string ca;           ///< PEM CA bundle that signs members' certificates
  std::string verify_name;  ///< "" = the chain only; else the peer's certificate must name it
};

struct ContextFree {
  void operator()(SSL_CTX* ctx) const noexcept { SSL_CTX_free(ctx); }
};
using Context = std::shared_ptr<SSL_CTX>;

/// Refuses a private key file that others may read or that is not ours.
sdk::Result check_key_file(const std::string& path);

/// The context for `files`, or a failure naming the file at fault.
sdk::Result make_context(const TlsFiles& files, Context& out);

/// The text of OpenSSL's error queue (then cleared), "unknown error" when it is empty.
std::string openssl_errors();

}  // namespace cluster::transport::tls
