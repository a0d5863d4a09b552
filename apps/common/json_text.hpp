// JSON for the control protocol: one compact object per line, built and parsed with Poco::JSON.
#pragma once

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace clusterapp {

using JsonPtr = Poco::JSON::Object::Ptr;
using JsonArrayPtr = Poco::JSON::Array::Ptr;

/// A bad request: a missing or mistyped field. what() is the one-line reason sent back.
class RequestError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// An empty object that keeps its keys in insertion order.
JsonPtr object();
/// {"ok": true}
JsonPtr ok_object();
/// {"ok": false, "error": message}
JsonPtr error_object(const std::string& message);

/// Text made safe for JSON: valid UTF-8 is kept; every byte of an invalid sequence becomes the
/// code point of the same value (U+0080..U+00FF, as if Latin-1).
std::string utf8_safe(std::string_view bytes);
JsonArrayPtr string_array(const std::vector<std::string>& values);

/// The object as one compact line (no trailing newline).
std::string to_line(const JsonPtr& o);
/// Parses one line holding a JSON object. Throws RequestError with a one-line reason.
JsonPtr parse_object(std::string_view line);

// Field access for requests and responses. Each throws RequestError naming the field.
std::string get_string(const JsonPtr& o, const std::string& key);
std::string get_string(const JsonPtr& o, const std::string& key, const std::string& fallback);
std::vector<std::string> get_strings(const JsonPtr& o, const std::string& key);
std::uint64_t get_uint(const JsonPtr& o, const std::string& key, std::uint64_t fallback);
bool get_bool(const JsonPtr& o, const std::string& key, bool fallback);

}  // namespace clusterapp
