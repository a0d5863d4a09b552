// One HTTP/1.1 POST for the etcd client (etcd_http.hpp).
#include "etcd_http.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <ostream>
#include <stdexcept>
#include <utility>

namespace cluster::etcd::detail {

namespace {

constexpr std::size_t kMaxBody = 16u << 20;  // a reply, or one watch message
constexpr std::size_t kMaxFramingLine = 256;

int ms_left(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, INT_MAX));
}

Poco::Timespan span(milliseconds ms) { return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(ms.count()) * 1000); }

[[noreturn]] void bad_chunking() { throw std::runtime_error("malformed chunked encoding"); }

}  // namespace

// ---- Interrupt ----

void Interrupt::cancel() noexcept {
  std::lock_guard<std::mutex> g(m_);
  cancelled_ = true;
  for (const int fd : fds_) ::shutdown(fd, SHUT_RDWR);
}

void Interrupt::resume() noexcept {
  std::lock_guard<std::mutex> g(m_);
  cancelled_ = false;
}

bool Interrupt::cancelled() const noexcept {
  std::lock_guard<std::mutex> g(m_);
  return cancelled_;
}

bool Interrupt::enter(int fd) {
  std::lock_guard<std::mutex> g(m_);
  if (cancelled_) return false;
  fds_.push_back(fd);
  return true;
}

void Interrupt::leave(int fd) noexcept {
  std::lock_guard<std::mutex> g(m_);
  fds_.erase(std::remove(fds_.begin(), fds_.end(), fd), fds_.end());
}

// ---- Connection ----

/// HTTPClientSession with raw reads: the bytes Poco buffered with the response head, then the socket.
class Session : public Poco::Net::HTTPClientSession {
 public:
  using HTTPClientSession::HTTPClientSession;
  int buffered_bytes() const { return buffered(); }
  int read_some(char* p, std::streamsize n) { return read(p, n); }
};

Connection::Connection(std::vector<std::shared_ptr<Interrupt>> interrupts, std::string where)
    : interrupts_(std::move(interrupts)), where_(std::move(where)) {}

Connection::~Connection() {
  for (auto& i : entered_) i->leave(fd_);  // before session_ closes the socket
}

bool Connection::cancelled() const {
  return std::any_of(interrupts_.begin(), interrupts_.end(), [](const auto& i) { return i->cancelled(); });
}

void Connection::open(const std::string& host, std::uint16_t port, const std::string& path, const std::string& json,
                      milliseconds connect_timeout, Clock::time_point deadline) {
  const int left = ms_left(deadline);
  if (left == 0) throw Poco::TimeoutException("no time left");
  session_ = std::make_unique<Session>(host, port);
  session_->setTimeout(span(std::min(connect_timeout, milliseconds(left))), span(milliseconds(left)),
                       span(milliseconds(left)));
  session_->setKeepAlive(false);
  Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_POST, path, Poco::Net::HTTPMessage::HTTP_1_1);
  req.setContentType("application/json");
  req.setContentLength(static_cast<std::streamsize>(json.size()));
  std::ostream& out = session_->sendRequest(req);  // connects: the one step no interrupt reaches
  fd_ = session_->socket().impl()->sockfd();
  for (auto& i : interrupts_) {
    if (!i->enter(fd_)) throw std::runtime_error("cancelled");
    entered_.push_back(i);
  }
  out << json;
  out.flush();
  if (!out) throw std::runtime_error("cannot send the request");
  Poco::Net::HTTPResponse resp;
  session_->receiveResponse(resp);
  status_ = static_cast<int>(resp.getStatus());
  reason_ = resp.getReason();
  if (resp.getChunkedTransferEncoding()) {
    mode_ = Mode::chunked;
  } else if (resp.hasContentLength()) {
    mode_ = Mode::length;
    left_ = static_cast<std::uint64_t>(std::max<Poco::Int64>(resp.getContentLength64(), 0));
    if (left_ == 0) state_ = St::done;
  } else {
    mode_ = Mode::close;
  }
}

bool Connection::read_more(Clock::time_point deadline) {
  if (ended()) return true;
  if (session_->buffered_bytes() == 0) {
    pollfd p{fd_, POLLIN, 0};
    int rc;
    do rc = ::poll(&p, 1, ms_left(deadline));
    while (rc < 0 && errno == EINTR);
    if (rc < 0) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    if (rc == 0) return false;
  }
  char buf[16384];
  const int n = session_->read_some(buf, sizeof buf);
  if (n <= 0) {
    if (cancelled()) throw std::runtime_error("cancelled");
    if (mode_ != Mode::close) throw std::runtime_error("connection closed mid-reply");
    state_ = St::done;
    return true;
  }
  feed(buf, static_cast<std::size_t>(n));
  if (body.size() > kMaxBody) throw std::runtime_error("reply larger than 16 MiB");
  return true;
}

void Connection::read_reply(Clock::time_point deadline, bool one_line) {
  while (!ended() && !(one_line && first_line_complete()))
    if (!read_more(deadline)) throw Poco::TimeoutException("no complete reply in time");
}

bool Connection::first_line_complete() const {
  for (std::size_t from = 0;;) {
    const auto nl = body.find('\n', from);
    if (nl == std::string::npos) return false;
    if (body.find_first_not_of(" \r\t", from) < nl) return true;
    from = nl + 1;
  }
}

bool Connection::framing_line(char c) {
  if (c == '\n') return true;
  if (c != '\r') line_ += c;
  if (line_.size() > kMaxFramingLine) bad_chunking();
  return false;
}

void Connection::feed(const char* p, std::size_t n) {
  if (mode_ == Mode::close) {
    body.append(p, n);
    return;
  }
  if (mode_ == Mode::length) {
    const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(left_, n));
    body.append(p, k);
    left_ -= k;
    if (left_ == 0) state_ = St::done;
    return;
  }
  for (std::size_t i = 0; i < n && state_ != St::done;) {
    if (state_ == St::data) {
      const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(left_, n - i));
      body.append(p + i, k);
      i += k;
      left_ -= k;
      if (left_ == 0) state_ = St::data_end;
      continue;
    }
    if (!framing_line(p[i++])) continue;
    const std::string line = std::exchange(line_, {});
    if (state_ == St::size) {
      const std::string hex = line.substr(0, line.find(';'));
      std::uint64_t size = 0;
      const auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), size, 16);
      if (hex.empty() || ec != std::errc() || end != hex.data() + hex.size()) bad_chunking();
      left_ = size;
      state_ = size == 0 ? St::trailer : St::data;
    } else if (state_ == St::data_end) {
      if (!line.empty()) bad_chunking();
      state_ = St::size;
    } else if (line.empty()) {  // St::trailer: an empty line ends it
      state_ = St::done;
    }
  }
}

}  // namespace cluster::etcd::detail
