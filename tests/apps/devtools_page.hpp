// One page open in headless chromium, driven through the DevTools protocol: the test reads the
// DOM of a page that stays open (dump-dom loads a fresh copy every time, so it cannot see live
// updates). Chromium and its profile live under a scratch folder; every wait is bounded.
#pragma once

#include <chrono>
#include <memory>
#include <string>

namespace Poco::Net {
class WebSocket;
}  // namespace Poco::Net

namespace clusterapp::test {

class Process;

class DevtoolsPage {
 public:
  /// Starts `chromium` (headless) on `url` and connects to that page once it has loaded.
  /// Throws std::runtime_error (with chromium's stderr) when that takes longer than `limit`.
  DevtoolsPage(const std::string& chromium, const std::string& url, const std::string& scratch,
               std::chrono::milliseconds limit = std::chrono::milliseconds(20000));
  /// Closes the connection, then chromium (SIGTERM, SIGKILL after 5 s).
  ~DevtoolsPage();
  DevtoolsPage(const DevtoolsPage&) = delete;
  DevtoolsPage& operator=(const DevtoolsPage&) = delete;

  /// Runtime.evaluate of a JavaScript expression in the page: its value, a string as is and
  /// anything else as JSON. Throws std::runtime_error when the script throws, or on no answer
  /// within 5 s.
  std::string evaluate(const std::string& expression);

 private:
  std::string scratch_;
  std::unique_ptr<Process> chromium_;
  std::unique_ptr<Poco::Net::WebSocket> socket_;
  int next_id_ = 0;

  void open(const std::string& chromium, const std::string& url, std::chrono::milliseconds limit);
  void stop();
  [[noreturn]] void fail(const std::string& why) const;
};

}  // namespace clusterapp::test
