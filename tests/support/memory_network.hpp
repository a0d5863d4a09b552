// An in-memory network for membership tests: protocols "c" (multicast), "t" (stream) and "u"
// (local-only stream) between clusters on one EventLoop. Delivery is posted, never nested, like
// a real socket; links can be broken to test fallback, failure reports, pings and expiry.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cluster/cluster.hpp"
#include "cluster/sdk/protocol.hpp"

namespace cluster::test {

class MemoryNetwork;

class MemoryProtocol final : public sdk::Protocol {
 public:
  MemoryProtocol(MemoryNetwork& net, std::string id, std::string host_ip, sdk::ProtocolHost& host)
      : net_(net), id_(std::move(id)), host_ip_(std::move(host_ip)), host_(host) {}
  ~MemoryProtocol() override;
  std::string_view id() const noexcept override { return id_; }
  sdk::ProtocolTraits traits() const noexcept override {
    sdk::ProtocolTraits t;
    t.multicast = id_ == "c";
    t.datagram = id_ == "c";
    t.local_only = id_ == "u";
    return t;
  }
  sdk::Result start() noexcept override;
  Dict props() const noexcept override {
    if (id_ == "c") return {};
    return {{id_ == "t" ? "port" : "path", std::to_string(address_)}};
  }
  sdk::Result send(const ServiceInfo& peer, std::string_view packet, const sdk::SendOptions&) noexcept override;
  sdk::Result multicast(std::string_view packet) noexcept override;
  sdk::Result refresh() noexcept override;
  void stop() noexcept override;
  void peer_lost(const ServiceInfo& peer) noexcept override {
    note_call("peer_lost");
    lost.push_back(peer.uuid);
  }
  void bind(sdk::ConnectionId, std::string_view) noexcept override { note_call("bind"); }
  void close(sdk::ConnectionId) noexcept override { note_call("close"); }
  inline sdk::Backlog backlog(const ServiceInfo& peer) const noexcept override;
  /// A call from the core while this protocol is inside host.received(): the SDK promises none.
  inline void note_call(const char* what) noexcept;

  void deliver(std::string_view bytes, const std::string& from_ip, sdk::ConnectionId conn);
  const std::string& host_ip() const { return host_ip_; }
  int address() const { return address_; }
  int refreshes = 0;
  std::vector<std::string> lost;
  bool inside_received = false;

 private:
  MemoryNetwork& net_;
  std::string id_;
  std::string host_ip_;
  sdk::ProtocolHost& host_;
  int address_ = 0;
  bool running_ = false;
};

class MemoryNetwork {
 public:
  explicit MemoryNetwork(EventLoop& loop) : loop_(loop) {}
  EventLoop& loop() { return loop_; }

  /// A plugin manager whose c/t/u protocols live on this network, for a member on `host_ip`.
  std::shared_ptr<PluginManager> plugins_for(const std::string& host_ip) {
    auto pm = std::make_shared<PluginManager>();
    for (const char* id : {"c", "t", "u"})
      pm->add_protocol(id, [this, id, host_ip](sdk::ProtocolHost& h) {
        auto p = std::make_unique<MemoryProtocol>(*this, id, host_ip, h);
        created.push_back(p.get());
        return p;
      });
    return pm;
  }

  int bind(MemoryProtocol* p) {
    const int a = next_address_++;
    endpoints_[a] = p;
    if (p->id() == "c") multicast_.insert(p);
    return a;
  }
  void unbind(MemoryProtocol* p, int address) {
    endpoints_.erase(address);
    multicast_.erase(p);
  }
  MemoryProtocol* at(int address) {
    auto it = endpoints_.find(address);
    return it == endpoints_.end() ? nullptr : it->second;
  }
  const std::set<MemoryProtocol*>& multicast_members() const { return multicast_; }

  /// Packets from or to a muted host ip are dropped (a killed or partitioned member).
  std::set<std::string> muted;
  /// Sends over these "ip/protocol" pairs fail at once (a dead listener).
  std::set<std::string> broken;
  /// Multicast segments: a host's multicasts reach only hosts of its segment (default 0).
  std::map<std::string, int> segment;
  int segment_of(const std::string& ip) const {
    auto it = segment.find(ip);
    return it == segment.end() ? 0 : it->second;
  }
  std::vector<MemoryProtocol*> created;
  /// What "t" says waits for a member (Protocol::backlog), by its uuid, and its limit.
  std::map<std::string, std::size_t> backlog;
  std::size_t backlog_limit = 1u << 20;
  int backlog_asked = 0;
  /// Sees every packet sent (direct and multicast) from host `from`, before delivery.
  std::function<void(const std::string& from, std::string_view packet)> tap;
  int multicasts = 0;
  int directs = 0;
  /// Calls the core made into a protocol from inside that protocol's received() ("send", ...).
  std::vector<std::string> reentries;

 private:
  EventLoop& loop_;
  std::map<int, MemoryProtocol*> endpoints_;
  std::set<MemoryProtocol*> multicast_;
  int next_address_ = 1000;
};

inline MemoryProtocol::~MemoryProtocol() { stop(); }

inline sdk::Backlog MemoryProtocol::backlog(const ServiceInfo& peer) const noexcept {
  if (id_ != "t") return {};
  ++net_.backlog_asked;
  auto it = net_.backlog.find(peer.uuid);
  return {it == net_.backlog.end() ? 0 : it->second, net_.backlog_limit};
}

inline sdk::Result MemoryProtocol::start() noexcept {
  address_ = net_.bind(this);
  running_ = true;
  return sdk::Result::success();
}

inline void MemoryProtocol::stop() noexcept {
  if (!running_) return;
  running_ = false;
  net_.unbind(this, address_);
}

inline sdk::Result MemoryProtocol::refresh() noexcept {
  note_call("refresh");
  ++refreshes;
  net_.unbind(this, address_);
  address_ = net_.bind(this);
  net_.broken.erase(host_ip_ + "/" + id_);
  host_.props_changed();
  return sdk::Result::success();
}

inline void MemoryProtocol::deliver(std::string_view bytes, const std::string& from_ip, sdk::ConnectionId conn) {
  if (!running_) return;
  sdk::Origin o;
  o.ip = from_ip;
  // 127.x addresses stand for one host, like real loopback; others are hosts of their own.
  o.local = from_ip == host_ip_ || (from_ip.rfind("127.", 0) == 0 && host_ip_.rfind("127.", 0) == 0);
  o.conn = conn;
  inside_received = true;
  host_.received(bytes, o);
  inside_received = false;
}

inline void MemoryProtocol::note_call(const char* what) noexcept {
  if (inside_received) net_.reentries.push_back(id_ + ":" + what);
}

inline sdk::Result MemoryProtocol::send(const ServiceInfo& peer, std::string_view packet, const sdk::SendOptions&) noexcept {
  note_call("send");
  if (net_.broken.count(peer.ip + "/" + id_)) return sdk::Result::failure("connection refused");
  const std::string key = id_ == "t" ? "port" : "path";
  const std::string addr = peer.prop(id_, key);
  MemoryProtocol* to = addr.empty() ? nullptr : net_.at(std::stoi(addr));
  if (to == nullptr) return sdk::Result::failure("no listener at " + addr);
  ++net_.directs;
  if (net_.tap) net_.tap(host_ip_, packet);
  if (net_.muted.count(host_ip_) || net_.muted.count(to->host_ip())) return sdk::Result::success();
  const auto conn = static_cast<sdk::ConnectionId>(address_);
  // Look the target up at delivery time: it may be gone by then.
  net_.loop().post([net = &net_, target = to->address(), bytes = std::string(packet), from = host_ip_, conn] {
    if (MemoryProtocol* t = net->at(target)) t->deliver(bytes, from, conn);
  });
  return sdk::Result::success();
}

inline sdk::Result MemoryProtocol::multicast(std::string_view packet) noexcept {
  note_call("multicast");
  ++net_.multicasts;
  if (net_.tap) net_.tap(host_ip_, packet);
  if (net_.muted.count(host_ip_)) return sdk::Result::success();
  for (MemoryProtocol* to : net_.multicast_members()) {
    if (net_.muted.count(to->host_ip()) || net_.broken.count(to->host_ip() + "/c")) continue;
    if (net_.segment_of(to->host_ip()) != net_.segment_of(host_ip_)) continue;
    net_.loop().post([net = &net_, target = to->address(), bytes = std::string(packet), from = host_ip_] {
      if (MemoryProtocol* t = net->at(target)) t->deliver(bytes, from, 0);
    });
  }
  return sdk::Result::success();
}

}  // namespace cluster::test
