#include "contact_discovery.hpp"

#include <algorithm>
#include <utility>

#include <cluster/sdk/boundary.hpp>
#include <cluster/sdk/text.hpp>

namespace cluster::plugins {
namespace {

namespace text = sdk::text;
using namespace std::chrono_literals;

// Posts from a source thread wait at most this long for the loop thread.
constexpr std::chrono::milliseconds kMailboxPoll{100};
constexpr std::chrono::milliseconds kRetryFirst{50};
// A "members" list is acted on only this soon after we asked someone for one.
constexpr std::chrono::seconds kListAnswerWindow{5};
constexpr const char* kOpList = "members";      // our list, no answer wanted
constexpr const char* kOpAskList = "members?";  // our list; answer with yours

bool has_all(const Dict& have, const Dict& want) {
  return std::all_of(want.begin(), want.end(),
                     [&](const auto& kv) { return std::find(have.begin(), have.end(), kv) != have.end(); });
}

std::string host_prop(const Dict& d) {
  for (const auto& [k, v] : d)
    if (k == "host") return v;
  return {};
}

}  // namespace

ContactDiscoveryOptions contact_options(const sdk::PluginConfig& config, std::string name, bool polls_mailbox) {
  ContactDiscoveryOptions o;
  o.name = std::move(name);
  o.heartbeat = std::chrono::milliseconds(config.get_int(kHeartbeatKey.name));
  o.sync = std::chrono::milliseconds(config.get_int(kSyncKey.name));
  o.polls_mailbox = polls_mailbox;
  return o;
}

std::string encode_member_list(const std::vector<ListedMember>& members) {
  std::vector<std::string> entries;
  entries.reserve(members.size());
  for (const auto& m : members) {
    Dict props;
    for (const auto& [protocol, d] : m.props) props.emplace_back(protocol, text::tcl_dict(d));
    entries.push_back(text::tcl_list({m.uuid, m.ip, m.local ? "1" : "0", text::tcl_dict(props)}));
  }
  return text::tcl_list(entries);
}

bool decode_member_list(std::string_view raw, std::vector<ListedMember>& out) {
  std::vector<std::string> entries;
  if (!text::parse_tcl_list(raw, entries)) return false;
  for (const auto& e : entries) {
    std::vector<std::string> f;
    Dict props;
    if (!text::parse_tcl_list(e, f) || f.size() != 4 || f[0].empty() || text::has_control(f[0]) ||
        text::has_control(f[1]) || !text::parse_tcl_dict(f[3], props))
      continue;  // one bad entry (a newer sender, a forger) does not spoil the others
    ListedMember m{f[0], f[1], f[2] == "1", {}};
    for (const auto& [protocol, d] : props) {
      Dict pd;
      if (text::parse_tcl_dict(d, pd)) m.props.emplace_back(protocol, std::move(pd));
    }
    out.push_back(std::move(m));
  }
  return true;
}

std::vector<sdk::ContactPoint> contact_points_of(const ListedMember& m, const ServiceInfo& sender) {
  std::vector<sdk::ContactPoint> out;
  for (const auto& [protocol, d] : m.props) {
    if (d.empty()) continue;  // a multicast protocol: nothing to contact
    sdk::ContactPoint c;
    c.protocol = protocol;
    c.props = d;
    if (const std::string advertised = host_prop(d); !advertised.empty()) {
      c.ip = advertised;
    } else if (m.local) {  // on the sender's host: where we reach the sender
      c.ip = sender.ip;
      c.local = sender.local;
    } else {
      c.ip = m.ip;
    }
    if (c.ip.empty() && !c.local) continue;
    out.push_back(std::move(c));
  }
  return out;
}

bool is_at(const sdk::ContactPoint& c, const ServiceInfo& member) {
  const Dict* props = member.props_for(c.protocol);
  if (props == nullptr || c.props.empty() || !has_all(*props, c.props)) return false;
  if (c.local && member.local) return true;
  return !c.ip.empty() && (c.ip == member.ip || c.ip == host_prop(*props));
}

ContactDiscovery::ContactDiscovery(sdk::DiscoveryHost& host, ContactDiscoveryOptions options)
    : host_(host), options_(std::move(options)) {
  if (options_.heartbeat <= 0ms) options_.heartbeat = host_.timings().heartbeat;
  if (options_.heartbeat <= 0ms) options_.heartbeat = 1s;
}

ContactDiscovery::~ContactDiscovery() {
  // stop() ran when the member left; a join that failed after our start() did not call it.
  closed_ = true;
  stop_lookups();
  if (tick_timer_ != 0) host_.loop().cancel(tick_timer_);
  if (mailbox_timer_ != 0) host_.loop().cancel(mailbox_timer_);
  timers_.cancel_all();
}

void ContactDiscovery::start_lookups(std::chrono::milliseconds every, Lookup lookup) {
  lookups_ = std::thread([this, every, lookup = std::move(lookup)] {
    std::unique_lock<std::mutex> lock(lookups_mutex_);
    while (!lookups_stopping_) {
      lock.unlock();
      try {
        if (auto found = lookup()) post_contacts(std::move(*found));
      } catch (const std::exception& e) {
        post_log(sdk::LogLevel::error, std::string("lookup: ") + e.what());
      } catch (...) {
      }
      lock.lock();
      lookups_wake_.wait_for(lock, every, [this] { return lookups_stopping_; });
    }
  });
}

void ContactDiscovery::stop_lookups() noexcept {
  {
    std::lock_guard<std::mutex> lock(lookups_mutex_);
    lookups_stopping_ = true;
  }
  lookups_wake_.notify_all();
  if (lookups_.joinable()) lookups_.join();
}

sdk::Result ContactDiscovery::start() noexcept {
  return sdk::guard(options_.name + ": start", [&] {
    if (auto r = start_source(); !r) return r;
    started_ = true;
    next_sync_ = host_.loop().now() + options_.sync;
    if (options_.polls_mailbox) poll_mailbox();
    tick();
    return sdk::Result::success();
  });
}

sdk::Result ContactDiscovery::check_protocol(const std::string& protocol, const std::string& key) {
  Dict props;
  text::parse_tcl_dict(host_.packet(PayloadType::heartbeat, sdk::Record::full).data.value_or(""), props);
  std::vector<std::string> direct;
  for (const auto& [id, d] : props) {
    if (d.empty()) continue;  // a multicast protocol advertises nothing
    if (id == protocol) return sdk::Result::success();
    direct.push_back(id);
  }
  return sdk::Result::failure("[" + options_.name + "] " + key + " = '" + protocol +
                              "' is not a direct protocol of ours (we run: " + text::tcl_list(direct) + ")");
}

void ContactDiscovery::announce(sdk::Record) noexcept {
  // Members we heartbeat never got a multicast of ours: "changed" means everything here.
  sdk::guard_log(host_, options_.name + ": announce", [&] { heartbeat_members(); });
}

void ContactDiscovery::probe() noexcept {
  sdk::guard_log(host_, options_.name + ": probe", [&] { contact_unknown(true); });
}

// Our record only: a member list goes to whoever asks for one (op "members?", see message()),
// not to every member that contacts us. A newcomer contacts every member of the list it got:
// answering each with a list was N lists per newcomer, and each list made it contact again the
// members still on their way (a flood at 50 members).
void ContactDiscovery::newcomer(const ServiceInfo& member) noexcept { asked(member); }

void ContactDiscovery::asked(const ServiceInfo& member) noexcept {
  if (stopped_ || !ours(member)) return;  // heard over the group: the beacon answers it
  sdk::guard_log(host_, options_.name + ": answering " + member.uuid, [&] {
    Payload hb = host_.packet(PayloadType::heartbeat, sdk::Record::full);
    host_.send(member.uuid, hb);
  });
}

void ContactDiscovery::missing_record(const ServiceInfo& member, bool) noexcept {
  if (stopped_ || !ours(member)) return;
  sdk::guard_log(host_, options_.name + ": asking " + member.uuid, [&] {
    Payload ask = host_.packet(PayloadType::discovery, sdk::Record::full);
    ask.filter = std::vector<std::string>{member.sid};
    if (host_.send(member.uuid, ask)) host_.count(sdk::PolicyCounter::ask_sent);
  });
}

void ContactDiscovery::message(const ServiceInfo& from, const Payload& packet) noexcept {
  if (stopped_ || !packet.op.has() || !packet.raw.has()) return;
  const bool ask = *packet.op == kOpAskList;
  if (!ask && *packet.op != kOpList) return;  // another discovery's
  const auto now = host_.loop().now();
  // A list nobody asked for is not acted on (a forger's way to make us connect anywhere): we
  // ask at contacts and syncs, and the answer comes within a second or two.
  if (!ask && now - last_ask_ > kListAnswerWindow) {
    refused_list(from, "unasked");
    return;
  }
  if (ask) {  // at most one answer a second per member: a loop of asks is not a loop of lists
    auto& last = answered_[from.uuid];
    if (now - last < std::chrono::seconds(1)) return;
    last = now;
  }
  sdk::guard_log(host_, options_.name + ": member list from " + from.uuid, [&] {
    learn_list(from, *packet.raw);
    if (ask && !stopped_) send_list(from, kOpList);
  });
}

void ContactDiscovery::stop() noexcept {
  if (stopped_) return;
  stopped_ = true;  // first: a send hook run by the goodbye may lead here again
  closed_ = true;
  stop_lookups();
  stop_source();
  if (started_) {
    sdk::guard_log(host_, options_.name + ": goodbye", [&] {
      Payload bye = host_.packet(PayloadType::disconnect, sdk::Record::full);
      bye.data.reset();  // like the beacon's: our tags, not our props
      for (const auto& m : host_.members()) {
        if (!ours(m)) continue;  // the beacon's multicast disconnect tells it
        Payload p = bye;
        host_.send(m.uuid, p);
      }
    });
  }
  if (tick_timer_ != 0) host_.loop().cancel(tick_timer_);
  if (mailbox_timer_ != 0) host_.loop().cancel(mailbox_timer_);
  tick_timer_ = mailbox_timer_ = 0;
  timers_.cancel_all();
  retry_armed_ = false;
}

bool ContactDiscovery::runs(const std::string& protocol) const {
  const Payload p = host_.packet(PayloadType::heartbeat);
  return p.protocols.has() && std::find(p.protocols->begin(), p.protocols->end(), protocol) != p.protocols->end();
}

void ContactDiscovery::set_contacts(std::vector<sdk::ContactPoint> contacts) {
  std::vector<Contact> fresh;
  for (auto& at : contacts) {
    // Props also carry keys that are no protocol (a failure detector's "swim {v 1}").
    if (!runs(at.protocol)) continue;
    Contact c;
    c.at = std::move(at);
    for (const auto& old : contacts_)
      if (old.at.protocol == c.at.protocol && old.at.ip == c.at.ip && old.at.props == c.at.props) {
        c.failing = old.failing;
        c.delay = old.delay;
        c.next_try = old.next_try;
      }
    fresh.push_back(std::move(c));
  }
  contacts_ = std::move(fresh);
  if (started_ && !stopped_) contact_unknown(false);
}

void ContactDiscovery::post_contacts(std::vector<sdk::ContactPoint> contacts) {
  if (closed_) return;
  std::lock_guard<std::mutex> lock(mailbox_.mutex);
  mailbox_.contacts = std::move(contacts);
}

void ContactDiscovery::post_log(sdk::LogLevel level, std::string message) {
  if (closed_) return;
  std::lock_guard<std::mutex> lock(mailbox_.mutex);
  if (mailbox_.logs.size() < 64) mailbox_.logs.emplace_back(level, std::move(message));
}

void ContactDiscovery::poll_mailbox() noexcept {
  mailbox_timer_ = 0;
  if (stopped_) return;
  sdk::guard_log(host_, options_.name + ": contacts", [&] {
    std::optional<std::vector<sdk::ContactPoint>> contacts;
    std::vector<std::pair<sdk::LogLevel, std::string>> logs;
    {
      std::lock_guard<std::mutex> lock(mailbox_.mutex);
      contacts.swap(mailbox_.contacts);
      logs.swap(mailbox_.logs);
    }
    for (auto& [level, line] : logs) host_.log(level, options_.name + ": " + line);
    if (contacts) set_contacts(std::move(*contacts));
  });
  if (!stopped_) mailbox_timer_ = host_.loop().after(kMailboxPoll, [this] { poll_mailbox(); });
}

void ContactDiscovery::tick() noexcept {
  tick_timer_ = 0;
  if (stopped_) return;
  on_tick();
  if (stopped_) return;
  for (auto it = contacted_.begin(); it != contacted_.end();)
    it = host_.loop().now() - it->second > options_.heartbeat * 2 ? contacted_.erase(it) : std::next(it);
  for (auto it = answered_.begin(); it != answered_.end();)
    it = host_.loop().now() - it->second > std::chrono::seconds(2) ? answered_.erase(it) : std::next(it);
  list_budget_ = 2 * host_.known() + 64;
  sdk::guard_log(host_, options_.name + ": heartbeat", [&] {
    heartbeat_members();
    contact_unknown(false);
    if (!stopped_ && host_.loop().now() >= next_sync_) {
      next_sync_ = host_.loop().now() + options_.sync;
      std::vector<ServiceInfo> candidates;
      for (auto& m : host_.members())
        if (ours(m) && !m.props.empty()) candidates.push_back(std::move(m));
      if (!candidates.empty())
        send_list(candidates[std::uniform_int_distribution<std::size_t>(0, candidates.size() - 1)(rng_)], kOpAskList);
    }
  });
  // One-shot, re-armed: stop() cancels the one pending.
  if (!stopped_) tick_timer_ = host_.loop().after(options_.heartbeat, [this] { tick(); });
}

// Each contact point that is not a member yet is tried again after 50 ms, then twice as long
// each time up to the sync period: a seed that is not up yet is met soon, one that stays down
// (or silent: a connect that never completes looks like success here) costs a connect attempt
// and a transport warning every sync period, not every heartbeat.
void ContactDiscovery::contact_unknown(bool all) {
  if (stopped_ || contacts_.empty()) return;
  const std::vector<ServiceInfo> members = host_.members();
  const auto now = host_.loop().now();
  std::chrono::steady_clock::time_point next{};
  for (auto& c : contacts_) {
    if (is_self(c.at)) continue;
    const bool known = std::any_of(members.begin(), members.end(), [&](const ServiceInfo& m) { return is_at(c.at, m); });
    if (known) {
      if (c.failing && !stopped_)
        host_.log(sdk::LogLevel::notice, options_.name + ": " + where(c.at) + " reached again");
      c.failing = false;
      c.delay = std::chrono::milliseconds(0);
      if (!all) continue;
    } else if (!all && now < c.next_try) {
      next = next == std::chrono::steady_clock::time_point{} ? c.next_try : std::min(next, c.next_try);
      continue;
    }
    contact(c, false, true);
    if (stopped_) return;  // a send hook left the cluster
    if (!known) {
      c.delay = std::clamp<std::chrono::milliseconds>(c.delay * 2, kRetryFirst, options_.sync);
      c.next_try = now + c.delay;
      next = next == std::chrono::steady_clock::time_point{} ? c.next_try : std::min(next, c.next_try);
    }
  }
  // The next retry before the next period: one timer for all.
  if (next != std::chrono::steady_clock::time_point{} && next < now + options_.heartbeat && !retry_armed_) {
    retry_armed_ = true;
    timers_.after(std::chrono::duration_cast<std::chrono::milliseconds>(next - now) + std::chrono::milliseconds(1), [this] {
      retry_armed_ = false;
      sdk::guard_log(host_, options_.name + ": retry", [&] { contact_unknown(false); });
    });
  }
}

std::string ContactDiscovery::where(const sdk::ContactPoint& at) {
  return at.protocol + " " + (at.ip.empty() ? std::string("(this host)") : at.ip) + " " + text::tcl_dict(at.props);
}

bool ContactDiscovery::contact(Contact& c, bool quiet, bool ask_list) {
  Payload p = host_.packet(PayloadType::discovery, sdk::Record::full);
  if (ask_list) {  // a contact point (a seed): ask for its list, and give ours (a split heals both ways)
    p.op = kOpAskList;
    p.raw = encode_member_list(list_for(ServiceInfo{}));
  }
  if (ask_list) last_ask_ = host_.loop().now();
  const sdk::Result r = host_.contact(c.at, p);
  if (!r && !c.failing && !quiet)  // said once; "reached again" when it is a member (contact_unknown)
    host_.log(sdk::LogLevel::notice, options_.name + ": cannot reach " + where(c.at) + ": " + r.message());
  if (!r) c.failing = true;
  return static_cast<bool>(r);
}

void ContactDiscovery::heartbeat_members() {
  if (stopped_) return;
  for (const auto& m : host_.members()) {
    if (!ours(m)) continue;
    Payload hb = host_.packet(PayloadType::heartbeat, sdk::Record::full);
    host_.send(m.uuid, hb);  // a failure is the failure detector's business (unreachable)
    if (stopped_) return;
  }
}

void ContactDiscovery::refused_list(const ServiceInfo& from, const std::string& why) {
  ++lists_refused_;
  const auto now = host_.loop().now();
  if (now - last_refusal_log_ < std::chrono::seconds(10)) return;
  host_.log(sdk::LogLevel::warning, options_.name + ": member list from " + text::printable(from.uuid, 80) + ": " + why +
                                        " (" + std::to_string(lists_refused_) + " lists refused or cut so far)");
  last_refusal_log_ = now;
}

void ContactDiscovery::send_list(const ServiceInfo& to, const char* op) {
  if (stopped_) return;
  if (*op == 'm' && std::string(op) == kOpAskList) last_ask_ = host_.loop().now();
  Payload p = host_.packet(PayloadType::heartbeat, sdk::Record::full);
  p.op = op;
  p.raw = encode_member_list(list_for(to));
  host_.send(to.uuid, p);
}

void ContactDiscovery::learn_list(const ServiceInfo& from, const std::string& raw) {
  std::vector<ListedMember> listed;
  if (!decode_member_list(raw, listed)) {
    refused_list(from, "unreadable");
    return;
  }
  const std::vector<ServiceInfo> members = host_.members();
  // A list longer than twice what we know (plus room to grow) is cut: members beyond it come
  // at later syncs, a forged list of thousands does not become thousands of connects.
  const std::size_t cap = 2 * members.size() + 64;
  if (listed.size() > cap) {
    refused_list(from, "cut to " + std::to_string(cap) + " of " + std::to_string(listed.size()) + " entries");
    listed.resize(cap);
  }
  const std::string self = host_.settings().sid + "@" + host_.settings().hid;
  const auto now = host_.loop().now();
  for (const auto& m : listed) {
    if (m.uuid == self || std::any_of(members.begin(), members.end(), [&](const ServiceInfo& k) { return k.uuid == m.uuid; }))
      continue;
    // Contacted lately (its answer may be on its way; other lists name it too): not again
    // before a heartbeat period.
    auto last = contacted_.find(m.uuid);
    if (last != contacted_.end() && now - last->second < options_.heartbeat) continue;
    if (list_budget_ == 0) {  // spent this period: the rest at the next list
      refused_list(from, "contact budget of the period spent");
      return;
    }
    contacted_[m.uuid] = now;
    for (auto& at : contact_points_of(m, from)) {
      if (!runs(at.protocol)) continue;  // a props key that is no protocol of ours ("swim")
      const std::string address = "@" + where(at);  // another uuid at the same address: once
      auto seen = contacted_.find(address);
      if (seen != contacted_.end() && now - seen->second < options_.heartbeat) break;
      contacted_[address] = now;
      --list_budget_;
      Contact c;
      c.at = std::move(at);
      if (contact(c, true, false)) break;  // else its next protocol (one we do not run, a local-only one)
      if (stopped_ || list_budget_ == 0) return;
    }
    if (stopped_) return;
  }
}

bool ContactDiscovery::ours(const ServiceInfo& member) const {
  // Heard over the group lately, and our beacon heartbeats on the group: the beacon keeps it.
  // Without a beacon of ours (protocols list c, discovery does not), it is ours all the same.
  const auto never = std::chrono::steady_clock::time_point{};
  return !host_.beacon() || member.heard_multicast == never ||
         host_.loop().now() - member.heard_multicast > host_.timings().ttl;
}

bool ContactDiscovery::is_self(const sdk::ContactPoint& c) {
  ServiceInfo self;
  Dict props;
  if (!text::parse_tcl_dict(host_.packet(PayloadType::heartbeat, sdk::Record::full).data.value_or(""), props))
    return false;
  for (const auto& [protocol, d] : props) {
    Dict pd;
    if (text::parse_tcl_dict(d, pd)) self.props.emplace_back(protocol, std::move(pd));
  }
  const Dict* mine = self.props_for(c.protocol);
  if (mine == nullptr || c.props.empty() || !has_all(*mine, c.props)) return false;
  return c.local || c.ip.empty() || c.ip == host_prop(*mine) || local_addresses_.is_local(c.ip);
}

std::vector<ListedMember> ContactDiscovery::list_for(const ServiceInfo& to) const {
  std::vector<ListedMember> out;
  for (const auto& m : host_.members()) {
    if (m.uuid == to.uuid || m.props.empty()) continue;
    out.push_back({m.uuid, m.ip, m.local, m.props});
  }
  return out;
}

}  // namespace cluster::plugins
