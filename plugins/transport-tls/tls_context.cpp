#include "tls_context.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "net.hpp"

namespace cluster::transport::tls {

using sdk::Result;

namespace {

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

/// The file exists and we can read it (OpenSSL's own messages do not say which file failed).
Result check_readable(const char* key, const std::string& path) {
  if (path.empty()) return Result::failure(std::string("tls: [tls] ") + key + " is required (a PEM file)");
  if (::access(path.c_str(), R_OK) != 0)
    return Result::failure(std::string("tls: [tls] ") + key + " '" + path + "': " + errno_text(errno));
  return Result::success();
}

Result file_failure(const char* key, const std::string& path, const std::string& what) {
  return Result::failure(std::string("tls: [tls] ") + key + " '" + path + "': " + what + ": " + openssl_errors());
}

}  // namespace

std::string openssl_errors() {
  std::string out;
  for (unsigned long e; (e = ERR_get_error()) != 0;) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown error" : out;
}

Result check_key_file(const std::string& path) {
  if (Result r = check_readable("key", path); !r) return r;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Result::failure("tls: [tls] key '" + path + "': " + errno_text(errno));
  if ((st.st_mode & 077) != 0)
    return Result::failure("tls: [tls] key '" + path + "' has mode " + octal_mode(st.st_mode) +
                           ": a private key must not be accessible to group or others (fix: chmod 600 " + path + ")");
  if (st.st_uid != ::geteuid())
    return Result::failure("tls: [tls] key '" + path + "' is owned by uid " + std::to_string(st.st_uid) +
                           ", not by this process (uid " + std::to_string(::geteuid()) + "): chown it, then chmod 600 " +
                           path);
  return Result::success();
}

Result make_context(const TlsFiles& files, Context& out) {
  ERR_clear_error();
  if (Result r = check_readable("cert", files.cert); !r) return r;
  if (Result r = check_key_file(files.key); !r) return r;
  if (Result r = check_readable("ca", files.ca); !r) return r;
  Context ctx(SSL_CTX_new(TLS_method()), ContextFree{});
  if (!ctx) return Result::failure("tls: cannot create an OpenSSL context: " + openssl_errors());
  SSL_CTX* c = ctx.get();
  if (SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) != 1)
    return Result::failure("tls: this OpenSSL cannot do TLS 1.3: " + openssl_errors());
  if (SSL_CTX_use_certificate_chain_file(c, files.cert.c_str()) != 1)
    return file_failure("cert", files.cert, "not a PEM certificate chain");
  if (SSL_CTX_use_PrivateKey_file(c, files.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    const bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
    return file_failure("key", files.key,
                        mismatch ? "does not match the certificate in '" + files.cert + "'" : "not a PEM private key");
  }
  if (SSL_CTX_check_private_key(c) != 1)
    return file_failure("key", files.key, "does not match the certificate in '" + files.cert + "'");
  if (X509* own = SSL_CTX_get0_certificate(c); own != nullptr && X509_cmp_current_time(X509_get0_notAfter(own)) < 0)
    return Result::failure("tls: [tls] cert '" + files.cert + "' has expired: every member would refuse it");
  if (SSL_CTX_load_verify_locations(c, files.ca.c_str(), nullptr) != 1)
    return file_failure("ca", files.ca, "not a PEM CA bundle");
  // Both sides present a certificate and verify the other's against the CA.
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  if (!files.verify_name.empty()) {
    X509_VERIFY_PARAM* param = SSL_CTX_get0_param(c);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_host(param, files.verify_name.c_str(), 0) != 1)
      return Result::failure("tls: [tls] verify_name '" + files.verify_name + "' is not a usable name: " +
                             openssl_errors());
  }
  // No resumption: members keep their connections, and tickets would be extra bytes after
  // every handshake.
  SSL_CTX_set_num_tickets(c, 0);
  SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  out = std::move(ctx);
  return Result::success();
}

}  // namespace cluster::transport::tls
