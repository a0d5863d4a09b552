// A byte transform between a stream connection's socket and the host (TLS, for "s"): bytes read
// from the socket go in and the host's plaintext comes out; the host's packets go in and bytes
// for the socket come out. StreamTransport owns one per connection when its options name a
// factory; tcp and unix have none, and their path through the transport is unchanged.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace cluster::transport {

class StreamFilter {
 public:
  enum class Status { more, closed, failed };

  virtual ~StreamFilter() = default;
  /// True once application bytes may flow (the handshake is done).
  virtual bool ready() const noexcept = 0;
  /// An outbound connection's first bytes (a TLS ClientHello), appended to `wire`.
  virtual bool open(std::string& wire, std::string& error) = 0;
  /// Takes bytes read from the socket.
  virtual bool feed(std::string_view bytes, std::string& error) = 0;
  /// Works through what was fed: appends what is owed to the peer (handshake, alerts) to `wire`
  /// and up to `cap` plaintext bytes to `plain` (`got`). `more`: call again while `got == cap`;
  /// `closed`: the peer ended the stream; `failed`: `error` says why. `got` bytes come first.
  virtual Status read(char* plain, std::size_t cap, std::size_t& got, std::string& wire, std::string& error) = 0;
  /// Seals `plain` (only once ready()), appending the bytes for the socket to `wire`.
  virtual bool write(std::string_view plain, std::string& wire, std::string& error) = 0;
  /// Appends a polite end of stream (TLS close_notify) to `wire`; best effort.
  virtual void close(std::string& wire) noexcept = 0;
};

/// Makes the filter of a new connection (`outbound`: we connected); may throw.
using StreamFilterFactory = std::function<std::unique_ptr<StreamFilter>(bool outbound)>;

}  // namespace cluster::transport
