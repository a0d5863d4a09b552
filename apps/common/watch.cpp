#include "watch.hpp"

#include <atomic>
#include <memory>

namespace clusterapp {

namespace {

JsonPtr member_event(const char* name, const cluster::ServiceInfo& s) {
  JsonPtr o = object();
  o->set("event", std::string(name));
  o->set("uuid", utf8_safe(s.uuid));
  return o;
}

}  // namespace

Watch::Watch(cluster::Cluster& c, Emit emit) : cluster_(c) {
  static std::atomic<unsigned long> counter{0};
  const std::string prefix = "clusterapp.watch." + std::to_string(++counter) + ".";
  // The hooks share the callback, so a hook that is running when the Watch goes keeps it alive.
  auto out = std::make_shared<Emit>(std::move(emit));
  using cluster::HookContext;
  using cluster::HookPoint;
  using cluster::Verdict;
  hooks_.push_back(c.hook(HookPoint::service_discovered, prefix + "discovered", [out](HookContext& ctx) {
    if (ctx.service == nullptr) return Verdict::pass;
    JsonPtr o = member_event("discovered", *ctx.service);
    o->set("ip", utf8_safe(ctx.service->ip));
    o->set("tags", string_array(ctx.service->tags));
    o->set("local", ctx.service->local);
    (*out)(o);
    return Verdict::pass;
  }));
  hooks_.push_back(c.hook(HookPoint::service_lost, prefix + "lost", [out](HookContext& ctx) {
    if (ctx.service == nullptr) return Verdict::pass;
    JsonPtr o = member_event("lost", *ctx.service);
    o->set("ip", utf8_safe(ctx.service->ip));
    o->set("tags", string_array(ctx.service->tags));
    o->set("reason", utf8_safe(ctx.reason));
    (*out)(o);
    return Verdict::pass;
  }));
  hooks_.push_back(c.hook(HookPoint::tags_changed, prefix + "tags", [out](HookContext& ctx) {
    if (ctx.service == nullptr) return Verdict::pass;
    JsonPtr o = member_event("tags", *ctx.service);
    o->set("tags", string_array(ctx.service->tags));
    (*out)(o);
    return Verdict::pass;
  }));
  hooks_.push_back(c.hook(HookPoint::event, prefix + "event", [out](HookContext& ctx) {
    if (ctx.service == nullptr) return Verdict::pass;
    JsonPtr o = member_event("event", *ctx.service);
    o->set("channel", static_cast<Poco::UInt64>(ctx.channel));
    o->set("protocol", utf8_safe(ctx.protocol));
    o->set("data", utf8_safe(ctx.payload != nullptr ? ctx.payload->data.value_or("") : std::string()));
    (*out)(o);
    return Verdict::pass;
  }));
}

Watch::~Watch() {
  for (auto id : hooks_)
    if (id != 0) cluster_.hooks().remove(id);
}

}  // namespace clusterapp
