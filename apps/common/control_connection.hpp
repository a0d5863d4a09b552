// One client of the control socket: newline-delimited JSON requests in, one response line per
// request out (in order), or a stream of event lines after "watch". Runs on the cluster's loop.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "cluster/cluster.hpp"
#include "json_text.hpp"
#include "watch.hpp"

namespace clusterapp {

struct ControlLimits {
  std::size_t max_request = 64 * 1024;      ///< a longer request line: error, then close
  /// Unsent output beyond this: a watcher is closed; a client that sends requests without
  /// reading the answers is not read from until it catches up.
  std::size_t max_output = 4 * 1024 * 1024;
  std::size_t max_connections = 64;          ///< more clients get an error line and are closed
};

class ControlConnection : public std::enable_shared_from_this<ControlConnection> {
 public:
  /// Takes ownership of `fd` (non-blocking). `on_closed` runs once, when the connection closes.
  ControlConnection(cluster::Cluster& c, int fd, const ControlLimits& limits,
                    std::function<void(ControlConnection*)> on_closed);
  ~ControlConnection();
  ControlConnection(const ControlConnection&) = delete;
  ControlConnection& operator=(const ControlConnection&) = delete;

  /// Starts watching the fd. Loop thread.
  void start();
  /// Closes at once (pending output is dropped). Idempotent. Loop thread.
  void close() noexcept;
  bool closed() const noexcept { return closed_; }

 private:
  void on_ready(std::uint32_t ready);
  void read_some();
  void process();
  void handle(const std::string& line);
  void on_reply(const JsonPtr& response);
  void on_event(const JsonPtr& event);
  void fail(const std::string& message);
  void after_io();
  void flush();
  void update_interest();

  cluster::Cluster& cluster_;
  int fd_;
  ControlLimits limits_;
  std::function<void(ControlConnection*)> on_closed_;
  std::uint64_t watch_id_ = 0;
  std::uint32_t interest_ = 0;
  std::string in_, out_;
  std::unique_ptr<Watch> feed_;  ///< set after "watch"
  bool busy_ = false;            ///< a request is running (query): later lines wait
  bool processing_ = false;
  bool eof_ = false;             ///< the client will send no more
  bool closing_ = false;         ///< close once the output is sent
  bool closed_ = false;
};

}  // namespace clusterapp
