// One connection's TLS, as a StreamFilter (common/stream_filter.hpp) over two memory BIOs.
//
// Why memory BIOs rather than SSL on the socket: the socket side stays the shared
// StreamTransport's (non-blocking connect, write batching, output bounds, limits, re-entrancy),
// exactly as for tcp and unix; TLS is a pure byte transform with no socket state of its own (no
// SSL_ERROR_WANT_WRITE inside a read, no retry-with-the-same-buffer rule for SSL_write). The cost
// is one extra copy of each byte on each side, next to the encryption.
#pragma once

#include <openssl/ssl.h>

#include <string>

#include "stream_filter.hpp"
#include "tls_context.hpp"

namespace cluster::transport::tls {

class TlsSession final : public StreamFilter {
 public:
  /// Throws std::runtime_error when OpenSSL cannot allocate the connection.
  TlsSession(const Context& ctx, bool outbound);
  ~TlsSession() override;
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  bool ready() const noexcept override { return ready_; }
  bool open(std::string& wire, std::string& error) override;
  bool feed(std::string_view bytes, std::string& error) override;
  Status read(char* plain, std::size_t cap, std::size_t& got, std::string& wire, std::string& error) override;
  bool write(std::string_view plain, std::string& wire, std::string& error) override;
  void close(std::string& wire) noexcept override;

 private:
  /// Moves what OpenSSL wrote into `wire`.
  void drain(std::string& wire);
  /// Why the last call failed: the certificate check, else OpenSSL's error queue.
  std::string failure(int code);
  /// SSL_do_handshake; false with `error` when it failed.
  bool handshake(std::string& wire, std::string& error);

  Context ctx_;  ///< kept alive as long as the connection
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;   ///< bytes read from the socket (owned by ssl_)
  BIO* out_ = nullptr;  ///< bytes for the socket (owned by ssl_)
  bool ready_ = false;
};

}  // namespace cluster::transport::tls
