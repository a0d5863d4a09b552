// Malformed flood: random bytes and mutated packets (bit flips, truncations, splices of the
// golden vectors and of packets encoded for this host) at the multicast group, at a member's
// TCP listener and at its Unix socket, for 4 s (fast) or 30 s (full), while two members keep
// exchanging events and queries. Nothing may crash, the valid traffic must all arrive, and the
// victim's drop counters must rise.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "cluster/bpacket/payload_codec.hpp"
#include "cluster/payload.hpp"
#include "harness.hpp"

namespace rel {
namespace {

/// Every packet of the golden vectors: each quoted string of hex digits (4 or more, an even
/// count) in tests/data/vectors/*.jsonl ("hex" and "chunks" values).
std::vector<std::string> golden_packets() {
  std::vector<std::string> out;
  auto hex_digit = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
  for (const char* file : {"bpacket.jsonl", "malformed.jsonl"}) {
    std::ifstream in(std::string(CLUSTER_VECTORS_DIR) + "/" + file);
    for (std::string line; std::getline(in, line);) {
      for (std::size_t q = line.find('"'); q != std::string::npos;) {
        const std::size_t end = line.find('"', q + 1);
        if (end == std::string::npos) break;
        const std::string h = line.substr(q + 1, end - q - 1);
        if (h.size() >= 4 && h.size() % 2 == 0 && std::all_of(h.begin(), h.end(), hex_digit)) {
          std::string bytes;
          for (std::size_t i = 0; i < h.size(); i += 2)
            bytes.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
          out.push_back(std::move(bytes));
        }
        q = line.find('"', end + 1);
      }
    }
  }
  return out;
}

/// Makes junk: random bytes, packets encoded for this host (our hid, random sids, random
/// fields), and mutations of both and of the golden vectors.
class Junk {
 public:
  Junk(std::uint32_t seed, std::string hid, std::string victim_sid)
      : rng_(seed), hid_(std::move(hid)), victim_(std::move(victim_sid)), golden_(golden_packets()) {}

  std::size_t golden_count() const { return golden_.size(); }

  std::string random_bytes(std::size_t max_len) {
    std::string s(upto(max_len), '\0');
    for (char& c : s) c = static_cast<char>(byte());
    return s;
  }

  /// A well-formed packet from a made-up member of this host (never one of the test's own
  /// members: a forged disconnect would rightly make the others drop it).
  std::string encoded() {
    cluster::Payload p;
    if (coin(90)) p.type = upto(10);
    if (coin(80)) p.channel = pick<std::uint64_t>({0, 0, 0, 1, 2, 7, 1ULL << 40});
    if (coin(95)) p.hid = coin(90) ? hid_ : random_text(17);
    if (coin(95)) p.sid = random_text(8);
    if (coin(50)) p.known = upto(1000);
    if (coin(90)) p.protocols = pick<cluster::StringList>({{"t", "c"}, {"u", "t", "c"}, {"c"}, {"t"}, {}, {"x", "c"}});
    if (coin(60)) {
      p.data = pick<std::string>({"t {port " + std::to_string(1 + upto(1023)) + "}",  // nothing listens there
                                  "u {path /nonexistent/cluster-x.sock}", "{unbalanced", "", random_text(40),
                                  "protocols {t u}", "ping"});
    }
    if (coin(30)) p.tags = cluster::StringList{random_text(5), "db"};
    if (coin(40)) p.filter = coin(50) ? cluster::StringList{victim_} : cluster::StringList{random_text(8)};
    if (coin(30)) p.ruid = random_text(12);
    if (coin(30)) p.keepalive = coin(50);
    if (coin(10)) p.error = random_text(10);
    std::string out;
    cluster::bpacket::encode_payload(p, out);
    return out;
  }

  std::string golden() { return golden_.empty() ? random_bytes(64) : golden_[upto(golden_.size())]; }

  /// Bit flips, byte stores, truncation, extension, duplication or a splice.
  std::string mutate(std::string s) {
    const int rounds = 1 + static_cast<int>(upto(4));
    for (int r = 0; r < rounds; ++r) {
      switch (upto(7)) {
        case 0:
          if (!s.empty()) s[upto(s.size())] ^= static_cast<char>(1u << upto(8));
          break;
        case 1:
          if (!s.empty()) s[upto(s.size())] = static_cast<char>(byte());
          break;
        case 2:
          if (!s.empty()) s.resize(upto(s.size()));
          break;
        case 3: s += random_bytes(16); break;
        case 4: s += s.substr(0, std::min<std::size_t>(s.size(), 512)); break;
        case 5: s = s.substr(0, upto(s.size() + 1)) + golden(); break;
        case 6:  // a huge declared length
          if (s.size() > 3) s[2] = static_cast<char>(0xff);
          break;
      }
    }
    return s;
  }

  /// One datagram's worth; `kind` says what it was (0 random, 1 mutated golden, 2 mutated
  /// encoded, 3 intact encoded).
  std::string datagram(int& kind) {
    const auto r = upto(100);
    if (r < 35) {
      kind = 0;
      return random_bytes(1400);
    }
    if (r < 60) {
      kind = 1;
      return mutate(golden());
    }
    if (r < 90) {
      kind = 2;
      return mutate(encoded());
    }
    kind = 3;
    return encoded();
  }

  /// A stream's worth: junk and frames back to back.
  std::string stream() {
    std::string s;
    const int parts = 1 + static_cast<int>(upto(12));
    for (int i = 0; i < parts; ++i) {
      switch (upto(4)) {
        case 0: s += random_bytes(2048); break;
        case 1: s += mutate(golden()); break;
        case 2: s += mutate(encoded()); break;
        case 3: s += encoded(); break;
      }
    }
    return s;
  }

 private:
  std::size_t upto(std::size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }
  unsigned byte() { return static_cast<unsigned>(upto(256)); }
  bool coin(int percent) { return upto(100) < static_cast<std::size_t>(percent); }
  std::string random_text(std::size_t n) {
    static const char kAlnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::string s(n, 'a');
    for (char& c : s) c = kAlnum[upto(sizeof kAlnum - 1)];
    return s;
  }
  template <class T>
  T pick(std::initializer_list<T> options) {
    return *(options.begin() + upto(options.size()));
  }

  std::mt19937 rng_;
  std::string hid_, victim_;
  std::vector<std::string> golden_;
};

/// Writes `data` to a fresh stream connection (TCP port or Unix path), then closes it, half of
/// the time with a reset. Bounded: 200 ms to connect, 200 ms per write.
bool stream_junk(const std::string& unix_path, int tcp_port, const std::string& data, bool reset) {
  const bool is_unix = !unix_path.empty();
  const int fd = ::socket(is_unix ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval tv{0, 200000};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int rc;
  if (is_unix) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, unix_path.c_str(), sizeof a.sun_path - 1);
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(tcp_port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  }
  bool ok = rc == 0;
  std::size_t done = 0;
  while (ok && done < data.size()) {
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  if (reset) {
    linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  ::close(fd);
  return ok;
}

struct FloodStats {
  std::atomic<std::uint64_t> datagrams{0}, random_datagrams{0}, intact_datagrams{0}, bytes{0};
  std::atomic<std::uint64_t> tcp_connections{0}, tcp_refused{0}, unix_connections{0}, unix_refused{0};
};

class Flood : public ReliabilityTest {};

TEST_F(Flood, MalformedTrafficIsDroppedAndValidTrafficFlows) {
  const milliseconds duration = full_mode() ? milliseconds(30000) : milliseconds(4000);
  MemberOptions o;
  o.ttl = milliseconds(5000);  // the flood may cost the victim a few heartbeats, not 25
  Member& v = spawn("victim", o);
  Member& s = spawn("sender", o);
  ASSERT_TRUE(await_joined({&v, &s}));
  ASSERT_TRUE(await_discovered({&v, &s}, [&](Member* m) { return std::set<std::string>{m == &v ? s.uuid : v.uuid}; },
                               scaled(milliseconds(5000))));
  ASSERT_EQ(v.proc->command("answer", {"answering"}), "answering");
  ASSERT_EQ(s.proc->command("answer", {"answering"}), "answering");
  ASSERT_FALSE(await_peer_prop(s, v, "u", "path").empty());
  ASSERT_FALSE(await_peer_prop(v, s, "u", "path").empty());

  std::mutex target_mu;
  std::string props = own_props(v);
  int tcp_port = std::atoi(prop(props, "t", "port").c_str());
  std::string unix_path = prop(props, "u", "path");
  ASSERT_GT(tcp_port, 0) << props;
  ASSERT_FALSE(unix_path.empty()) << props;
  auto before = counters(v);
  const std::string hid = v.uuid.substr(v.uuid.find('@') + 1);

  // The flooder: its own thread, bounded in time and count.
  FloodStats st;
  std::atomic<bool> stop{false};
  std::string flood_error;
  Junk junk(seed_, hid, v.sid);
  std::cout << "[ info     ] " << junk.golden_count() << " golden packets to mutate\n";
  std::thread flooder;
  struct Joiner {  // whatever happens below (an ASSERT returns early), the flooder stops
    std::atomic<bool>& stop;
    std::thread& thread;
    ~Joiner() {
      stop = true;
      if (thread.joinable()) thread.join();
    }
  } joiner{stop, flooder};
  flooder = std::thread([&] {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      flood_error = std::string("socket: ") + std::strerror(errno);
      return;
    }
    sockaddr_in group{};
    group.sin_family = AF_INET;
    group.sin_port = htons(static_cast<std::uint16_t>(port_));
    ::inet_pton(AF_INET, "239.255.78.2", &group.sin_addr);
    const int ttl = 0;  // this host only (and the namespace has only lo anyway)
    ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
    std::uint64_t iteration = 0;
    while (!stop && iteration < 200000) {
      ++iteration;
      for (int i = 0; i < 16; ++i) {
        int kind = 0;
        const std::string d = junk.datagram(kind);
        if (::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&group), sizeof group) >= 0) {
          ++st.datagrams;
          st.bytes += d.size();
          if (kind == 0) ++st.random_datagrams;
          if (kind == 3) ++st.intact_datagrams;
        }
      }
      if (iteration % 8 == 0) {
        std::string path;
        int port;
        {
          std::lock_guard<std::mutex> lock(target_mu);
          path = unix_path;
          port = tcp_port;
        }
        if (stream_junk({}, port, junk.stream(), iteration % 16 == 0)) ++st.tcp_connections;
        else ++st.tcp_refused;
        if (stream_junk(path, 0, junk.stream(), iteration % 16 == 8)) ++st.unix_connections;
        else ++st.unix_refused;
      }
      std::this_thread::sleep_for(milliseconds(2));
    }
    ::close(fd);
  });

  // Meanwhile: an event from the sender every 40 ms, a query every 10th, an event back from
  // the victim every 5th; the victim's props re-read every second (a forged failure report
  // makes it recreate its servers).
  const auto t0 = Clock::now();
  int events = 0, back = 0, queries = 0, answered = 0;
  auto next_props = t0 + milliseconds(1000);
  std::set<int> ports_seen{tcp_port};
  while (Clock::now() - t0 < duration && events < 5000) {
    ++events;
    // By uuid: a forged member may well carry the victim's sid among its tags.
    EXPECT_EQ(s.proc->command("send " + v.uuid + " ev" + std::to_string(events), {"sent "}), "sent 1");
    if (events % 5 == 0) {
      ++back;
      EXPECT_EQ(v.proc->command("send " + s.uuid + " back" + std::to_string(back), {"sent "}), "sent 1");
    }
    if (events % 10 == 0) {
      ++queries;
      const std::string q = "q" + std::to_string(queries);
      const std::string reply = s.proc->command("query " + v.uuid + " " + q + " 3000", {"answers ", "timeout ", "stuck "});
      if (reply == "answers 1 " + v.uuid + "=" + v.sid + ":" + q) ++answered;
      else ADD_FAILURE() << "query " << q << " during the flood: " << reply;
    }
    if (Clock::now() >= next_props) {
      next_props = Clock::now() + milliseconds(1000);
      const std::string p = own_props(v);
      std::lock_guard<std::mutex> lock(target_mu);
      if (const int port = std::atoi(prop(p, "t", "port").c_str()); port > 0) {
        tcp_port = port;
        ports_seen.insert(port);
      }
      if (const std::string path = prop(p, "u", "path"); !path.empty()) unix_path = path;
    }
    wait_until({v.proc.get(), s.proc.get()}, [] { return false; }, Clock::now() + milliseconds(40));
    ASSERT_TRUE(v.proc->alive()) << "the victim died during the flood (wait status " << v.proc->status() << ")";
    ASSERT_TRUE(s.proc->alive()) << "the sender died during the flood (wait status " << s.proc->status() << ")";
  }
  stop = true;
  flooder.join();
  const auto flood_ms = ms_between(t0, Clock::now());
  ASSERT_EQ(flood_error, "");

  // Every event arrived, in any order, over whatever protocol.
  auto received = [](Member& at, const std::string& from, const std::string& prefix, int n) {
    std::set<std::string> got;
    for (const auto& l : at.proc->lines()) {
      const auto w = words(l.text);
      if (w.size() == 4 && w[0] == "event" && w[1] == from && starts_with(w[3], prefix)) got.insert(w[3]);
    }
    return static_cast<int>(got.size()) == n;
  };
  const bool all = wait_until(
      {v.proc.get(), s.proc.get()},
      [&] { return received(v, s.uuid, "ev", events) && received(s, v.uuid, "back", back); },
      Clock::now() + scaled(milliseconds(5000)));
  EXPECT_TRUE(all) << "valid events were lost during the flood";

  auto after = counters(v);
  const auto delta = [&](const char* k) { return after[k] - before[k]; };
  const unsigned long long drops = delta("dropped_malformed") + delta("dropped_invalid") + delta("dropped_channel") +
                                   delta("dropped_filter") + delta("dropped_remote") + delta("dropped_hook");
  std::cout << "[ info     ] flood of " << flood_ms << " ms: " << st.datagrams << " datagrams (" << st.random_datagrams
            << " random, " << st.intact_datagrams << " intact forged, " << st.bytes / 1024 << " KiB), "
            << st.tcp_connections << " TCP connections (" << st.tcp_refused << " refused), " << st.unix_connections
            << " Unix connections (" << st.unix_refused << " refused)\n";
  std::cout << "[ info     ] valid traffic meanwhile: " << events << " events sender->victim, " << back
            << " back, " << queries << " queries (" << answered << " answered)\n";
  std::cout << "[ info     ] victim's counters (delta): received " << delta("received") << ", dropped_malformed "
            << delta("dropped_malformed") << ", dropped_invalid " << delta("dropped_invalid") << ", dropped_channel "
            << delta("dropped_channel") << ", dropped_filter " << delta("dropped_filter") << ", dropped_remote "
            << delta("dropped_remote") << ", send_failures " << delta("send_failures") << ", unreachable "
            << delta("unreachable") << "\n";
  const auto known = members_of(v);
  ASSERT_TRUE(known.has_value()) << "the victim does not answer 'members' after the flood";
  std::cout << "[ info     ] the victim knows " << known->size() << " members after the flood (forged ones expire); "
            << "its TCP listener had " << ports_seen.size() << " different ports (forged failure reports make it "
            << "recreate its servers)\n";

  EXPECT_GT(st.random_datagrams, 100u) << "the flood was too small to mean anything";
  EXPECT_GT(st.tcp_connections + st.unix_connections, 10u) << "too few stream connections";
  // Random bytes almost never frame: each such datagram the victim read counts once. The
  // socket may drop some under the burst, so ask for a quarter.
  EXPECT_GE(delta("dropped_malformed"), st.random_datagrams / 4) << "dropped_malformed did not rise with the flood";
  EXPECT_GT(drops, delta("dropped_malformed")) << "only malformed drops: the forged packets never got further";
  EXPECT_EQ(answered, queries);
  // The two members never lost each other.
  for (Member* m : {&v, &s}) {
    const std::string other = m == &v ? s.uuid : v.uuid;
    EXPECT_FALSE(m->proc->find_prefix("lost " + other).has_value()) << m->name << " lost its peer during the flood";
  }
  EXPECT_TRUE(known->count(s.uuid)) << "the victim forgot the sender";
}

// Regression test for finding 6 (docs/testing.md, "Findings", fixed in 352a1ab): a forged
// member id with a control character (a newline faked whole lines in clusterd's log) is
// refused as invalid, while the same packet with a clean id makes a (forged) member, which
// shows the packets do reach the victim.
TEST_F(Flood, MemberIdsWithControlCharactersAreRefused) {
  Member& v = spawn("victim");
  ASSERT_TRUE(await_joined({&v}));
  const std::string hid = v.uuid.substr(v.uuid.find('@') + 1);
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in group{};
  group.sin_family = AF_INET;
  group.sin_port = htons(static_cast<std::uint16_t>(port_));
  ::inet_pton(AF_INET, "239.255.78.2", &group.sin_addr);
  auto forge = [&](const std::string& sid, const std::string& h) {
    cluster::Payload p;
    p.type = 1;  // heartbeat
    p.channel = 0;
    p.sid = sid;
    p.hid = h;
    p.protocols = cluster::StringList{"c"};
    p.data = std::string();
    std::string out;
    cluster::bpacket::encode_payload(p, out);
    for (int i = 0; i < 3; ++i)
      ::sendto(fd, out.data(), out.size(), 0, reinterpret_cast<const sockaddr*>(&group), sizeof group);
  };
  auto before = counters(v);
  forge("ab\n2026-01-01 00:00:00.000 Information clusterd: lost REAL@member (left)", hid);
  forge("cd\x1b[2Jxy", hid);
  forge("efghijkl", hid + "\r");
  forge("cleanid1", hid);  // the control: accepted
  ::close(fd);
  std::optional<std::set<std::string>> known;
  wait_until(
      {v.proc.get()},
      [&] {
        known = members_of(v);
        return known && known->count("cleanid1@" + hid) != 0;
      },
      Clock::now() + scaled(milliseconds(3000)));
  ASSERT_TRUE(known.has_value());
  EXPECT_EQ(known->count("cleanid1@" + hid), 1u) << "the clean forged member never arrived: the test proves nothing";
  EXPECT_EQ(known->size(), 1u) << "a member id with a control character was accepted";
  for (const auto& l : v.proc->lines())
    EXPECT_EQ(l.text.find("\\x"), std::string::npos) << "the victim printed an id with a control character: " << l.text;
  auto after = counters(v);
  EXPECT_GE(after["dropped_invalid"] - before["dropped_invalid"], 9u) << "the three bad ids were not counted as invalid";
}

}  // namespace
}  // namespace rel
