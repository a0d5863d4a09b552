// The part every discovery without multicast shares (seeds, dns, etcd): it is given contact
// points (addresses where members may listen) and makes one cluster of them.
//
// What it carries instead of the group (docs/discovery.md, "Without multicast"):
// - joining: our record and our member list (a discovery packet, op "members?", the list in
//   `raw`) go to every contact point that is not a member we know; the member admits us,
//   answers with its record, and with its own list (a heartbeat, op "members"); we contact
//   every member of that list we do not know, with our record only (each answers with its
//   record). A newcomer that reaches one member learns every member in one round trip;
// - liveness and record changes: a heartbeat with our whole record to every member not on our
//   segment (members heard over the group get the multicast beacon's instead), every
//   heartbeat period: N - 1 direct sends per member and period;
// - healing: every sync period our list goes to one random member (op "members?"), which
//   contacts whom it lacks and answers with its own list; contact points that are not members
//   (a seed back after a partition) are contacted at every heartbeat period;
// - leaving: a disconnect to every member we heartbeat.
// Events and queries to many need nothing from here: the core sends directly to members that
// are not on our segment (ServiceInfo::heard_multicast).
//
// Threads: everything on the loop thread, except post_contacts(), which a source's own thread
// (a resolver, an etcd watch) calls; its results are picked up by a timer on the loop thread,
// so no closure of this plugin is ever left in the loop's queue after stop().
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <cluster/sdk.hpp>
#include <cluster/sdk/timers.hpp>

#include "net.hpp"

namespace cluster::plugins {

struct ContactDiscoveryOptions {
  std::string name;                        ///< the discovery's name: logs and found_by
  std::chrono::milliseconds heartbeat{0};  ///< our record to members; 0 = [cluster] heartbeat
  std::chrono::milliseconds sync{30000};   ///< member lists exchanged with one random member
  bool polls_mailbox = false;              ///< the source posts from a thread (post_contacts)
};

/// The keys every contact discovery's section has (after its own), their ranges, and the
/// options they make.
inline constexpr sdk::ConfigKey kHeartbeatKey{
    "heartbeat_ms", sdk::ConfigType::integer, "0",
    "how often our record goes to every member we reach directly; 0 = [cluster] heartbeat"};
inline constexpr sdk::ConfigKey kSyncKey{"sync_ms", sdk::ConfigType::integer, "30000",
                                         "how often member lists are exchanged with one random member"};
inline constexpr sdk::ConfigRange kHeartbeatRange{"heartbeat_ms", 0, 3600000};
inline constexpr sdk::ConfigRange kSyncRange{"sync_ms", 100, 3600000};
ContactDiscoveryOptions contact_options(const sdk::PluginConfig& config, std::string name, bool polls_mailbox);

/// One member of a member list (the `raw` of op "members"/"members?").
struct ListedMember {
  std::string uuid;
  std::string ip;      ///< as the sender sees it ("" = unknown)
  bool local = false;  ///< on the sender's host
  std::vector<std::pair<std::string, Dict>> props;  ///< per protocol, the member's priority order
};

/// Encodes / decodes a member list (a Tcl list of {uuid ip local props}); decode skips entries
/// it cannot read and returns false only when the list itself is not a Tcl list.
std::string encode_member_list(const std::vector<ListedMember>& members);
bool decode_member_list(std::string_view raw, std::vector<ListedMember>& out);

/// The contact points a listed member may be reached at, seen from us (who got the list from
/// `sender`): its direct protocols in its order, with the sender's address for a member on
/// the sender's host, and its advertised `host` when it has one.
std::vector<sdk::ContactPoint> contact_points_of(const ListedMember& m, const ServiceInfo& sender);

/// Whether `member` is the one listening at contact point `c`.
bool is_at(const sdk::ContactPoint& c, const ServiceInfo& member);

class ContactDiscovery : public sdk::Discovery {
 public:
  ContactDiscovery(sdk::DiscoveryHost& host, ContactDiscoveryOptions options);
  ~ContactDiscovery() override;
  ContactDiscovery(const ContactDiscovery&) = delete;
  ContactDiscovery& operator=(const ContactDiscovery&) = delete;

  sdk::Result start() noexcept final;
  void announce(sdk::Record what) noexcept final;
  void probe() noexcept final;
  void newcomer(const ServiceInfo& member) noexcept final;
  void asked(const ServiceInfo& member) noexcept final;
  void missing_record(const ServiceInfo& member, bool first) noexcept final;
  void stop() noexcept final;
  void message(const ServiceInfo& from, const Payload& packet) noexcept final;

 protected:
  sdk::DiscoveryHost& host() noexcept { return host_; }
  const ContactDiscoveryOptions& options() const noexcept { return options_; }
  /// Loop thread: the source's contact points are now these (the previous set is replaced);
  /// new ones are contacted at once.
  void set_contacts(std::vector<sdk::ContactPoint> contacts);
  /// Any thread: the same, applied on the loop thread within kMailboxPoll. Ignored after stop().
  void post_contacts(std::vector<sdk::ContactPoint> contacts);
  /// Any thread: a line for the member's log, written on the loop thread (same delivery).
  void post_log(sdk::LogLevel level, std::string message);
  /// Loop thread, from start_source(): fails unless `protocol` is a direct protocol we run (it
  /// advertises props), with what we do run: a typo would otherwise fail every contact forever.
  sdk::Result check_protocol(const std::string& protocol, const std::string& key);
  /// Runs in start(), before anything is sent: start the source (set_contacts, start_lookups).
  /// A failure fails the join. Loop thread.
  virtual sdk::Result start_source() { return sdk::Result::success(); }
  /// Runs first in stop(), after the lookup thread ended: stop the rest of the source. Loop
  /// thread.
  virtual void stop_source() noexcept {}
  /// Every heartbeat period, on the loop thread (e.g. to publish our record where it changed).
  virtual void on_tick() noexcept {}
  /// A blocking lookup (DNS, getaddrinfo): the contact points, or nullopt to keep the last ones
  /// (it failed: say why with post_log).
  using Lookup = std::function<std::optional<std::vector<sdk::ContactPoint>>()>;
  /// Starts a thread that runs `lookup` now and then every `every` until stop(), posting what it
  /// finds (post_contacts). Once, from start_source(); needs options().polls_mailbox.
  void start_lookups(std::chrono::milliseconds every, Lookup lookup);
  /// Ends the lookup thread (stop() does it too). A subclass whose lookup uses its own members
  /// calls it first in its destructor: the thread must not outlive them.
  void stop_lookups() noexcept;
  /// Lookup thread: stop() is waiting (a lookup of several names stops between two).
  bool lookups_stopping() noexcept {
    std::lock_guard<std::mutex> lock(lookups_mutex_);
    return lookups_stopping_;
  }

 private:
  struct Contact {
    sdk::ContactPoint at;
    bool failing = false;  ///< a contact failed (said once, until it is a member)
    std::chrono::milliseconds delay{0};              ///< until the next try while not a member
    std::chrono::steady_clock::time_point next_try{};
  };
  static std::string where(const sdk::ContactPoint& at);
  /// Counts a list refused or cut, and says so at most once per 10 s.
  void refused_list(const ServiceInfo& from, const std::string& why);
  void tick() noexcept;
  void poll_mailbox() noexcept;
  void contact_unknown(bool all);
  /// Sends our record to `c`; `ask_list`: also our member list, asking for its (op "members?").
  bool contact(Contact& c, bool quiet, bool ask_list);
  void heartbeat_members();
  void send_list(const ServiceInfo& to, const char* op);
  void learn_list(const ServiceInfo& from, const std::string& raw);
  /// Whether we carry `member`'s heartbeats: it is not heard over the group lately.
  bool ours(const ServiceInfo& member) const;
  /// Whether contact point `c` is our own listener (a seeds list names every seed, us too).
  bool is_self(const sdk::ContactPoint& c);
  std::vector<ListedMember> list_for(const ServiceInfo& to) const;

  sdk::DiscoveryHost& host_;
  ContactDiscoveryOptions options_;
  bool started_ = false;
  bool stopped_ = false;
  sdk::Timers timers_{host_.loop()};
  sdk::TimerId tick_timer_ = 0;
  sdk::TimerId mailbox_timer_ = 0;
  std::chrono::steady_clock::time_point next_sync_{};
  /// Whether `protocol` is one of ours (props keys may be other things, e.g. "swim").
  bool runs(const std::string& protocol) const;
  bool retry_armed_ = false;  ///< a retry of contact points before the next period is pending
  // Member lists (defences against forged ones, see message() and learn_list()).
  std::chrono::steady_clock::time_point last_ask_{};  ///< we last asked for a list
  std::map<std::string, std::chrono::steady_clock::time_point> answered_;  ///< uuid -> our last list to it
  std::size_t list_budget_ = 64;  ///< contacts from lists left this period
  std::uint64_t lists_refused_ = 0;
  std::chrono::steady_clock::time_point last_refusal_log_{};
  std::vector<Contact> contacts_;
  /// Listed members (uuid) and addresses ("@t 10.0.0.1 port 7400") we contacted lately, and
  /// when: another list naming them waits a period.
  std::map<std::string, std::chrono::steady_clock::time_point> contacted_;
  std::mt19937_64 rng_{std::random_device{}()};
  transport::LocalAddresses local_addresses_;

  // Filled by post_contacts/post_log on any thread, drained by poll_mailbox on the loop thread.
  struct Mailbox {
    std::mutex mutex;
    std::optional<std::vector<sdk::ContactPoint>> contacts;
    std::vector<std::pair<sdk::LogLevel, std::string>> logs;
  };
  Mailbox mailbox_;
  std::atomic<bool> closed_{false};  ///< stop() ran: posts are dropped

  // The lookup thread (start_lookups): stop() wakes it and joins it; a lookup in progress ends
  // within its own timeout (the resolver's).
  std::thread lookups_;
  std::mutex lookups_mutex_;
  std::condition_variable lookups_wake_;
  bool lookups_stopping_ = false;
};

}  // namespace cluster::plugins
