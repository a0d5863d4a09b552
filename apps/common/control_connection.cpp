#include "control_connection.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "commands.hpp"

namespace clusterapp {

namespace sdk = cluster::sdk;

ControlConnection::ControlConnection(cluster::Cluster& c, int fd, const ControlLimits& limits,
                                     std::function<void(ControlConnection*)> on_closed)
    : cluster_(c), fd_(fd), limits_(limits), on_closed_(std::move(on_closed)) {}

ControlConnection::~ControlConnection() {
  if (fd_ >= 0) ::close(fd_);
}

void ControlConnection::start() {
  auto self = shared_from_this();
  interest_ = sdk::readable;
  // The loop's watch holds the connection; close() unwatches, which lets it go.
  watch_id_ = cluster_.loop().watch(fd_, interest_, [self](std::uint32_t ready) { self->on_ready(ready); });
  if (watch_id_ == 0) close();
}

void ControlConnection::close() noexcept {
  if (closed_) return;
  closed_ = true;
  if (watch_id_ != 0) cluster_.loop().unwatch(watch_id_);
  watch_id_ = 0;
  feed_.reset();
  ::close(fd_);
  fd_ = -1;
  in_.clear();
  out_.clear();
  if (on_closed_) on_closed_(this);
}

void ControlConnection::on_ready(std::uint32_t ready) {
  if (closed_) return;
  auto self = shared_from_this();
  if (ready & (sdk::error | sdk::hangup)) {  // the client is gone for good
    close();
    return;
  }
  if (ready & sdk::readable) {
    read_some();
    if (closed_) return;
  }
  process();  // also after a write made room for more answers
  after_io();
}

void ControlConnection::read_some() {
  char buf[16384];
  // A few reads per turn keep the callback short; the loop calls again while data is left.
  for (int i = 0; i < 8 && !eof_ && in_.size() <= limits_.max_request; ++i) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      in_.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      eof_ = true;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else {
      close();
      return;
    }
  }
}

void ControlConnection::process() {
  if (processing_) return;
  processing_ = true;
  // Unanswered output beyond the limit (a client that sends but does not read): wait.
  while (!closed_ && !closing_ && !busy_ && !feed_ && out_.size() <= limits_.max_output) {
    std::string line;
    const auto nl = in_.find('\n');
    if (nl == std::string::npos || nl > limits_.max_request) {
      if (in_.size() > limits_.max_request) {
        fail("request longer than " + std::to_string(limits_.max_request) + " bytes");
        break;
      }
      if (!eof_ || in_.empty()) break;
      line.swap(in_);  // the last request may lack its newline
    } else {
      line = in_.substr(0, nl);
      in_.erase(0, nl + 1);
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    handle(line);
  }
  if (feed_) in_.clear();  // a watcher's input is ignored
  processing_ = false;
}

void ControlConnection::handle(const std::string& line) {
  JsonPtr request;
  std::string cmd;
  try {
    request = parse_object(line);
    cmd = get_string(request, "cmd");
  } catch (const RequestError& e) {
    out_ += to_line(error_object(e.what())) + "\n";
    return;
  }
  std::weak_ptr<ControlConnection> weak = shared_from_this();
  if (cmd == "watch") {
    try {
      feed_ = std::make_unique<Watch>(cluster_, [weak](JsonPtr event) {
        if (auto self = weak.lock()) self->on_event(event);
      });
    } catch (const std::exception& e) {
      out_ += to_line(error_object(std::string("cannot watch: ") + e.what())) + "\n";
      return;
    }
    JsonPtr ok = ok_object();
    ok->set("watching", true);
    out_ += to_line(ok) + "\n";
    return;
  }
  busy_ = true;
  execute(cluster_, request, [weak](JsonPtr response) {
    if (auto self = weak.lock()) self->on_reply(response);
  });
}

void ControlConnection::on_reply(const JsonPtr& response) {
  if (closed_) return;
  busy_ = false;
  out_ += to_line(response) + "\n";
  if (processing_) return;  // answered inside handle(): process() goes on by itself
  // A later answer (query): go on with the requests that waited, then write.
  auto self = shared_from_this();
  process();
  after_io();
}

void ControlConnection::on_event(const JsonPtr& event) {
  if (closed_ || closing_) return;
  out_ += to_line(event) + "\n";
  if (out_.size() > limits_.max_output) {
    // The watcher does not read. We are inside a hook: close from the loop, not from here.
    closing_ = true;
    out_.clear();
    std::weak_ptr<ControlConnection> weak = shared_from_this();
    cluster_.loop().post([weak] {
      if (auto self = weak.lock()) self->close();
    });
    return;
  }
  update_interest();  // written when the socket is writable (never from inside the hook)
}

void ControlConnection::fail(const std::string& message) {
  out_ += to_line(error_object(message)) + "\n";
  closing_ = true;
  in_.clear();
}

void ControlConnection::after_io() {
  if (closed_) return;
  flush();
  if (closed_) return;
  const bool finished = closing_ || (eof_ && (feed_ || (!busy_ && in_.empty())));
  if (finished && (out_.empty() || feed_)) {
    close();
    return;
  }
  update_interest();
}

void ControlConnection::flush() {
  while (!out_.empty()) {
    const ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n > 0) {
      out_.erase(0, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    } else {
      close();
      return;
    }
  }
}

void ControlConnection::update_interest() {
  if (closed_) return;
  std::uint32_t want = 0;
  if (!eof_ && !closing_ && in_.size() <= limits_.max_request && (feed_ || out_.size() <= limits_.max_output))
    want |= sdk::readable;
  // Requests left over (processing stopped at the output limit): come back when writable,
  // which is at once, so each turn answers one batch.
  const bool pending = !busy_ && !feed_ && !closing_ && (in_.find('\n') != std::string::npos || (eof_ && !in_.empty()));
  if (!out_.empty() || pending) want |= sdk::writable;
  if (want != interest_) {
    interest_ = want;
    cluster_.loop().modify(watch_id_, want);
  }
}

}  // namespace clusterapp
