// file-peers: a discovery plugin (SDK 1.2) that finds members through a peers file instead of
// multicast, as an example for plugin authors.
//
// Selected with `[cluster] discovery = file-peers`. The file names where other members listen,
// one contact point per line:
//
//     # protocol  address  props the member advertises for that protocol
//     t 127.0.0.1 port=40123          # tcp: the peer's fixed [tcp] port
//     t 10.0.0.7  port=40123
//     u -         path=/run/b.sock    # unix: "-" = no address (this host)
//
// What it does, in the words of sdk/discovery.hpp:
// - start() and every `interval_ms`: our record goes to every contact of the file that is not a
//   member we know yet (a discovery packet through DiscoveryHost::contact(): the peer admits us
//   and answers with its record, which makes us admit it), and to every member we learned of (a
//   heartbeat through PolicyHost::send(): it keeps us alive in their failure detector, since no
//   multicast beacon runs). The file is re-read when its mtime/size/inode changed, so operators
//   add peers without a restart;
// - newcomer()/asked(): answer the member directly with a heartbeat carrying our record;
// - missing_record(): ask the member directly (a discovery filtered to its sid);
// - announce(): our record to every member we learned of; probe(): a discovery to every contact;
// - stop(): a disconnect to every member we learned of and to every contact not matched to one,
//   then the timer is cancelled.
//
// Rules every discovery follows (docs/plugin-guide.md, "Writing a discovery plugin"):
// - every call, in both directions, runs on the cluster's loop thread: no locks, and nothing
//   may block (reading a small local file is fine; a DNS or HTTP lookup would need a thread
//   whose results come back through host.loop().post());
// - the core never calls a discovery from inside another call into it, and packets' effects
//   run after the protocol's read callback returned: any method may send;
// - no exception leaves the plugin: every method is noexcept and catches what it may throw;
// - stop() cancels every timer; no host call follows it.
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <cluster/sdk.hpp>

namespace {

using cluster::Dict;
using cluster::Payload;
using cluster::PayloadType;
using cluster::ServiceInfo;
namespace sdk = cluster::sdk;
using namespace std::chrono_literals;

constexpr const char* kName = "file-peers";  // the discovery's name and the plugin's ini section

/// One line of the peers file.
struct Entry {
  std::string where;          ///< "peers.txt:3", for logs
  sdk::ContactPoint contact;  ///< what DiscoveryHost::contact() needs
  std::string member;         ///< uuid of the member it turned out to be ("" = not known yet)
  bool failing = false;       ///< the last contact failed (logged once, until it works again)
};

bool is_loopback(const std::string& ip) { return ip.rfind("127.", 0) == 0 || ip == "::1"; }

/// Parses one line (comments already cut). Returns "" and fills `e`, or the reason it is bad.
std::string parse_line(const std::string& line, Entry& e) {
  std::istringstream in(line);
  std::vector<std::string> words{std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
  if (words.size() < 2) return "expected '<protocol> <address or -> key=value...'";
  e.contact.protocol = words[0];
  e.contact.ip = words[1] == "-" ? std::string() : words[1];
  // Unix-like protocols reach this host only; the core refuses them for a contact not marked
  // local. "-" and loopback addresses are this host.
  e.contact.local = e.contact.ip.empty() || is_loopback(e.contact.ip);
  for (std::size_t i = 2; i < words.size(); ++i) {
    const std::size_t eq = words[i].find('=');
    if (eq == 0 || eq == std::string::npos || eq + 1 == words[i].size())
      return "'" + words[i] + "' is not key=value";
    e.contact.props.emplace_back(words[i].substr(0, eq), words[i].substr(eq + 1));
  }
  if (e.contact.props.empty()) return "no props: the peer's protocol needs e.g. port=40123 or path=/x.sock";
  return {};
}

/// Whether `member` is the one this entry points at: it runs the protocol and advertises the
/// same props for it (e.g. the same port), at the same address.
bool matches(const Entry& e, const ServiceInfo& member) {
  const Dict* props = member.props_for(e.contact.protocol);
  if (props == nullptr) return false;
  for (const auto& kv : e.contact.props)
    if (std::find(props->begin(), props->end(), kv) == props->end()) return false;
  if (e.contact.ip.empty() || (e.contact.local && member.local)) return member.local;
  return member.ip == e.contact.ip;
}

class FilePeers final : public sdk::Discovery {
 public:
  // Created by the factory registered in init, once per cluster that selects "file-peers", on
  // the loop thread (during join). `host` outlives this object. Nothing is sent before start().
  explicit FilePeers(sdk::DiscoveryHost& host) : host_(host) {
    path_ = host_.config().get("file");
    const std::int64_t ms = host_.config().get_int("interval_ms");
    // 0 = as often as a multicast beacon would heartbeat: the failure detector's ttl is a
    // multiple of that period, so members stay alive without a beacon.
    interval_ = ms > 0 ? std::chrono::milliseconds(ms) : host_.timings().heartbeat;
    if (interval_ <= 0ms) interval_ = 1s;
  }
  ~FilePeers() override { stop(); }
  FilePeers(const FilePeers&) = delete;
  FilePeers& operator=(const FilePeers&) = delete;

  // Loop thread, once, after the protocols started (so contact() and send() work). Announces us
  // to the file's contacts and starts the timer. A failure would fail the join; a missing or
  // unreadable file does not (it is logged: peers may be added later).
  sdk::Result start() noexcept override {
    tick();
    return sdk::Result::success();
  }

  // Loop thread: our record must go out now (tags or props changed, Cluster::heartbeat(), a
  // failure report, a ping naming us). No multicast of ours ever carries the record, so
  // Record::changed would mean the same as full here: always send it all, to every member we
  // learned of.
  void announce(sdk::Record /*what*/) noexcept override {
    try {
      heartbeat_members();
    } catch (const std::exception& e) {
      host_.log(sdk::LogLevel::error, std::string(kName) + ": announce: " + e.what());
    }
  }

  // Loop thread, Cluster::discover(): every contact is asked again, known or not; each answers
  // with its record.
  void probe() noexcept override {
    try {
      reload_if_changed();
      for (auto& e : entries_) contact(e);
    } catch (const std::exception& ex) {
      host_.log(sdk::LogLevel::error, std::string(kName) + ": probe: " + ex.what());
    }
  }

  // Loop thread, after the core admitted `member` from its discovery packet (our contact() to
  // it made it contact us back, or its file names us). Answer directly with our record, and
  // remember it: it gets our heartbeats from now on.
  void newcomer(const ServiceInfo& member) noexcept override { answer(member); }

  // Loop thread: `member` asked for our record specifically (a discovery filtered to us, e.g.
  // from missing_record() below, on its side). Same answer.
  void asked(const ServiceInfo& member) noexcept override { answer(member); }

  // Loop thread: we know `member` (a packet without its props came) but not its record. Ask it
  // directly: a discovery with our record, filtered to its sid, reaches its asked().
  void missing_record(const ServiceInfo& member, bool /*first*/) noexcept override {
    if (stopped_) return;
    try {
      learn(member);
      Payload ask = host_.packet(PayloadType::discovery, sdk::Record::full);
      ask.filter = std::vector<std::string>{member.sid};
      if (host_.send(member.uuid, ask)) host_.count(sdk::PolicyCounter::ask_sent);
      else forget(member.uuid);
    } catch (const std::exception& e) {
      host_.log(sdk::LogLevel::error, std::string(kName) + ": asking " + member.uuid + ": " + e.what());
    }
  }

  // Loop thread, from leave() (and the destructor, where it does nothing more): a disconnect
  // to every member we learned of and to every contact not matched to one of them (a member
  // that only answered our discoveries never called newcomer() here, yet knows us): they drop
  // us at once, reason "left", instead of after the ttl. Then the timer goes. Idempotent; no
  // host call follows.
  void stop() noexcept override {
    if (stopped_) return;
    stopped_ = true;
    try {
      Payload bye = host_.packet(PayloadType::disconnect, sdk::Record::full);
      bye.data.reset();  // like the multicast beacon's: our tags, not our props
      for (const auto& [uuid, sid] : members_) {
        Payload p = bye;  // send() may rewrite it (filter, hooks)
        host_.send(uuid, p);
      }
      for (const auto& e : entries_) {
        if (!e.member.empty() || e.failing) continue;  // told above, or not there
        Payload p = bye;
        host_.contact(e.contact, p);
      }
    } catch (const std::exception&) {
      // Nothing to do: members we could not tell expire after their ttl.
    }
    if (timer_ != 0) host_.loop().cancel(timer_);
    timer_ = 0;
    members_.clear();
  }

 private:
  // The periodic work, on the loop thread (from start() and from our timer): the file if it
  // changed, our record to the members we learned of and to the contacts not known yet.
  void tick() noexcept {
    timer_ = 0;
    if (stopped_) return;
    try {
      reload_if_changed();
      heartbeat_members();
      for (auto& e : entries_)
        if (e.member.empty()) contact(e);
    } catch (const std::exception& ex) {  // e.g. out of memory: try again next time
      host_.log(sdk::LogLevel::error, std::string(kName) + ": " + ex.what());
    }
    // One-shot timers, re-armed each time: stop() cancels the one pending.
    timer_ = host_.loop().after(interval_, [this] { tick(); });
  }

  // A discovery with our whole record to a contact point that is not a known member (yet).
  void contact(Entry& e) {
    Payload p = host_.packet(PayloadType::discovery, sdk::Record::full);
    const sdk::Result r = host_.contact(e.contact, p);
    if (!r && !e.failing)  // a peer that is down fails at every interval: said once
      host_.log(sdk::LogLevel::notice, std::string(kName) + ": " + e.where + ": " + r.message());
    else if (r && e.failing)
      host_.log(sdk::LogLevel::notice, std::string(kName) + ": " + e.where + ": reached again");
    e.failing = !r;
  }

  void answer(const ServiceInfo& member) noexcept {
    if (stopped_) return;
    try {
      learn(member);
      Payload hb = host_.packet(PayloadType::heartbeat, sdk::Record::full);
      if (!host_.send(member.uuid, hb)) forget(member.uuid);
    } catch (const std::exception& e) {
      host_.log(sdk::LogLevel::error, std::string(kName) + ": answering " + member.uuid + ": " + e.what());
    }
  }

  // Our record to every member we learned of. send() fails for a member the core no longer
  // knows (it left or expired) or cannot reach: forget it; if the file names it, the next tick
  // contacts it again.
  void heartbeat_members() {
    if (stopped_) return;
    std::vector<std::string> gone;
    for (const auto& [uuid, sid] : members_) {
      Payload hb = host_.packet(PayloadType::heartbeat, sdk::Record::full);
      if (!host_.send(uuid, hb)) gone.push_back(uuid);
    }
    for (const auto& uuid : gone) forget(uuid);
  }

  void learn(const ServiceInfo& member) {
    members_[member.uuid] = member.sid;
    for (auto& e : entries_)
      if (e.member.empty() && matches(e, member)) e.member = member.uuid;
  }

  void forget(const std::string& uuid) {
    members_.erase(uuid);
    for (auto& e : entries_)
      if (e.member == uuid) e.member.clear();
  }

  // Re-reads the file when it changed. Bad lines are logged with file:line, once per version of
  // the file, and skipped; the good ones are used.
  void reload_if_changed() {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) {
      if (!missing_logged_)
        host_.log(sdk::LogLevel::warning, std::string(kName) + ": cannot read peers file '" + path_ +
                                              "': no contacts until it appears");
      missing_logged_ = true;
      return;  // keep what we had: an editor may be replacing it
    }
    missing_logged_ = false;
    const Version v{st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_size, st.st_ino};
    if (loaded_ && v == version_) return;
    std::ifstream in(path_);
    if (!in) {
      host_.log(sdk::LogLevel::warning, std::string(kName) + ": cannot open peers file '" + path_ + "'");
      return;
    }
    loaded_ = true;
    version_ = v;
    std::vector<Entry> fresh;
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      line = line.substr(0, line.find('#'));
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      Entry e;
      e.where = path_ + ":" + std::to_string(n);
      const std::string bad = parse_line(line, e);
      if (!bad.empty()) {
        host_.log(sdk::LogLevel::warning, std::string(kName) + ": " + e.where + ": " + bad + ": line skipped");
        continue;
      }
      // An entry that stays keeps what we knew of it (its member, whether it was failing).
      for (const auto& old : entries_)
        if (old.contact.protocol == e.contact.protocol && old.contact.ip == e.contact.ip &&
            old.contact.props == e.contact.props) {
          e.member = old.member;
          e.failing = old.failing;
        }
      fresh.push_back(std::move(e));
    }
    host_.log(sdk::LogLevel::info, std::string(kName) + ": " + std::to_string(fresh.size()) + " contacts in " + path_);
    entries_ = std::move(fresh);
  }

  struct Version {
    std::int64_t sec, nsec, size;
    std::uint64_t inode;
    bool operator==(const Version& o) const {
      return sec == o.sec && nsec == o.nsec && size == o.size && inode == o.inode;
    }
  };

  sdk::DiscoveryHost& host_;
  std::string path_;
  std::chrono::milliseconds interval_{0};
  bool stopped_ = false;
  sdk::TimerId timer_ = 0;
  std::vector<Entry> entries_;
  Version version_{};
  bool loaded_ = false;
  bool missing_logged_ = false;
  std::map<std::string, std::string> members_;  ///< uuid -> sid of members we learned of
};

// The plugin's ini section [file-peers], validated by the host before init: unknown keys and
// values of the wrong type fail the load with file:line; absent keys get these defaults.
const sdk::ConfigKey kConfig[] = {
    {"file", sdk::ConfigType::string, "", "peers file: one '<protocol> <address|-> key=value...' a line, # comments"},
    {"interval_ms", sdk::ConfigType::integer, "0",
     "how often our record is re-sent to the contacts and members; 0 = the heartbeat period"},
};

// Runs once per load, with the validated section. Registers the discovery's factory; the core
// calls it once per cluster whose [cluster] discovery is "file-peers".
bool init(sdk::Registrar& registrar, std::string& error) noexcept {
  try {
    if (registrar.config().get("file").empty()) {
      error = "[file-peers] file is required (the peers file)";
      return false;
    }
    if (registrar.config().get_int("interval_ms") < 0) {
      error = "[file-peers] interval_ms must be 0 (the heartbeat period) or more";
      return false;
    }
    registrar.add_discovery(kName, [](sdk::DiscoveryHost& host) -> std::unique_ptr<sdk::Discovery> {
      return std::make_unique<FilePeers>(host);
    });
    return true;
  } catch (const std::exception& e) {
    error = e.what();
    return false;
  }
}

}  // namespace

CLUSTER_PLUGIN("file-peers", "1.0.0", "example discovery: members found through a peers file", kConfig,
               static_cast<std::uint32_t>(std::size(kConfig)), init, nullptr)
