#include "devtools_page.hpp"

#include <Poco/Buffer.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/WebSocket.h>

#include <csignal>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "process.hpp"

namespace clusterapp::test {
namespace {

using Clock = std::chrono::steady_clock;
using Poco::Net::HTTPRequest;
using Poco::Net::WebSocket;

Poco::Timespan until(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now()).count();
  return Poco::Timespan(left > 1000 ? left : 1000);
}

std::string json_string(const std::string& text) {
  std::ostringstream out;
  Poco::JSON::Stringifier::formatString(text, out);
  return out.str();
}

/// GET http://127.0.0.1:port/path, "" when it failed.
std::string get(int port, const std::string& path) {
  try {
    Poco::Net::HTTPClientSession s("127.0.0.1", static_cast<Poco::UInt16>(port));
    s.setTimeout(Poco::Timespan(2, 0));
    HTTPRequest req(HTTPRequest::HTTP_GET, path, Poco::Net::HTTPMessage::HTTP_1_1);
    s.sendRequest(req);
    Poco::Net::HTTPResponse res;
    std::istream& in = s.receiveResponse(res);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } catch (const Poco::Exception&) {
    return {};
  }
}

/// The path of the debugger socket of the page target showing `url` ("" while there is none).
std::string page_socket_path(int port, const std::string& url) {
  const std::string list = get(port, "/json/list");
  if (list.empty()) return {};
  try {
    auto targets = Poco::JSON::Parser().parse(list).extract<Poco::JSON::Array::Ptr>();
    for (unsigned i = 0; i < targets->size(); ++i) {
      auto t = targets->getObject(i);
      if (t->optValue<std::string>("type", "") != "page" || t->optValue<std::string>("url", "") != url) continue;
      const std::string ws = t->optValue<std::string>("webSocketDebuggerUrl", "");
      const auto slash = ws.find('/', std::string("ws://").size());
      return slash == std::string::npos ? std::string() : ws.substr(slash);
    }
  } catch (const Poco::Exception&) {
  }
  return {};
}

}  // namespace

DevtoolsPage::DevtoolsPage(const std::string& chromium, const std::string& url, const std::string& scratch,
                           std::chrono::milliseconds limit)
    : scratch_(scratch) {
  try {
    open(chromium, url, limit);
  } catch (...) {
    stop();
    throw;
  }
}

DevtoolsPage::~DevtoolsPage() { stop(); }

void DevtoolsPage::open(const std::string& chromium, const std::string& url, std::chrono::milliseconds limit) {
  const std::string profile = scratch_ + "/chromium-profile";
  // Port 0: chromium picks a free one and writes it to DevToolsActivePort in the profile.
  chromium_ = std::make_unique<Process>(
      std::vector<std::string>{chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                               "--remote-debugging-port=0", "--user-data-dir=" + profile, url},
      std::map<std::string, std::string>{}, scratch_ + "/chromium.out", scratch_ + "/chromium.err");
  const auto deadline = Clock::now() + limit;
  const auto pause = [&](const char* waiting_for) {
    if (!chromium_->running()) fail(std::string("chromium exited while waiting for ") + waiting_for);
    if (Clock::now() >= deadline) fail(std::string("timed out waiting for ") + waiting_for);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  };
  int port = 0;
  for (;;) {
    const std::string text = read_file(profile + "/DevToolsActivePort");
    if (text.find('\n') != std::string::npos) {  // complete once the port's line ends
      port = std::stoi(text);
      break;
    }
    pause("DevToolsActivePort");
  }
  std::string path;
  while ((path = page_socket_path(port, url)).empty()) pause("the page target");
  try {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(5, 0));
    HTTPRequest req(HTTPRequest::HTTP_GET, path, Poco::Net::HTTPMessage::HTTP_1_1);
    Poco::Net::HTTPResponse res;
    socket_ = std::make_unique<WebSocket>(session, req, res);
  } catch (const Poco::Exception& e) {
    fail("cannot open the DevTools socket " + path + ": " + e.displayText());
  }
  // The target may name `url` while its initial about:blank document is still there, itself
  // "complete": wait for the document of `url` to have loaded.
  const std::string loaded = "location.href === " + json_string(url) + " && document.readyState === 'complete'";
  while (evaluate(loaded) != "true") pause("the page to load");
}

void DevtoolsPage::stop() {
  if (socket_) {
    try {
      socket_->shutdown();
    } catch (const Poco::Exception&) {
    }
  }
  socket_.reset();
  if (!chromium_) return;
  chromium_->signal(SIGTERM);  // a clean exit takes its renderer and helpers with it
  chromium_->wait(std::chrono::milliseconds(5000));
  chromium_.reset();  // SIGKILL if it is still there
}

std::string DevtoolsPage::evaluate(const std::string& expression) {
  const int id = ++next_id_;
  Poco::JSON::Object params;
  params.set("expression", expression);
  params.set("returnByValue", true);
  Poco::JSON::Object call;
  call.set("id", id);
  call.set("method", std::string("Runtime.evaluate"));
  call.set("params", params);
  std::ostringstream out;
  call.stringify(out);
  const std::string text = out.str();
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  try {
    socket_->sendFrame(text.data(), static_cast<int>(text.size()), WebSocket::FRAME_TEXT);
    std::string message;
    // Events and other replies may come first: skip them (a bounded number, until the deadline).
    for (int frames = 0; frames < 10000 && Clock::now() < deadline; ++frames) {
      socket_->setReceiveTimeout(until(deadline));
      Poco::Buffer<char> buffer(0);
      int flags = 0;
      const int n = socket_->receiveFrame(buffer, flags);
      const int op = flags & WebSocket::FRAME_OP_BITMASK;
      if ((n == 0 && flags == 0) || op == WebSocket::FRAME_OP_CLOSE) fail("chromium closed the DevTools socket");
      if (op != WebSocket::FRAME_OP_TEXT && op != WebSocket::FRAME_OP_CONT) continue;
      message.append(buffer.begin(), buffer.size());
      if ((flags & WebSocket::FRAME_FLAG_FIN) == 0) continue;
      auto reply = Poco::JSON::Parser().parse(message).extract<Poco::JSON::Object::Ptr>();
      message.clear();
      if (reply->optValue<int>("id", -1) != id) continue;
      if (reply->has("error")) fail("Runtime.evaluate(" + expression + "): " + reply->get("error").toString());
      auto result = reply->getObject("result");
      if (result->has("exceptionDetails")) {
        std::ostringstream details;
        Poco::JSON::Stringifier::stringify(result->get("exceptionDetails"), details);
        fail("Runtime.evaluate(" + expression + ") threw: " + details.str());
      }
      const Poco::Dynamic::Var value = result->getObject("result")->get("value");
      if (value.isString()) return value.extract<std::string>();
      std::ostringstream json;
      Poco::JSON::Stringifier::stringify(value, json);
      return json.str();
    }
  } catch (const Poco::Exception& e) {
    fail("Runtime.evaluate(" + expression + "): " + e.displayText());
  }
  fail("Runtime.evaluate(" + expression + "): no answer within 5 s");
}

void DevtoolsPage::fail(const std::string& why) const {
  std::string err = read_file(scratch_ + "/chromium.err");
  if (err.size() > 2000) err = "..." + err.substr(err.size() - 2000);
  throw std::runtime_error("DevtoolsPage: " + why + "\nchromium's stderr (its end):\n" + err);
}

}  // namespace clusterapp::test
