// Adapters for the plugin boundary: no exception may cross it (every Protocol, HookSet and init
// entry point is noexcept), so each of them runs its body through one of these, which turns an
// exception into what the boundary speaks: a failed Result, a log line, a fallback value, or
// init's false-plus-message. Write the body as if exceptions were fine (std::string, containers,
// std::function all may throw std::bad_alloc) and wrap it once:
//
//   Result start() noexcept override {
//     return sdk::guard("tcp: start", [&] { ...; return Result::success(); });
//   }
//   void close(ConnectionId conn) noexcept override {
//     sdk::guard_log(host_, "tcp: close", [&] { conns_->close(conn); });
//   }
//   bool init(sdk::Registrar& r, std::string& error) noexcept {
//     return sdk::guard_init("tcp", error, [&] { ...; return Result::success(); });
//   }
//
// Every adapter is noexcept itself, also when building the message runs out of memory (the
// message is then empty or the log line is dropped). They catch everything (catch (...)), so a
// thread-cancellation or foreign exception ends there too. They add no state and may be used on
// any thread; what the body may re-enter is the body's business.
#pragma once

#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "cluster/sdk/plugin.hpp"
#include "cluster/sdk/protocol.hpp"
#include "cluster/sdk/result.hpp"

namespace cluster::sdk {

/// The text of the exception being handled: what() of a std::exception, else "unknown
/// exception". Call it only inside a catch block (outside one it would terminate).
inline const char* current_exception_text() noexcept {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

/// "<what>: <exception text>" for the exception being handled; "" when even that cannot be built.
/// Inside a catch block only.
inline std::string exception_message(std::string_view what) noexcept {
  try {
    std::string m(what);
    m += ": ";
    m += current_exception_text();
    return m;
  } catch (...) {
    return {};
  }
}

/// Runs `fn` (which returns a Result) and returns its Result; an exception becomes
/// Result::failure("<what>: <exception text>"). For start(), send(), refresh(), attach()...
template <class Fn>
Result guard(std::string_view what, Fn&& fn) noexcept {
  static_assert(std::is_same_v<std::invoke_result_t<Fn>, Result>, "guard(): the body must return sdk::Result");
  try {
    return std::forward<Fn>(fn)();
  } catch (...) {
    return Result::failure(exception_message(what));
  }
}

/// Runs `fn` (which returns nothing); an exception is logged at error level through `host`
/// (anything with log(LogLevel, std::string_view) noexcept: ProtocolHost, HookSetHost, Registrar)
/// as "<what>: <exception text>". For the void entry points (close(), check(), peer_lost()...)
/// and for event-loop callbacks. Returns false when `fn` threw.
template <class Host, class Fn>
bool guard_log(Host& host, std::string_view what, Fn&& fn) noexcept {
  try {
    std::forward<Fn>(fn)();
    return true;
  } catch (...) {
    const std::string m = exception_message(what);
    host.log(LogLevel::error, m.empty() ? what : std::string_view(m));
    return false;
  }
}

/// Runs `fn` and returns its value, or `fallback` when it throws (the exception is dropped:
/// use it where nothing can be reported, e.g. props(), or where failing is harmless).
template <class T, class Fn>
T guard_or(T fallback, Fn&& fn) noexcept {
  static_assert(std::is_nothrow_move_constructible_v<T>, "guard_or(): T must move without throwing");
  try {
    return std::forward<Fn>(fn)();
  } catch (...) {
    return fallback;
  }
}

/// A plugin's init (CLUSTER_PLUGIN's INIT): runs `fn` (which returns a Result; it registers
/// through the Registrar it captured). A failure or an exception refuses the load: false, with
/// `error` set to the failure's message, or "<plugin>: init: <exception text>".
template <class Fn>
bool guard_init(std::string_view plugin, std::string& error, Fn&& fn) noexcept {
  try {
    Result r = std::forward<Fn>(fn)();
    if (r) return true;
    error = r.message();
  } catch (...) {
    try {
      error = exception_message(std::string(plugin) + ": init");
    } catch (...) {
    }
  }
  return false;
}

/// A ProtocolFactory making `P(host, args...)`, the args copied into the factory: hand it what
/// init parsed, so the protocol does not parse its config again. The host catches a factory that
/// throws (the protocol is then refused), so constructors may throw.
template <class P, class... Args>
ProtocolFactory protocol_factory(Args... args) {
  return [captured = std::make_tuple(std::move(args)...)](ProtocolHost& host) -> std::unique_ptr<Protocol> {
    return std::apply([&host](const auto&... a) { return std::make_unique<P>(host, a...); }, captured);
  };
}

/// A HookSetFactory making `H(host, args...)`, the args copied into the factory (see
/// protocol_factory).
template <class H, class... Args>
HookSetFactory hook_set_factory(Args... args) {
  return [captured = std::make_tuple(std::move(args)...)](HookSetHost& host) -> std::unique_ptr<HookSet> {
    return std::apply([&host](const auto&... a) { return std::make_unique<H>(host, a...); }, captured);
  };
}

}  // namespace cluster::sdk
