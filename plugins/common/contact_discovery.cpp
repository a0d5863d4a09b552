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
  sdk::guard_log(host_, options_.name + ": member list from " + from.uuid, [&] {
    learn_list(from, *packet.raw);
    if (ask) send_list(from, kOpList);
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

void ContactDiscovery::set_contacts(std::vector<sdk::ContactPoint> contacts) {
  std::vector<Contact> fresh;
  for (auto& at : contacts) {
    Contact c{std::move(at), false};
    for (const auto& old : contacts_)
      if (old.at.protocol == c.at.protocol && old.at.ip == c.at.ip && old.at.props == c.at.props) c.failing = old.failing;
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
  sdk::guard_log(host_, options_.name + ": heartbeat", [&] {
    heartbeat_members();
    contact_unknown(false);
    if (host_.loop().now() >= next_sync_) {
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

void ContactDiscovery::contact_unknown(bool all) {
  if (stopped_ || contacts_.empty()) return;
  const std::vector<ServiceInfo> members = host_.members();
  bool failing = false;
  for (auto& c : contacts_) {
    if (is_self(c.at)) continue;
    const bool known = std::any_of(members.begin(), members.end(), [&](const ServiceInfo& m) { return is_at(c.at, m); });
    if (!known || all) failing |= !contact(c, false, true);
    if (stopped_) return;  // a send hook left the cluster
  }
  if (!failing) {
    retry_delay_ = kRetryFirst;
  } else if (!retry_armed_) {
    retry_armed_ = true;
    timers_.after(retry_delay_, [this] {
      retry_armed_ = false;
      sdk::guard_log(host_, options_.name + ": retry", [&] { contact_unknown(false); });
    });
    retry_delay_ = std::min<std::chrono::milliseconds>(retry_delay_ * 2, options_.heartbeat);
  }
}

bool ContactDiscovery::contact(Contact& c, bool quiet, bool ask_list) {
  Payload p = host_.packet(PayloadType::discovery, sdk::Record::full);
  if (ask_list) {  // a contact point (a seed): ask for its list, and give ours (a split heals both ways)
    p.op = kOpAskList;
    p.raw = encode_member_list(list_for(ServiceInfo{}));
  }
  const sdk::Result r = host_.contact(c.at, p);
  const std::string where = c.at.protocol + " " + (c.at.ip.empty() ? std::string("(this host)") : c.at.ip) + " " +
                            text::tcl_dict(c.at.props);
  if (!r && !c.failing && !quiet)  // a seed that is down fails at every period: said once
    host_.log(sdk::LogLevel::notice, options_.name + ": cannot reach " + where + ": " + r.message());
  else if (r && c.failing && !quiet)
    host_.log(sdk::LogLevel::notice, options_.name + ": " + where + " reached again");
  c.failing = !r;
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

void ContactDiscovery::send_list(const ServiceInfo& to, const char* op) {
  Payload p = host_.packet(PayloadType::heartbeat, sdk::Record::full);
  p.op = op;
  p.raw = encode_member_list(list_for(to));
  host_.send(to.uuid, p);
}

void ContactDiscovery::learn_list(const ServiceInfo& from, const std::string& raw) {
  std::vector<ListedMember> listed;
  if (!decode_member_list(raw, listed)) {
    host_.log(sdk::LogLevel::warning, options_.name + ": unreadable member list from " + from.uuid);
    return;
  }
  const std::vector<ServiceInfo> members = host_.members();
  const std::string self = host_.settings().sid + "@" + host_.settings().hid;
  const auto now = host_.loop().now();
  for (const auto& m : listed) {
    if (m.uuid == self || std::any_of(members.begin(), members.end(), [&](const ServiceInfo& k) { return k.uuid == m.uuid; }))
      continue;
    // Contacted lately (its answer may be on its way; other lists name it too): not again
    // before a heartbeat period.
    auto last = contacted_.find(m.uuid);
    if (last != contacted_.end() && now - last->second < options_.heartbeat) continue;
    contacted_[m.uuid] = now;
    for (auto& at : contact_points_of(m, from)) {
      Contact c{std::move(at), false};
      if (contact(c, true, false)) break;  // else its next protocol (one we do not run, a local-only one)
      if (stopped_) return;
    }
  }
}

bool ContactDiscovery::ours(const ServiceInfo& member) const {
  const auto never = std::chrono::steady_clock::time_point{};
  return member.heard_multicast == never || host_.loop().now() - member.heard_multicast > host_.timings().ttl;
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
