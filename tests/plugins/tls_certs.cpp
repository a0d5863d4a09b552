#include "tls_certs.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <stdexcept>
#include <tuple>

namespace cluster::test {

namespace {

long next_serial = 1;

EVP_PKEY* new_key() {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (k == nullptr) throw std::runtime_error("EVP_PKEY_Q_keygen failed");
  return k;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr || X509_add_ext(cert, ext, -1) != 1) throw std::runtime_error("cannot add a certificate extension");
  X509_EXTENSION_free(ext);
}

/// A certificate for `key`, signed by issuer/issuer_key (itself when null), valid from/to
/// the given offsets in seconds from now.
X509* make_cert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key, bool ca, long from, long to,
                const std::string& dns) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), next_serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), from);
  X509_gmtime_adj(X509_getm_notAfter(x), to);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer != nullptr ? issuer : x;
  add_ext(x, signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_ext(x, signer, NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  if (!ca) add_ext(x, signer, NID_ext_key_usage, "serverAuth,clientAuth");
  add_ext(x, signer, NID_subject_key_identifier, "hash");
  if (!dns.empty()) add_ext(x, signer, NID_subject_alt_name, ("DNS:" + dns).c_str());
  if (X509_sign(x, issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0)
    throw std::runtime_error("X509_sign failed");
  return x;
}

void write_cert(const std::string& path, X509* x) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr || PEM_write_X509(f, x) != 1) throw std::runtime_error("cannot write " + path);
  std::fclose(f);
}

void write_key(const std::string& path, EVP_PKEY* k) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr || PEM_write_PrivateKey(f, k, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    throw std::runtime_error("cannot write " + path);
  std::fclose(f);
  ::chmod(path.c_str(), 0600);
}

}  // namespace

struct TestPki::Authority {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  ~Authority() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

TestPki::TestPki(std::string dir) : dir_(std::move(dir)) {
  ca_ = new Authority;
  foreign_ = new Authority;
  for (auto [a, cn, file] : {std::tuple{ca_, "cluster test CA", &ca_file_}, {foreign_, "foreign CA", &foreign_ca_file_}}) {
    a->key = new_key();
    a->cert = make_cert(a->key, cn, nullptr, nullptr, true, -3600, 86400, "");
    *file = dir_ + (a == ca_ ? "/ca.pem" : "/foreign-ca.pem");
    write_cert(*file, a->cert);
  }
}

TestPki::~TestPki() {
  delete ca_;
  delete foreign_;
}

CertFiles TestPki::member(const std::string& name, const Options& options) {
  const Authority* by = options.foreign ? foreign_ : ca_;
  EVP_PKEY* key = new_key();
  X509* cert = options.expired ? make_cert(key, name, by->cert, by->key, false, -2 * 86400, -86400, options.dns)
                               : make_cert(key, name, by->cert, by->key, false, -3600, 86400, options.dns);
  CertFiles out{dir_ + "/" + name + ".pem", dir_ + "/" + name + ".key"};
  write_cert(out.cert, cert);
  write_key(out.key, key);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

}  // namespace cluster::test
