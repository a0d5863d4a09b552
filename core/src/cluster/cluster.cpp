// Cluster's public API: joining, and thin wrappers that run each call on the loop thread.
#include <algorithm>
#include <future>
#include <iostream>

#include <boost/container/small_vector.hpp>

#include "cluster/bpacket/payload_codec.hpp"
#include "cluster/identity.hpp"
#include "cluster/impl.hpp"

namespace cluster {

void Cluster::Impl::log(sdk::LogLevel level, std::string_view message) noexcept {
  if (level < opt.log_level) return;
  try {
    if (opt.log_sink) {
      opt.log_sink(level, message);
    } else {
      static constexpr const char* names[] = {"trace", "debug", "info", "notice", "warning", "error"};
      std::cerr << "cluster " << settings_.sid << " " << names[static_cast<int>(level)] << ": " << message << "\n";
    }
  } catch (...) {
  }
}

void Cluster::Impl::later(std::function<void()> fn) {
  if (left) return;  // nothing may be armed after leave(): ~Cluster would not cancel it
  if (receiving == 0) {
    fn();
    return;
  }
  outbox.push_back(std::move(fn));
  if (outbox_armed) return;
  outbox_armed = true;
  // Straight on the loop (a closure of one pointer: no allocation), not through after(): this
  // is armed for nearly every packet that asks for an answer; leave() cancels it.
  outbox_timer = loop_->after(std::chrono::milliseconds(0), [this] {
    outbox_timer = 0;
    flush_outbox();
  });
}

void Cluster::Impl::flush_outbox() {
  outbox_armed = false;
  // Each item may queue more only from inside another receive (it runs outside any): a swap
  // per round keeps that correct without iterating a growing vector. The two vectors trade
  // places and keep their capacity (a local one would allocate again every round).
  std::vector<std::function<void()>> now;
  now.swap(outbox_running);
  now.swap(outbox);
  for (auto& fn : now) {
    if (left) break;
    try {
      fn();
    } catch (const std::exception& e) {
      log(sdk::LogLevel::error, std::string("handling a received packet failed: ") + e.what());
    }
  }
  now.clear();
  if (outbox_running.empty()) outbox_running.swap(now);
}

void Cluster::Impl::after(std::chrono::milliseconds d, std::function<void()> fn) {
  if (left) return;
  auto id = std::make_shared<sdk::TimerId>(0);
  *id = loop_->after(d, [this, id, fn = std::move(fn)] {
    timers.erase(*id);
    fn();
  });
  timers.insert(*id);
}

ServiceState* Cluster::Impl::find(std::string_view uuid) {
  return services.find(uuid);
}

ProtocolSlot* Cluster::Impl::slot(std::string_view id) {
  for (auto& s : protocols)
    if (s->id == id) return s.get();
  return nullptr;
}

ProtocolSlot* Cluster::Impl::multicast_slot() {
  for (auto& s : protocols)
    if (s->traits.multicast) return s.get();
  return nullptr;
}

bool Cluster::Impl::on_our_segment(const ServiceInfo& info) const {
  // Heard over the group within its ttl: our multicasts reach it too (same segment, same
  // group). A member known only through seeds, DNS or etcd is sent to directly.
  return info.heard_multicast != Clock::time_point{} && loop_->now() - info.heard_multicast <= timings_.ttl;
}

bool Cluster::Impl::beyond_our_segment(const ServiceInfo& info) {
  return info.heard_multicast == Clock::time_point{} && !info.found_by.empty() && info.found_by != "multicast";
}

std::string Cluster::Impl::found_by(const ProtocolSlot& slot, PayloadType type, const ServiceInfo& info) const {
  if (slot.traits.multicast) return "multicast";
  if (type == PayloadType::discovery && !info.props.empty()) return "inbound";  // its discovery contacted us
  for (const auto& d : discoveries)
    if (d->contacted(info)) return d->slot_name;
  if (type == PayloadType::discovery) return "inbound";
  // A direct answer nobody's contact asked for: the answer to the beacon's multicast discovery.
  for (const auto& d : discoveries)
    if (d->slot_name == "multicast") return "multicast";
  return "contact";
}

ServiceInfo Cluster::Impl::self_info() const {
  ServiceInfo i;
  i.sid = settings_.sid;
  i.hid = settings_.hid;
  i.uuid = i.sid + "@" + i.hid;
  i.ip = "127.0.0.1";
  i.local = true;
  i.tags = tags;
  i.protocols = protocol_ids;
  for (const auto& s : protocols) i.props.emplace_back(s->id, s->proto->props());
  i.last_seen = loop_->now();
  return i;
}

// ---- joining ----

namespace {

// A hook-set plugin whose sets are not attached (and that serves none of our protocols) does
// nothing at all, which looks like a broken plugin: say so, with the fix.
void warn_idle_plugins(Cluster::Impl& im, const std::vector<PluginInfo>& loaded, const std::string& ini) {
  const auto attached = [&](const std::string& set) {
    return std::any_of(im.hook_sets.begin(), im.hook_sets.end(), [&](const auto& h) { return h->name == set; });
  };
  const auto serves = [&](const std::string& id) {
    return std::find(im.protocol_ids.begin(), im.protocol_ids.end(), id) != im.protocol_ids.end();
  };
  for (const auto& p : loaded) {
    if (p.hook_sets.empty() || std::any_of(p.hook_sets.begin(), p.hook_sets.end(), attached) ||
        std::any_of(p.protocols.begin(), p.protocols.end(), serves))
      continue;
    std::string sets;
    for (const auto& h : p.hook_sets) sets += (sets.empty() ? "" : " ") + h;
    im.log(sdk::LogLevel::warning, "plugin '" + p.name + "' (" + p.path + ") is loaded but does nothing: its hook set" +
                                       (p.hook_sets.size() > 1 ? "s '" : " '") + sets + "' " +
                                       (p.hook_sets.size() > 1 ? "are" : "is") + " not attached. Add " +
                                       (p.hook_sets.size() > 1 ? "them" : "it") + " to [plugins] hooks in " + ini +
                                       " (hooks = " + sets + "), or remove the plugin from [plugins] load");
  }
}

}  // namespace

Cluster::Cluster(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { impl_->self = this; }

std::unique_ptr<Cluster> Cluster::join(Options options, std::shared_ptr<PluginManager> plugins, EventLoop& loop,
                                       const std::function<void(Cluster&)>& prepare) {
  auto impl = std::make_unique<Impl>();
  impl->opt = std::move(options);
  impl->loop_ = &loop;
  impl->plugins = std::move(plugins);
  std::unique_ptr<Cluster> c(new Cluster(std::move(impl)));
  if (prepare) prepare(*c);
  c->impl_->start();
  return c;
}

std::unique_ptr<Cluster> Cluster::join(const NodeConfig& config, const std::function<void(Cluster&)>& prepare) {
  auto plugins = std::make_shared<PluginManager>();
  // [control], [logging], [metrics] and [http] are clusterd's (a host app may read them too).
  static const std::set<std::string> core_sections = {"cluster", "plugins", "control", "logging", "metrics", "http"};
  std::set<std::string> plugin_sections;
  std::vector<PluginInfo> loaded;
  for (const auto& name : config.load) {
    // A plugin named by name takes the section of that name; one given by path, the section
    // named after the plugin itself.
    const bool by_name = name.find('/') == std::string::npos;
    const PluginInfo info = plugins->load(config.resolve_plugin(name), config.ini, by_name ? name : std::string());
    plugin_sections.insert(by_name ? name : info.name);
    loaded.push_back(info);
  }
  for (const auto& s : config.ini.sections())
    if (!core_sections.count(s.name) && !plugin_sections.count(s.name))
      throw ConfigError(s.where + ": section [" + s.name + "] belongs to no loaded plugin (loaded: " +
                        [&] {
                          std::string l;
                          for (const auto& n : config.load) l += (l.empty() ? "" : " ") + n;
                          return l.empty() ? std::string("none") : l;
                        }() + ")");
  for (const auto& h : config.hook_sets)
    if (!plugins->has_hook_set(h))
      throw ConfigError(config.ini.origin() + ": [plugins] hooks names '" + h +
                        "', which no loaded plugin provides");

  auto loop = std::make_unique<EventLoop>();
  auto impl = std::make_unique<Impl>();
  impl->opt = config.options;
  impl->loop_ = loop.get();
  impl->plugins = plugins;
  std::unique_ptr<Cluster> c(new Cluster(std::move(impl)));
  Impl& im = *c->impl_;
  im.own_loop = std::move(loop);
  // Hook sets attach before joining, so they see (and sign) the very first packets.
  for (const auto& h : config.hook_sets) im.attach_hook_set(h);
  if (prepare) prepare(*c);
  im.start();
  warn_idle_plugins(im, loaded, config.ini.origin());
  std::promise<void> go;
  auto ready = go.get_future();
  im.thread = std::thread([&im, f = std::move(ready)]() mutable {
    f.wait();
    im.loop_->run();
  });
  im.loop_->set_owner(im.thread.get_id());
  go.set_value();
  return c;
}

Cluster::~Cluster() {
  // From here on handles answer "the cluster is gone"; calls already on their way finish first.
  impl_->lifeline->cut();
  try {
    leave();
  } catch (...) {
  }
  if (impl_->thread.joinable()) {
    impl_->loop_->stop();
    impl_->thread.join();
  }
  // Handles of members we still knew keep their last state.
  for (auto& [uuid, s] : impl_->services)
    if (s.handle) s.handle->remember(s.info);
  // Plugin objects die before the plugin manager that holds their libraries.
  impl_->discoveries.clear();
  impl_->detector.reset();
  impl_->backlog_protocols.clear();
  impl_->protocols.clear();
  impl_->hook_sets.clear();
}

void Cluster::leave() {
  impl_->on_loop([&] { impl_->leave(); });
}

const std::string& Cluster::sid() const noexcept { return impl_->settings_.sid; }
const std::string& Cluster::hid() const noexcept { return impl_->settings_.hid; }
const Options& Cluster::config() const noexcept { return impl_->opt; }
EventLoop& Cluster::loop() noexcept { return *impl_->loop_; }

void Cluster::heartbeat(bool full) {
  impl_->on_loop([&] {
    impl_->later([im = impl_.get(), full] {
      // Before join completed (from `prepare`) there is no discovery yet: nothing to announce.
      if (im->joined) im->each_discovery([full](sdk::Discovery& d) { d.announce(full ? sdk::Record::full : sdk::Record::changed); });
    });
  });
}

void Cluster::discover() {
  impl_->on_loop([&] {
    impl_->later([im = impl_.get()] {
      if (im->joined) im->each_discovery([](sdk::Discovery& d) { d.probe(); });
    });
  });
}

std::vector<ServicePtr> Cluster::services() const {
  return impl_->on_loop([&] {
    std::vector<ServicePtr> out;
    for (auto& [uuid, s] : impl_->services) out.push_back(s.handle);
    return out;
  });
}

std::size_t Cluster::known_services() const {
  return impl_->on_loop([&] { return impl_->services.size(); });
}

std::vector<ServicePtr> Cluster::resolve(const std::vector<std::string>& terms) const {
  Resolver r;
  r.terms = terms;
  return resolve(r);
}

std::vector<ServicePtr> Cluster::resolve(const Resolver& resolver) const {
  return impl_->on_loop([&] {
    std::vector<ServicePtr> out;
    for (auto& [uuid, s] : impl_->services)
      if (resolver.matches(s.info)) out.push_back(s.handle);
    return out;
  });
}

bool Cluster::resolve_self(const Resolver& resolver) const {
  return impl_->on_loop([&] { return resolver.matches(impl_->self_info()); });
}

std::vector<std::string> Cluster::tags() const {
  return impl_->on_loop([&] { return impl_->tags; });
}

void Cluster::tags_append(const std::vector<std::string>& add) {
  impl_->on_loop([&] {
    std::vector<std::string> next = impl_->tags;
    for (const auto& t : add)
      if (std::find(next.begin(), next.end(), t) == next.end()) next.push_back(t);
    impl_->set_tags(std::move(next));
  });
}

void Cluster::tags_remove(const std::vector<std::string>& remove) {
  impl_->on_loop([&] {
    std::vector<std::string> next = impl_->tags;
    next.erase(std::remove_if(next.begin(), next.end(),
                              [&](const std::string& x) { return std::find(remove.begin(), remove.end(), x) != remove.end(); }),
               next.end());
    impl_->set_tags(std::move(next));
  });
}

void Cluster::tags_replace(const std::vector<std::string>& tags) {
  impl_->on_loop([&] { impl_->set_tags(tags); });
}

namespace {

// Applies a tag mapping; with `append`, values of keys we do not have are added.
void map_tags(std::vector<std::string>& tags, const std::vector<std::pair<std::string, std::string>>& mapping,
              bool append) {
  std::vector<std::string> out;
  for (const auto& t : tags) {
    auto m = std::find_if(mapping.begin(), mapping.end(), [&](const auto& kv) { return kv.first == t; });
    const std::string& v = m == mapping.end() ? t : m->second;
    if (!v.empty() && std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  }
  if (append)
    for (const auto& [key, value] : mapping)
      if (std::find(tags.begin(), tags.end(), key) == tags.end() && !value.empty() &&
          std::find(out.begin(), out.end(), value) == out.end())
        out.push_back(value);
  tags = std::move(out);
}

}  // namespace

void Cluster::tags_map(const std::vector<std::pair<std::string, std::string>>& mapping) {
  impl_->on_loop([&] {
    std::vector<std::string> next = impl_->tags;
    map_tags(next, mapping, false);
    impl_->set_tags(std::move(next));
  });
}

void Cluster::tags_mappend(const std::vector<std::pair<std::string, std::string>>& mapping) {
  impl_->on_loop([&] {
    std::vector<std::string> next = impl_->tags;
    map_tags(next, mapping, true);
    impl_->set_tags(std::move(next));
  });
}

std::vector<std::uint64_t> Cluster::channels() const {
  return impl_->on_loop([&] { return std::vector<std::uint64_t>(impl_->channels.begin(), impl_->channels.end()); });
}

void Cluster::subscribe(std::uint64_t channel) {
  impl_->on_loop([&] { impl_->channels.insert(channel); });
}

bool Cluster::unsubscribe(std::uint64_t channel) {
  if (channel <= 2) return false;
  return impl_->on_loop([&] { return impl_->channels.erase(channel) != 0; });
}

std::size_t Cluster::send(const std::vector<ServicePtr>& to, const std::string& data, const SendFlags& flags) {
  return impl_->on_loop([&] {
    boost::container::small_vector<ServiceState*, 4> targets;
    for (const auto& s : to)
      if (s)
        if (auto* st = impl_->find(s->uuid())) targets.push_back(st);
    auto lease = impl_->payloads.take();  // storage kept from the last send: no allocation
    Payload& p = *lease;
    impl_->fill_base(p, PayloadType::event, flags.channel);
    p.data.set().assign(data);
    if (impl_->receiving == 0) return impl_->send_many(targets.data(), targets.size(), p, flags);
    // From a hook inside a receive: sent once it is over, counted as reached.
    std::vector<std::string> uuids;
    for (auto* st : targets) uuids.push_back(st->info.uuid);
    impl_->later([im = impl_.get(), uuids = std::move(uuids), p = Payload(p), flags]() mutable {
      std::vector<ServiceState*> still;
      for (const auto& u : uuids)
        if (auto* st = im->find(u)) still.push_back(st);
      im->send_many(still, p, flags);
    });
    return targets.size();
  });
}

sdk::Result Cluster::send_payload(const ServicePtr& to, Payload payload, const SendFlags& flags) {
  return impl_->on_loop([&] {
    auto* st = to ? impl_->find(to->uuid()) : nullptr;
    if (st == nullptr) return sdk::Result::failure("unknown service");
    return impl_->send_soon(*st, std::move(payload), flags);
  });
}

sdk::Result Cluster::broadcast(Payload payload) {
  return impl_->on_loop([&] {
    Payload p = impl_->base(payload.type.has() ? static_cast<PayloadType>(*payload.type) : PayloadType::event,
                            payload.channel.value_or(0));
    // The caller's fields win over the base fields, except our identity.
    if (payload.data.has()) p.data = *payload.data;
    if (payload.ruid.has()) p.ruid = *payload.ruid;
    if (payload.raw.has()) p.raw = *payload.raw;
    if (payload.filter.has()) p.filter = *payload.filter;
    if (payload.tags.has()) p.tags = *payload.tags;
    if (payload.op.has()) p.op = *payload.op;
    if (impl_->receiving == 0) return impl_->multicast(p);
    // From a hook inside a receive: sent once it is over.
    impl_->later([im = impl_.get(), p = std::move(p)]() mutable { im->multicast(p); });
    return sdk::Result::success();
  });
}

QueryPtr Cluster::query(QueryOptions options) {
  if (options.resolve.empty() && !options.resolver)
    throw std::invalid_argument("query needs resolve terms or a resolver");
  return impl_->on_loop([&] {
    std::vector<ServiceState*> targets;
    Resolver r = options.resolver ? *options.resolver : Resolver{};
    if (!options.resolver) r.terms = options.resolve;
    for (auto& [uuid, s] : impl_->services)
      if (r.matches(s.info)) targets.push_back(&s);
    return impl_->start_query(std::move(options), std::move(targets));
  });
}

HookRegistry& Cluster::hooks() noexcept { return impl_->loop_hooks; }

HookId LoopHookRegistry::add(HookPoint point, std::string name, HookFn fn, int order, std::string scope) noexcept {
  try {
    return owner.on_loop([&] {
      const std::string wanted = name;
      const HookId id = owner.hook_table.add(point, std::move(name), std::move(fn), order, std::move(scope));
      if (id == 0)
        owner.log(sdk::LogLevel::error, "hook '" + wanted + "' not added: " +
                                            (owner.hook_table.has(wanted) ? "the name is taken (names are unique per cluster)"
                                                                          : "no function or an unknown hook point"));
      return id;
    });
  } catch (...) {
    return 0;
  }
}

bool LoopHookRegistry::remove(HookId id) noexcept {
  try {
    return owner.on_loop([&] { return owner.hook_table.remove(id); });
  } catch (...) {
    return false;
  }
}

bool Cluster::unhook(HookId id) {
  return impl_->on_loop([&] { return impl_->hook_table.remove(id); });
}

void Cluster::use_hook_set(const std::string& name) {
  impl_->on_loop([&] { impl_->attach_hook_set(name); });
}

void Cluster::Impl::attach_hook_set(const std::string& name) {
  if (!plugins || !plugins->has_hook_set(name)) throw std::invalid_argument("no loaded plugin provides hook set '" + name + "'");
  auto slot = std::make_unique<HookSetSlot>(*this, plugins->hook_set_config(name));
  slot->name = name;
  slot->set = plugins->create_hook_set(name, *slot);
  if (!slot->set) throw std::runtime_error("hook set '" + name + "' could not be created");
  if (auto r = slot->set->attach(hook_table); !r)  // its settings are wrong: a config error
    throw ConfigError("hook set '" + name + "' failed to attach: " + r.message());
  hook_sets.push_back(std::move(slot));
}

HookId Cluster::hook(HookPoint point, std::string name, HookFn fn, int order, std::string scope) {
  if (!fn) throw std::invalid_argument("hook '" + name + "' has no function");
  return impl_->on_loop([&] {
    // A second hook of the same name would silently not run: refuse it loudly.
    if (impl_->hook_table.has(name))
      throw std::invalid_argument("hook name '" + name + "' is taken: hook names are unique per cluster");
    const std::string wanted = name;
    const HookId id = impl_->hook_table.add(point, std::move(name), std::move(fn), order, std::move(scope));
    if (id == 0) throw std::invalid_argument("hook '" + wanted + "' not added: unknown hook point");
    return id;
  });
}

Counters Cluster::counters() const {
  return impl_->on_loop([&] {
    Counters c = impl_->counters;
    for (const auto& q : impl_->send_queues) {  // atomics: producers count refusals
      c.send_queue_full += q->refused_full();
      c.send_queue_dropped += q->dropped();
      c.send_queue_paused += q->paused();
    }
    return c;
  });
}

Stats Cluster::stats() const {
  return impl_->on_loop([&] {
    Stats s;
    for (const auto& [uuid, m] : impl_->services) s.members_suspect += m.liveness == sdk::Liveness::suspect;
    for (const auto& sl : impl_->protocols) {
      s.protocols.push_back(sl->traffic);
      s.protocols.back().protocol = sl->id;
    }
    s.queries_completed = impl_->queries_completed;
    s.queries_timed_out = impl_->queries_timed_out;
    s.hooks = impl_->hook_table.times();
    return s;
  });
}

}  // namespace cluster
