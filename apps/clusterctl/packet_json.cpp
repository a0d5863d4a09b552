#include "packet_json.hpp"

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "cluster/tcl.hpp"
#include "cluster/text.hpp"

namespace clusterctl {

using namespace cluster::bpacket;
using Poco::Dynamic::Var;

namespace {

void json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += "\\u00";
          out.push_back(hex[u >> 4]);
          out.push_back(hex[u & 15]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

// Text as a JSON string; bytes that are not UTF-8 as {"bytes_hex": "..."}.
void json_text(std::string& out, std::string_view s) {
  if (cluster::is_utf8(s)) {
    json_string(out, s);
  } else {
    out += "{\"bytes_hex\": ";
    json_string(out, cluster::to_hex(s));
    out.push_back('}');
  }
}

void json_value(std::string& out, const FieldSpec& spec, const Value& v) {
  switch (spec.type) {
    case FieldType::varint: out += std::to_string(std::get<std::uint64_t>(v)); break;
    case FieldType::string: json_text(out, std::get<std::string>(v)); break;
    case FieldType::raw: json_string(out, cluster::to_hex(std::get<std::string>(v))); break;
    case FieldType::boolean: out += std::get<bool>(v) ? "true" : "false"; break;
    case FieldType::list: {
      out.push_back('[');
      bool first = true;
      for (const auto& s : std::get<std::vector<std::string>>(v)) {
        if (!first) out += ", ";
        first = false;
        json_text(out, s);
      }
      out.push_back(']');
      break;
    }
    case FieldType::dict: {
      out.push_back('{');
      const auto& vals = std::get<std::vector<std::string>>(v);
      for (std::size_t i = 0; i < vals.size(); ++i) {
        if (i != 0) out += ", ";
        json_string(out, i < spec.dict_keys.size() ? spec.dict_keys[i] : "_" + std::to_string(i));
        out += ": ";
        json_text(out, vals[i]);
      }
      out.push_back('}');
      break;
    }
    case FieldType::numlist: {
      out.push_back('[');
      bool first = true;
      for (auto n : std::get<std::vector<std::uint64_t>>(v)) {
        if (!first) out += ", ";
        first = false;
        out += std::to_string(n);
      }
      out.push_back(']');
      break;
    }
    case FieldType::flags: {
      out.push_back('[');
      bool first = true;
      for (bool b : std::get<std::vector<bool>>(v)) {
        if (!first) out += ", ";
        first = false;
        out += b ? "true" : "false";
      }
      out.push_back(']');
      break;
    }
    case FieldType::real: out += Var(std::get<Real>(v).value).convert<std::string>(); break;
  }
}

[[noreturn]] void bad(const FieldSpec& s, const std::string& why) {
  throw std::runtime_error("field '" + s.name + "': " + why);
}

std::string text_from(const FieldSpec& s, const Var& v) {
  if (v.isString()) return v.extract<std::string>();
  if (v.type() == typeid(Poco::JSON::Object::Ptr)) {
    auto obj = v.extract<Poco::JSON::Object::Ptr>();
    if (obj->has("bytes_hex")) {
      auto bytes = cluster::from_hex(obj->getValue<std::string>("bytes_hex"));
      if (!bytes) bad(s, "bytes_hex is not hex");
      return *bytes;
    }
  }
  bad(s, "expected a string");
}

std::uint64_t number_from(const FieldSpec& s, const Var& v) {
  if (v.isString()) bad(s, "expected a number, got a string");
  if (!v.isNumeric()) bad(s, "expected a non-negative integer");
  if (v.type() == typeid(Poco::UInt64)) return v.extract<Poco::UInt64>();
  if (v.isInteger()) {
    const auto i = v.convert<Poco::Int64>();
    if (i < 0) bad(s, "negative numbers have no bpacket encoding");
    return static_cast<std::uint64_t>(i);
  }
  const double d = v.convert<double>();
  if (d < 0 || d != std::floor(d) || d >= 18446744073709551616.0) bad(s, "expected a non-negative integer");
  return static_cast<std::uint64_t>(d);
}

Poco::JSON::Array::Ptr array_from(const FieldSpec& s, const Var& v) {
  if (v.type() != typeid(Poco::JSON::Array::Ptr)) bad(s, "expected an array");
  return v.extract<Poco::JSON::Array::Ptr>();
}

Value value_from(const FieldSpec& s, const Var& v) {
  switch (s.type) {
    case FieldType::varint: return number_from(s, v);
    case FieldType::string: return text_from(s, v);
    case FieldType::raw: {
      if (!v.isString()) bad(s, "expected a hex string");
      auto bytes = cluster::from_hex(v.extract<std::string>());
      if (!bytes) bad(s, "expected a hex string");
      return *bytes;
    }
    case FieldType::boolean:
      if (v.isBoolean()) return v.extract<bool>();
      if (v.isInteger()) return v.convert<Poco::Int64>() != 0;
      bad(s, "expected true or false");
    case FieldType::list: {
      std::vector<std::string> items;
      if (v.isString()) {  // as the reference encoder does: a string is read as a Tcl list
        std::string err;
        if (!cluster::tcl::parse_list(v.extract<std::string>(), items, &err)) bad(s, err);
        return items;
      }
      for (const auto& e : *array_from(s, v)) items.push_back(text_from(s, e));
      return items;
    }
    case FieldType::dict: {
      if (v.type() != typeid(Poco::JSON::Object::Ptr)) bad(s, "expected an object");
      auto obj = v.extract<Poco::JSON::Object::Ptr>();
      std::vector<std::string> vals;
      for (const auto& key : s.dict_keys)
        vals.push_back(obj->has(key) ? text_from(s, obj->get(key)) : std::string());
      return vals;
    }
    case FieldType::numlist: {
      std::vector<std::uint64_t> nums;
      for (const auto& e : *array_from(s, v)) nums.push_back(number_from(s, e));
      return nums;
    }
    case FieldType::flags: {
      std::vector<bool> bits;
      for (const auto& e : *array_from(s, v)) {
        if (!e.isBoolean()) bad(s, "expected an array of booleans");
        bits.push_back(e.extract<bool>());
      }
      return bits;
    }
    case FieldType::real:
      if (!v.isNumeric()) bad(s, "expected a number");
      return Real{v.convert<double>(), false};
  }
  bad(s, "unsupported type");
}

}  // namespace

std::string fields_to_json(const FieldList& fields) {
  std::string out = "{\"fields\": [";
  bool first = true;
  for (const auto& nv : fields) {
    if (!first) out += ", ";
    first = false;
    out.push_back('[');
    json_string(out, nv.spec->name);
    out += ", ";
    json_value(out, *nv.spec, nv.value);
    out.push_back(']');
  }
  out += "]}";
  return out;
}

FieldList fields_from_json(std::string_view json, const Template& t) {
  Var root;
  try {
    Poco::JSON::Parser parser;
    root = parser.parse(std::string(json));
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("invalid JSON: " + e.displayText());
  }
  if (root.type() != typeid(Poco::JSON::Object::Ptr))
    throw std::runtime_error("expected a JSON object {\"fields\": [[name, value], ...]}");
  auto obj = root.extract<Poco::JSON::Object::Ptr>();
  if (!obj->has("fields") || obj->get("fields").type() != typeid(Poco::JSON::Array::Ptr))
    throw std::runtime_error("missing \"fields\" array");
  FieldList out;
  for (const auto& pair : *obj->getArray("fields")) {
    if (pair.type() != typeid(Poco::JSON::Array::Ptr))
      throw std::runtime_error("each field must be a [name, value] pair");
    auto arr = pair.extract<Poco::JSON::Array::Ptr>();
    if (arr->size() != 2 || !arr->get(0).isString())
      throw std::runtime_error("each field must be a [name, value] pair");
    const auto name = arr->get(0).extract<std::string>();
    const FieldSpec* spec = t.find(name);
    if (spec == nullptr) throw std::runtime_error("unknown field '" + name + "'");
    out.push_back({spec, value_from(*spec, arr->get(1))});
  }
  return out;
}

}  // namespace clusterctl
