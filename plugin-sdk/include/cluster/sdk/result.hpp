// Results that cross the plugin boundary: no exception ever does.
#pragma once

#include <string>
#include <utility>

namespace cluster::sdk {

class Result {
 public:
  static Result success() { return Result(); }
  static Result failure(std::string message) { return Result(std::move(message)); }
  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const std::string& message() const noexcept { return message_; }

 private:
  Result() = default;
  explicit Result(std::string m) : ok_(false), message_(std::move(m)) {}
  bool ok_ = true;
  std::string message_;
};

}  // namespace cluster::sdk
