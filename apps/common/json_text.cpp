#include "json_text.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Parser.h>

#include <sstream>

namespace clusterapp {

using Poco::Dynamic::Var;

JsonPtr object() { return new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER); }

JsonPtr ok_object() {
  JsonPtr o = object();
  o->set("ok", true);
  return o;
}

JsonPtr error_object(const std::string& message) {
  JsonPtr o = object();
  o->set("ok", false);
  o->set("error", utf8_safe(message));
  return o;
}

namespace {

// Length of the well-formed UTF-8 sequence at s[i], or 0.
std::size_t sequence_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c == 0xE0) { n = 3; lo = 0xA0; }
  else if (c == 0xED) { n = 3; hi = 0x9F; }  // no surrogates
  else if (c >= 0xE1 && c <= 0xEF) n = 3;
  else if (c == 0xF0) { n = 4; lo = 0x90; }
  else if (c >= 0xF1 && c <= 0xF3) n = 4;
  else if (c == 0xF4) { n = 4; hi = 0x8F; }
  else return 0;
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  return n;
}

}  // namespace

std::string utf8_safe(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    if (const std::size_t n = sequence_length(bytes, i); n > 0) {
      out.append(bytes.substr(i, n));
      i += n;
    } else {
      const auto c = static_cast<unsigned char>(bytes[i++]);
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

JsonArrayPtr string_array(const std::vector<std::string>& values) {
  JsonArrayPtr a = new Poco::JSON::Array;
  for (const auto& v : values) a->add(utf8_safe(v));
  return a;
}

std::string to_line(const JsonPtr& o) {
  std::ostringstream out;
  o->stringify(out);
  return out.str();
}

JsonPtr parse_object(std::string_view line) {
  Var v;
  try {
    // Keep the keys in the order they came, so an answer prints as the daemon built it.
    Poco::JSON::Parser parser(new Poco::JSON::ParseHandler(true));
    v = parser.parse(std::string(line));
  } catch (const Poco::Exception& e) {
    throw RequestError("not JSON: " + e.message());
  }
  if (v.type() != typeid(JsonPtr)) throw RequestError("not a JSON object");
  return v.extract<JsonPtr>();
}

namespace {

Var field(const JsonPtr& o, const std::string& key) { return o->has(key) ? o->get(key) : Var(); }

}  // namespace

std::string get_string(const JsonPtr& o, const std::string& key) {
  const Var v = field(o, key);
  if (v.isEmpty()) throw RequestError("'" + key + "' is missing");
  if (!v.isString()) throw RequestError("'" + key + "' must be a string");
  return v.extract<std::string>();
}

std::string get_string(const JsonPtr& o, const std::string& key, const std::string& fallback) {
  return o->has(key) && !o->isNull(key) ? get_string(o, key) : fallback;
}

std::vector<std::string> get_strings(const JsonPtr& o, const std::string& key) {
  if (!o->has(key) || o->isNull(key)) return {};
  JsonArrayPtr a = o->getArray(key);
  if (a.isNull()) throw RequestError("'" + key + "' must be an array of strings");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const Var v = a->get(static_cast<unsigned>(i));
    if (!v.isString()) throw RequestError("'" + key + "' must be an array of strings");
    out.push_back(v.extract<std::string>());
  }
  return out;
}

std::uint64_t get_uint(const JsonPtr& o, const std::string& key, std::uint64_t fallback) {
  const Var v = field(o, key);
  if (v.isEmpty()) return fallback;
  if (!v.isInteger() || v.isBoolean()) throw RequestError("'" + key + "' must be a non-negative integer");
  try {
    if (v.isSigned()) {
      const auto n = v.convert<Poco::Int64>();
      if (n < 0) throw RequestError("'" + key + "' must be a non-negative integer");
      return static_cast<std::uint64_t>(n);
    }
    return v.convert<Poco::UInt64>();
  } catch (const Poco::Exception&) {
    throw RequestError("'" + key + "' must be a non-negative integer");
  }
}

bool get_bool(const JsonPtr& o, const std::string& key, bool fallback) {
  const Var v = field(o, key);
  if (v.isEmpty()) return fallback;
  if (!v.isBoolean()) throw RequestError("'" + key + "' must be true or false");
  return v.extract<bool>();
}

}  // namespace clusterapp
