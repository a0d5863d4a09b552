#include "tls_session.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <climits>
#include <stdexcept>

namespace cluster::transport::tls {

TlsSession::TlsSession(const Context& ctx, bool outbound) : ctx_(ctx) {
  ssl_ = SSL_new(ctx_.get());
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  if (ssl_ == nullptr || in_ == nullptr || out_ == nullptr) {
    BIO_free(in_);
    BIO_free(out_);
    SSL_free(ssl_);
    ssl_ = nullptr;
    throw std::runtime_error("tls: cannot allocate a connection: " + openssl_errors());
  }
  // An empty input BIO means "wait for more", not end of stream.
  BIO_set_mem_eof_return(in_, -1);
  SSL_set_bio(ssl_, in_, out_);
  if (outbound) SSL_set_connect_state(ssl_);
  else SSL_set_accept_state(ssl_);
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

void TlsSession::drain(std::string& wire) {
  const std::size_t pending = BIO_ctrl_pending(out_);
  if (pending == 0) return;
  const std::size_t old = wire.size();
  wire.resize(old + pending);
  const int n = BIO_read(out_, wire.data() + old, static_cast<int>(pending));
  wire.resize(old + static_cast<std::size_t>(n > 0 ? n : 0));
}

std::string TlsSession::failure(int code) {
  std::string why;
  if (const long v = SSL_get_verify_result(ssl_); v != X509_V_OK)
    why = std::string("certificate verify failed: ") + X509_verify_cert_error_string(v);
  else if (const unsigned long e = ERR_peek_last_error(); e != 0 && ERR_reason_error_string(e) != nullptr)
    why = ERR_reason_error_string(e);
  else if (code == SSL_ERROR_SYSCALL)
    why = "unexpected end of the TLS stream";
  else
    why = "TLS error " + std::to_string(code);
  ERR_clear_error();
  return why;
}

bool TlsSession::handshake(std::string& wire, std::string& error) {
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl_);
  drain(wire);
  if (r == 1) {
    ready_ = true;
    return true;
  }
  const int code = SSL_get_error(ssl_, r);
  if (code == SSL_ERROR_WANT_READ) return true;
  error = failure(code);
  return false;
}

bool TlsSession::open(std::string& wire, std::string& error) { return handshake(wire, error); }

bool TlsSession::feed(std::string_view bytes, std::string& error) {
  if (bytes.size() > INT_MAX || BIO_write(in_, bytes.data(), static_cast<int>(bytes.size())) != static_cast<int>(bytes.size())) {
    error = "cannot buffer " + std::to_string(bytes.size()) + " bytes: " + openssl_errors();
    return false;
  }
  return true;
}

StreamFilter::Status TlsSession::read(char* plain, std::size_t cap, std::size_t& got, std::string& wire,
                                      std::string& error) {
  got = 0;
  if (!ready_) {
    if (!handshake(wire, error)) return Status::failed;
    if (!ready_) return Status::more;
  }
  ERR_clear_error();
  while (got < cap) {
    std::size_t n = 0;
    const int r = SSL_read_ex(ssl_, plain + got, cap - got, &n);
    if (r == 1) {
      got += n;
      continue;
    }
    const int code = SSL_get_error(ssl_, r);
    drain(wire);  // e.g. an alert
    if (code == SSL_ERROR_WANT_READ) return Status::more;
    if (code == SSL_ERROR_ZERO_RETURN) return Status::closed;
    error = failure(code);
    return Status::failed;
  }
  drain(wire);
  return Status::more;
}

bool TlsSession::write(std::string_view plain, std::string& wire, std::string& error) {
  if (plain.empty()) return true;
  ERR_clear_error();
  std::size_t written = 0;
  // A memory BIO takes everything: one call seals the whole batch, in records of up to 16 KiB.
  const int r = SSL_write_ex(ssl_, plain.data(), plain.size(), &written);
  if (r != 1 || written != plain.size()) {
    error = failure(SSL_get_error(ssl_, r));
    return false;
  }
  drain(wire);
  return true;
}

void TlsSession::close(std::string& wire) noexcept {
  ERR_clear_error();
  if (ready_ && SSL_shutdown(ssl_) >= 0) {
    try {
      drain(wire);
    } catch (...) {  // out of memory: no close_notify, the peer sees the end of the stream
    }
  }
  ERR_clear_error();
}

}  // namespace cluster::transport::tls
