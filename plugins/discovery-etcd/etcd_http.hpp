// One HTTP/1.1 POST for etcd_client.cpp. Poco connects, writes the request and parses the
// response head; the body is read here, from the session's buffer and then the socket, with
// poll() against a deadline: Poco's body streams only know a per-recv timeout, and a timeout
// inside them loses the chunk state a watch needs to go on reading.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace cluster::etcd::detail {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// Lets another thread interrupt blocking socket calls: cancel() shuts every registered socket
/// down (a recv or poll blocked on it returns at once) and fails later registrations. A socket
/// leaves before it is closed, so a shut-down descriptor is never someone else's.
class Interrupt {
 public:
  void cancel() noexcept;
  void resume() noexcept;
  bool cancelled() const noexcept;
  bool enter(int fd);  ///< false when cancelled
  void leave(int fd) noexcept;

 private:
  mutable std::mutex m_;
  bool cancelled_ = false;
  std::vector<int> fds_;
};

class Session;

/// One request on one endpoint: the response head, then the body decoded as it arrives
/// (chunked, Content-Length, or up to the close). Every call throws on failure.
class Connection {
 public:
  /// `where`: endpoint and path, for messages. The socket registers with every interrupt.
  Connection(std::vector<std::shared_ptr<Interrupt>> interrupts, std::string where);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Connects (at most connect_timeout), POSTs `json` and reads the response head.
  void open(const std::string& host, std::uint16_t port, const std::string& path, const std::string& json,
            milliseconds connect_timeout, Clock::time_point deadline);
  /// Reads what arrives before `deadline` into `body`: true when something did (or the body
  /// ended), false on timeout.
  bool read_more(Clock::time_point deadline);
  /// Reads up to the end of the body (`one_line`: up to its first non-blank line).
  void read_reply(Clock::time_point deadline, bool one_line);

  const std::string& where() const { return where_; }
  int status() const { return status_; }
  const std::string& reason() const { return reason_; }
  bool ended() const { return state_ == St::done; }
  bool cancelled() const;

  std::string body;  ///< decoded, not consumed yet

 private:
  enum class Mode { chunked, length, close };
  enum class St { size, data, data_end, trailer, done };

  bool first_line_complete() const;
  bool framing_line(char c);
  void feed(const char* p, std::size_t n);

  std::vector<std::shared_ptr<Interrupt>> interrupts_;
  std::vector<std::shared_ptr<Interrupt>> entered_;
  std::string where_;
  std::unique_ptr<Session> session_;
  int fd_ = -1;
  int status_ = 0;
  std::string reason_;
  Mode mode_ = Mode::close;
  St state_ = St::size;
  std::uint64_t left_ = 0;  ///< bytes left: of the body (length) or of the chunk (chunked)
  std::string line_;        ///< chunk framing line being read
};

}  // namespace cluster::etcd::detail
