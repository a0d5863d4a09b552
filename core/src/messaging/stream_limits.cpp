// Bounds on what stream connections (tcp, unix) may make the core hold while it reassembles
// packets (docs/transports.md, "Limits"): a packet larger than max_packet is skipped by the
// decoder; all partial packets together stay within max_buffered (the connection holding the
// most is closed); a partial packet must complete within partial_timeout. Memory freed after a
// burst (of partial packets, or of members: forged ones expire by the thousand) goes back to
// the system: glibc keeps freed heap memory for reuse unless trimmed.
#include <malloc.h>

#include <algorithm>

#include "cluster/impl.hpp"

namespace cluster {
namespace {

constexpr auto kSweepPeriod = std::chrono::milliseconds(1000);
constexpr std::size_t kTrimAfter = kTrimAfterFreeing;

}  // namespace

StreamState& Cluster::Impl::stream_state(ProtocolSlot& slot, sdk::ConnectionId conn) {
  auto it = slot.streams.find(conn);
  if (it == slot.streams.end()) it = slot.streams.emplace(conn, StreamState(opt.max_packet)).first;
  return it->second;
}

void Cluster::Impl::stream_fed(ProtocolSlot& slot, sdk::ConnectionId conn, bool completed) {
  auto it = slot.streams.find(conn);
  if (it == slot.streams.end()) return;
  StreamState& st = it->second;
  if (st.decoder.buffered() == 0)
    st.partial_since = {};
  else if (completed || st.partial_since == Clock::time_point{})
    st.partial_since = Clock::now();  // a new partial packet: its own deadline
  const std::size_t now_held = st.decoder.memory();
  if (now_held < st.accounted) freed_since_trim += st.accounted - now_held;
  stream_memory = stream_memory - st.accounted + now_held;
  st.accounted = now_held;

  const bool partial = st.decoder.buffered() > 0;
  while (stream_memory > opt.max_buffered) {
    ProtocolSlot* worst_slot = nullptr;
    sdk::ConnectionId worst = 0;
    std::size_t most = 0;
    for (auto& s : protocols)
      for (const auto& [id, state] : s->streams)
        if (state.accounted > most) {
          most = state.accounted;
          worst_slot = s.get();
          worst = id;
        }
    if (worst_slot == nullptr) break;
    ++counters.streams_over_budget;
    close_stream(*worst_slot, worst, "its partial packets went over max_buffered");
  }
  if (partial || freed_since_trim >= kTrimAfter) schedule_stream_sweep();
}

void Cluster::Impl::forget_stream(ProtocolSlot& slot, sdk::ConnectionId conn) {
  auto it = slot.streams.find(conn);
  if (it == slot.streams.end()) return;
  stream_memory -= it->second.accounted;
  freed_since_trim += it->second.accounted;
  slot.streams.erase(it);
  if (freed_since_trim >= kTrimAfter) schedule_stream_sweep();
}

void Cluster::Impl::close_stream(ProtocolSlot& slot, sdk::ConnectionId conn, const char* why) {
  if (std::string more; stream_close_log.due(loop_->now(), more))
    log(sdk::LogLevel::notice, slot.id + ": closing connection " + std::to_string(conn) + ": " + why + more);
  forget_stream(slot, conn);
  // Called from stream_fed inside the protocol's received(): the close waits until after it.
  later([this, &slot, conn] {
    if (slot.proto && !left) slot.proto->close(conn);
  });
}

void Cluster::Impl::schedule_stream_sweep() {
  if (stream_sweep_armed || left) return;
  stream_sweep_armed = true;
  after(kSweepPeriod, [this] {
    stream_sweep_armed = false;
    sweep_streams();
  });
}

void Cluster::Impl::sweep_streams() {
  if (left) return;
  const auto now = Clock::now();
  bool partial = false;
  for (auto& slot : protocols) {
    std::vector<sdk::ConnectionId> stalled;
    for (const auto& [id, st] : slot->streams) {
      if (st.partial_since == Clock::time_point{}) continue;
      if (now - st.partial_since >= opt.partial_timeout)
        stalled.push_back(id);
      else
        partial = true;
    }
    for (sdk::ConnectionId id : stalled) {
      ++counters.streams_stalled;
      close_stream(*slot, id, "a partial packet did not complete within partial_timeout");
    }
  }
  if (freed_since_trim >= kTrimAfter) {
#ifdef __GLIBC__
    ::malloc_trim(0);
#endif
    freed_since_trim = 0;
  }
  if (partial) schedule_stream_sweep();
}

}  // namespace cluster
