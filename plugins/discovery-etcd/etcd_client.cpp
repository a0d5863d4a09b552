// etcd v3 JSON gateway client (etcd_client.hpp): requests, replies, failover. The HTTP
// exchange itself is etcd_http.hpp.
#include "etcd_client.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/URI.h>

#include <algorithm>
#include <charconv>
#include <new>
#include <stdexcept>
#include <typeinfo>
#include <utility>

#include "etcd_http.hpp"

namespace cluster::etcd {

using detail::Clock;
using Poco::JSON::Object;

namespace {

// ---- base64 (etcd's keys and values; Poco's encoder wraps lines) ----

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string b64(const std::string& in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto n = static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16 |
                   static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8 |
                   static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kB64[(n >> s) & 63];
  }
  if (i < in.size()) {
    auto n = static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8;
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += i + 1 < in.size() ? kB64[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool unb64(const std::string& in, std::string& out) {
  out.clear();
  unsigned acc = 0;
  int bits = 0;
  std::size_t pad = 0;
  for (const char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+' || c == '-') v = 62;
    else if (c == '/' || c == '_') v = 63;
    else if (c == '=') { ++pad; continue; }
    else return false;
    if (pad != 0) return false;  // data after padding
    acc = (acc << 6 | static_cast<unsigned>(v)) & 0xffffffu;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return pad <= 2;
}

// ---- JSON (int64 comes as a string; zero values are left out) ----

/// A reply that is not what etcd sends.
struct Malformed : std::runtime_error {
  using std::runtime_error::runtime_error;
};
/// A well-formed error reply: etcd's own message.
struct EtcdError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Object::Ptr parse_object(const std::string& text) {
  Poco::JSON::Parser parser;
  parser.setDepth(32);  // etcd's replies nest 4 deep; bounds what a bad peer can make us build
  Poco::Dynamic::Var v;
  try {
    v = parser.parse(text);
  } catch (const Poco::Exception& e) {
    throw Malformed(e.displayText());
  }
  if (v.type() != typeid(Object::Ptr) || v.extract<Object::Ptr>().isNull()) throw Malformed("not a JSON object");
  return v.extract<Object::Ptr>();
}

std::int64_t int_field(const Object::Ptr& o, const std::string& name) {
  if (o.isNull() || !o->has(name)) return 0;
  const Poco::Dynamic::Var v = o->get(name);
  if (v.isEmpty()) return 0;
  if (v.isString()) {
    const std::string s = v.extract<std::string>();
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || end != s.data() + s.size()) throw Malformed("field '" + name + "' is not an integer");
    return n;
  }
  if (v.isInteger()) {
    try {
      return v.convert<Poco::Int64>();
    } catch (const Poco::Exception&) {  // beyond int64
    }
  }
  throw Malformed("field '" + name + "' is not an integer");
}

bool bool_field(const Object::Ptr& o, const std::string& name) {
  if (o.isNull() || !o->has(name)) return false;
  const Poco::Dynamic::Var v = o->get(name);
  return v.isBoolean() && v.extract<bool>();
}

std::string string_field(const Object::Ptr& o, const std::string& name) {
  if (o.isNull() || !o->has(name)) return {};
  const Poco::Dynamic::Var v = o->get(name);
  if (!v.isString()) throw Malformed("field '" + name + "' is not a string");
  return v.extract<std::string>();
}

std::string bytes_field(const Object::Ptr& o, const std::string& name) {
  std::string out;
  if (!unb64(string_field(o, name), out)) throw Malformed("field '" + name + "' is not base64");
  return out;
}

KeyValue key_value(const Object::Ptr& kv) {
  return KeyValue{bytes_field(kv, "key"), bytes_field(kv, "value"), int_field(kv, "mod_revision"), int_field(kv, "lease")};
}

/// What an error reply says: {"error":"..","code":5} (unary) or {"error":{"message":..}} (stream).
std::string error_text(const Object::Ptr& o, int& code) {
  code = -1;
  if (o.isNull()) return {};
  if (const Object::Ptr e = o->getObject("error"); !e.isNull()) {
    code = static_cast<int>(int_field(e, "grpc_code"));
    return string_field(e, "message");
  }
  if (!o->has("error") && !o->has("message")) return {};
  code = o->has("code") ? static_cast<int>(int_field(o, "code")) : -1;
  std::string m = o->has("message") ? string_field(o, "message") : std::string();
  return m.empty() ? string_field(o, "error") : m;
}

/// A reply line as an object; throws on malformed JSON or an error message.
Object::Ptr reply_object(const std::string& text) {
  const Object::Ptr o = parse_object(text);
  int code;
  if (const std::string e = error_text(o, code); !e.empty() || o->has("error")) throw EtcdError(e);
  return o;
}

/// Printable, short: a body quoted in an error message.
std::string excerpt(const std::string& s) {
  std::string out;
  for (const char c : s.substr(0, 200)) out += (c >= 0x20 && c < 0x7f) ? c : ' ';
  const auto b = out.find_first_not_of(' '), e = out.find_last_not_of(' ');
  return b == std::string::npos ? std::string() : out.substr(b, e - b + 1);
}

std::string first_line(const std::string& s) {
  std::size_t from = 0;
  for (;;) {
    const auto nl = s.find('\n', from);
    const std::string line = s.substr(from, nl == std::string::npos ? std::string::npos : nl - from);
    if (line.find_first_not_of(" \r\t") != std::string::npos || nl == std::string::npos) return line;
    from = nl + 1;
  }
}

}  // namespace


namespace {

/// Runs `f`, turning every exception but bad_alloc into a failure "<where>: <what>".
template <class F>
sdk::Result guarded(const std::string& where, F&& f) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const Malformed& e) {
    return sdk::Result::failure(where + ": malformed reply: " + e.what());
  } catch (const EtcdError& e) {
    return sdk::Result::failure(where + ": etcd: " + e.what());
  } catch (const Poco::Exception& e) {
    return sdk::Result::failure(where + ": " + e.displayText());
  } catch (const std::exception& e) {
    return sdk::Result::failure(where + ": " + e.what());
  } catch (...) {
    return sdk::Result::failure(where + ": unknown error");
  }
}

}  // namespace

// ---- EtcdClient ----

EtcdClient::EtcdClient(ClientOptions options)
    : options_(std::move(options)), interrupt_(std::make_shared<detail::Interrupt>()) {
  if (options_.endpoints.empty()) valid_ = sdk::Result::failure("etcd: no endpoint");
  for (const auto& e : options_.endpoints) {
    try {
      const Poco::URI uri(e);
      if (uri.getScheme() != "http" || uri.getHost().empty() || (uri.getPath() != "" && uri.getPath() != "/") ||
          !uri.getRawQuery().empty())
        throw std::runtime_error("not http://host:port");
      hosts_.push_back(Host{uri.getHost(), uri.getPort()});
    } catch (const std::bad_alloc&) {
      throw;
    } catch (...) {
      valid_ = sdk::Result::failure("etcd: bad endpoint '" + e + "' (expected http://host:port)");
    }
  }
}

EtcdClient::~EtcdClient() = default;

void EtcdClient::cancel() noexcept { interrupt_->cancel(); }
void EtcdClient::resume() noexcept { interrupt_->resume(); }

std::string EtcdClient::prefix_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (end.empty()) return std::string(1, '\0');  // every key
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

sdk::Result EtcdClient::open(const std::string& path, const std::string& body, milliseconds timeout,
                             const std::shared_ptr<detail::Interrupt>& watch,
                             std::unique_ptr<detail::Connection>& conn) {
  if (!valid_) return valid_;
  last_code_ = -1;
  const auto deadline = Clock::now() + timeout;
  std::vector<std::shared_ptr<detail::Interrupt>> interrupts{interrupt_};
  if (watch) interrupts.push_back(watch);
  std::string errors;
  const std::size_t first = current_ % hosts_.size();
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    const std::size_t at = (first + i) % hosts_.size();
    auto c = std::make_unique<detail::Connection>(interrupts, options_.endpoints[at] + path);
    bool answered = false;  // etcd replied with a non-5xx status: no failover
    const sdk::Result r = guarded(c->where(), [&] {
      c->open(hosts_[at].name, hosts_[at].port, path, body, options_.connect_timeout, deadline);
      if (c->status() == 200) return sdk::Result::success();
      answered = c->status() < 500;
      std::string text;
      try {  // the error body, if it comes in time
        c->read_reply(deadline, false);
        text = error_text(parse_object(c->body), last_code_);
      } catch (const std::bad_alloc&) {
        throw;
      } catch (...) {
      }
      if (text.empty()) text = excerpt(c->body);
      return sdk::Result::failure(c->where() + ": HTTP " + std::to_string(c->status()) + " " + c->reason() +
                                  (text.empty() ? "" : ": " + text));
    });
    if (r || answered) {
      current_ = at;
      if (r) conn = std::move(c);
      return r;
    }
    if (c->cancelled()) return sdk::Result::failure(c->where() + ": cancelled");
    errors += (errors.empty() ? "" : "; ") + r.message();
    if (Clock::now() >= deadline) break;
  }
  current_ = first + 1;  // the next call starts with the next endpoint
  return sdk::Result::failure(errors);
}

sdk::Result EtcdClient::call(const std::string& path, const std::string& body, milliseconds timeout,
                             bool one_message, std::string& reply, std::string& where) {
  const auto deadline = Clock::now() + timeout;
  std::unique_ptr<detail::Connection> c;
  if (auto r = open(path, body, timeout, nullptr, c); !r) return r;
  where = c->where();
  return guarded(where, [&] {
    c->read_reply(deadline, one_message);
    reply = one_message ? first_line(c->body) : c->body;
    return sdk::Result::success();
  });
}

sdk::Result EtcdClient::grant(std::int64_t ttl_s, std::int64_t& lease) {
  std::string reply, where;
  const std::string body = R"({"TTL":")" + std::to_string(ttl_s) + R"("})";
  if (auto r = call("/v3/lease/grant", body, options_.timeout, false, reply, where); !r) return r;
  return guarded(where, [&] {
    lease = int_field(reply_object(reply), "ID");
    if (lease == 0) throw Malformed("no lease ID");
    return sdk::Result::success();
  });
}

sdk::Result EtcdClient::put(const std::string& key, const std::string& value, std::int64_t lease) {
  std::string reply, where;
  std::string body = R"({"key":")" + b64(key) + R"(","value":")" + b64(value) + '"';
  if (lease != 0) body += R"(,"lease":")" + std::to_string(lease) + '"';
  body += '}';
  if (auto r = call("/v3/kv/put", body, options_.timeout, false, reply, where); !r) return r;
  return guarded(where, [&] {
    reply_object(reply);
    return sdk::Result::success();
  });
}

sdk::Result EtcdClient::keepalive(std::int64_t lease, std::int64_t& ttl) {
  std::string reply, where;
  const std::string body = R"({"ID":")" + std::to_string(lease) + R"("})";
  if (auto r = call("/v3/lease/keepalive", body, options_.timeout, true, reply, where); !r) return r;
  return guarded(where, [&] {
    const Object::Ptr result = reply_object(reply)->getObject("result");
    if (result.isNull()) throw Malformed("no result");
    ttl = std::max<std::int64_t>(int_field(result, "TTL"), 0);  // left out (0) when the lease is gone
    return sdk::Result::success();
  });
}

sdk::Result EtcdClient::revoke(std::int64_t lease, milliseconds timeout) {
  std::string reply, where;
  const std::string body = R"({"ID":")" + std::to_string(lease) + R"("})";
  auto r = call("/v3/lease/revoke", body, timeout, false, reply, where);
  if (!r && last_code_ == 5) return sdk::Result::success();  // NotFound: already gone
  return r;
}

sdk::Result EtcdClient::range_prefix(const std::string& prefix, std::vector<KeyValue>& out, std::int64_t& revision) {
  std::string reply, where;
  const std::string key = prefix.empty() ? std::string(1, '\0') : prefix;
  const std::string body = R"({"key":")" + b64(key) + R"(","range_end":")" + b64(prefix_end(prefix)) + R"("})";
  if (auto r = call("/v3/kv/range", body, options_.timeout, false, reply, where); !r) return r;
  return guarded(where, [&] {
    const Object::Ptr o = reply_object(reply);
    std::vector<KeyValue> kvs;
    if (const auto arr = o->getArray("kvs"); !arr.isNull()) {
      for (std::size_t i = 0; i < arr->size(); ++i) {
        const Object::Ptr kv = arr->getObject(static_cast<unsigned>(i));
        if (kv.isNull()) throw Malformed("kvs holds a non-object");
        kvs.push_back(key_value(kv));
      }
    }
    revision = int_field(o->getObject("header"), "revision");
    out = std::move(kvs);
    return sdk::Result::success();
  });
}

sdk::Result EtcdClient::watch(const std::string& prefix, std::int64_t from, std::unique_ptr<Watch>& out) {
  std::unique_ptr<Watch> w(new Watch());
  const std::string key = prefix.empty() ? std::string(1, '\0') : prefix;
  std::string body = R"({"create_request":{"key":")" + b64(key) + R"(","range_end":")" + b64(prefix_end(prefix)) + '"';
  if (from > 0) body += R"(,"start_revision":")" + std::to_string(from) + '"';
  body += "}}";
  if (auto r = open("/v3/watch", body, options_.timeout, w->own_, w->conn_); !r) return r;
  out = std::move(w);
  return sdk::Result::success();
}

// ---- Watch ----

Watch::Watch() : own_(std::make_shared<detail::Interrupt>()) {}
Watch::~Watch() = default;

void Watch::cancel() noexcept { own_->cancel(); }

sdk::Result Watch::next(std::vector<WatchEvent>& out, milliseconds wait) {
  const auto deadline = Clock::now() + wait;
  const std::string& where = conn_->where();
  const sdk::Result r = guarded(where, [&] {
    for (;;) {
      bool any = false;
      std::size_t from = 0;
      for (std::size_t nl; (nl = conn_->body.find('\n', from)) != std::string::npos; from = nl + 1) {
        const std::string line = conn_->body.substr(from, nl - from);
        if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
        any = true;
        if (auto h = handle(line, out); !h) {
          conn_->body.erase(0, nl + 1);
          return h;
        }
      }
      conn_->body.erase(0, from);
      if (any) return sdk::Result::success();
      if (conn_->ended()) throw std::runtime_error("etcd ended the stream");
      if (conn_->cancelled()) throw std::runtime_error("cancelled");
      if (!conn_->read_more(deadline)) return sdk::Result::success();
    }
  });
  if (!r && conn_->cancelled()) return sdk::Result::failure(where + ": cancelled");
  return r;
}

sdk::Result Watch::handle(const std::string& line, std::vector<WatchEvent>& out) {
  const Object::Ptr o = reply_object(line);
  const Object::Ptr res = o->getObject("result");
  if (res.isNull()) throw Malformed("no result");
  revision_ = std::max(revision_, int_field(res->getObject("header"), "revision"));
  if (bool_field(res, "canceled")) {
    const std::int64_t compacted = int_field(res, "compact_revision");
    const std::string why = string_field(res, "cancel_reason");
    return sdk::Result::failure(conn_->where() + ": cancelled by etcd" +
                                (why.empty() ? "" : ": " + why) +
                                (compacted ? " (compacted at revision " + std::to_string(compacted) + ")" : ""));
  }
  const auto events = res->getArray("events");
  if (events.isNull()) return sdk::Result::success();
  for (std::size_t i = 0; i < events->size(); ++i) {
    const Object::Ptr e = events->getObject(static_cast<unsigned>(i));
    const Object::Ptr kv = e.isNull() ? Object::Ptr() : e->getObject("kv");
    if (kv.isNull()) throw Malformed("an event without kv");
    const std::string type = string_field(e, "type");
    if (type != "" && type != "PUT" && type != "DELETE") throw Malformed("event type " + type);
    WatchEvent ev;
    ev.type = type == "DELETE" ? WatchEvent::Type::del : WatchEvent::Type::put;
    ev.kv = key_value(kv);
    out.push_back(std::move(ev));
  }
  return sdk::Result::success();
}

}  // namespace cluster::etcd
