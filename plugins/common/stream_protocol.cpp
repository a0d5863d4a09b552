#include "stream_protocol.hpp"

#include <utility>

#include "cluster/sdk/boundary.hpp"

namespace cluster::transport {

using sdk::LogLevel;
using sdk::Result;

StreamProtocol::StreamProtocol(sdk::ProtocolHost& host, Identity identity, StreamConfig config)
    : host_(host), identity_(std::move(identity)), config_(std::move(config)) {
  const std::string& n = identity_.name;
  what_start_ = n + ": start";
  what_send_ = n + ": send";
  what_bind_ = n + ": bind";
  what_close_ = n + ": close";
  what_peer_lost_ = n + ": peer_lost";
  what_check_ = n + ": check";
  what_refresh_ = n + ": refresh";
}

Result StreamProtocol::start() noexcept {
  return sdk::guard(what_start_, [&] {
    if (started_) return Result::failure(name() + ": already started");
    Result r = prepare();
    if (!r) return r;
    transport_ = std::make_unique<StreamTransport>(
        host_, StreamOptions{identity_.id, config_.max_pending_bytes, identity_.tcp, identity_.keepalive,
                             config_.limits, filter_, handshake_timeout_ms_});
    r = open_listener();
    if (!r) return r;
    started_ = true;
    host_.log(LogLevel::info, name() + ": listening on " + listener_address());
    return Result::success();
  });
}

Dict StreamProtocol::props() const noexcept {
  return sdk::guard_or(Dict{}, [&] { return started_ ? listener_props() : Dict{}; });
}

Result StreamProtocol::send(const ServiceInfo& peer, std::string_view packet, const sdk::SendOptions& options) noexcept {
  return sdk::guard(what_send_, [&] {
    if (!started_) return Result::failure(name() + ": not started");
    return transport_->send(peer, packet, options, [&](int& fd, std::string& ip, bool& local, int& pending_ms) {
      return connect(peer, fd, ip, local, pending_ms);
    });
  });
}

void StreamProtocol::bind(sdk::ConnectionId conn, std::string_view peer_uuid) noexcept {
  sdk::guard_log(host_, what_bind_, [&] {
    if (started_) transport_->bind(conn, peer_uuid);
  });
}

void StreamProtocol::close(sdk::ConnectionId conn) noexcept {
  sdk::guard_log(host_, what_close_, [&] {
    if (started_) transport_->close(conn);
  });
}

void StreamProtocol::peer_lost(const ServiceInfo& peer) noexcept {
  sdk::guard_log(host_, what_peer_lost_, [&] {
    if (!started_) return;
    transport_->close_peer(peer.uuid);
    forget(peer);
  });
}

void StreamProtocol::check() noexcept {
  sdk::guard_log(host_, what_check_, [&] {
    if (!started_) return;
    std::string problem;
    if (listener_ok(problem)) return;
    host_.log(LogLevel::warning, problem);
    if (replace_listener()) host_.props_changed();
  });
}

Result StreamProtocol::refresh() noexcept {
  return sdk::guard(what_refresh_, [&] {
    if (!started_) return Result::failure(name() + ": not started");
    Result r = replace_listener();
    if (!r) return r;
    host_.props_changed();
    return Result::success();
  });
}

void StreamProtocol::stop() noexcept {
  if (transport_) transport_->shutdown();
  if (started_) stopped();
  started_ = false;
}

sdk::Backlog StreamProtocol::backlog(const ServiceInfo& peer) const noexcept {
  return transport_ ? transport_->backlog(peer.uuid) : sdk::Backlog{};
}

}  // namespace cluster::transport
