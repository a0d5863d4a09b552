// Throwaway certificates for the tls transport's tests, made at test time with OpenSSL's C API
// (no files in the repository, nothing that expires under the tests' feet): a CA, members it
// signs (optionally expired, optionally with a DNS name), and a foreign CA with its own members.
#pragma once

#include <string>

namespace cluster::test {

struct CertFiles {
  std::string cert;  ///< PEM certificate
  std::string key;   ///< PEM private key, mode 0600
};

class TestPki {
 public:
  /// Writes ca.pem (and its key, kept in memory) under `dir`, plus foreign-ca.pem.
  explicit TestPki(std::string dir);
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  struct Options {
    bool expired = false;    ///< valid from 2 days ago until yesterday
    bool foreign = false;    ///< signed by the foreign CA
    std::string dns;         ///< subjectAltName DNS entry, when not empty
  };
  /// A member certificate and key, written as <name>.pem and <name>.key.
  CertFiles member(const std::string& name, const Options& options);
  CertFiles member(const std::string& name) { return member(name, Options{}); }

  const std::string& ca() const { return ca_file_; }
  const std::string& foreign_ca() const { return foreign_ca_file_; }

 private:
  struct Authority;
  std::string dir_;
  Authority* ca_ = nullptr;
  Authority* foreign_ = nullptr;
  std::string ca_file_, foreign_ca_file_;
};

}  // namespace cluster::test
