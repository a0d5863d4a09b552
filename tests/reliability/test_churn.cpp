// Churn: members join and leave at random (graceful quit or kill -9) around a long-lived
// observer, for 12 s (fast) or 60 s (full). The observer must not crash, must keep answering,
// must not leak file descriptors, sockets, socket files or memory (read from /proc), and must
// end up knowing exactly the members that are alive.
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <iostream>

#include "harness.hpp"

namespace rel {
namespace {

class Churn : public ReliabilityTest {
 protected:
  /// Socket files in the test folder (members create theirs there).
  std::set<std::string> socket_files() const {
    std::set<std::string> out;
    if (DIR* d = ::opendir(dir_.c_str())) {
      while (const dirent* e = ::readdir(d)) {
        const std::string n = e->d_name;
        if (n.size() > 5 && n.compare(n.size() - 5, 5, ".sock") == 0) out.insert(n);
      }
      ::closedir(d);
    }
    return out;
  }
};

std::string describe(const ProcStats& s) {
  return std::to_string(s.fds) + " fds (" + std::to_string(s.sockets) + " sockets), VmRSS " +
         std::to_string(s.rss_kb) + " kB";
}

TEST_F(Churn, RandomJoinsAndLeavesLeaveNoTrace) {
  const milliseconds duration = full_mode() ? milliseconds(60000) : milliseconds(12000);
  constexpr std::size_t kMaxChurners = 8;
  MemberOptions o;  // heartbeat 200 ms, ttl 1.5 s, protocols u t c
  Member& obs = spawn("observer", o);
  ASSERT_TRUE(await_joined({&obs}));
  ASSERT_EQ(obs.proc->command("answer", {"answering"}), "answering");
  int next_name = 0;
  auto new_churner = [&] { return &spawn("c" + std::to_string(next_name++), o); };

  // Warm-up: three members come, talk, and go; then the observer's baseline.
  {
    std::vector<Member*> w{new_churner(), new_churner(), new_churner()};
    ASSERT_TRUE(await_joined(w));
    std::vector<Member*> all = w;
    all.push_back(&obs);
    auto others = [&](Member* m) {
      std::set<std::string> s;
      for (Member* x : all)
        if (x != m) s.insert(x->uuid);
      return s;
    };
    ASSERT_TRUE(await_discovered(all, others, scaled(milliseconds(5000)))) << "warm-up mesh";
    for (Member* m : w) ASSERT_EQ(m->proc->command("answer", {"answering"}), "answering");
    const std::string reply = obs.proc->command("query * warm 2000", {"answers ", "timeout ", "stuck "});
    EXPECT_TRUE(starts_with(reply, "answers 3 ")) << reply;
    for (Member* m : w) m->proc->write_line("quit");
    for (Member* m : w) EXPECT_TRUE(m->proc->wait_exit(scaled(milliseconds(5000)))) << m->name;
    const bool empty = wait_until(
        {obs.proc.get()}, [&] { return members_of(obs) == std::set<std::string>{}; }, Clock::now() + milliseconds(3000));
    ASSERT_TRUE(empty) << "the observer still knows warm-up members";
  }
  wait_until({obs.proc.get()}, [] { return false; }, Clock::now() + milliseconds(500));
  const ProcStats base = proc_stats(obs.proc->pid());
  ASSERT_GT(base.fds, 0);
  ASSERT_GT(base.rss_kb, 0);
  std::cout << "[ info     ] observer baseline: " << describe(base) << "\n";

  std::vector<Member*> starting, live, leaving;
  std::set<std::string> killed_uuids;
  int joins = 0, quits = 0, kills = 0, queries = 0, query_answers = 0;
  std::optional<ProcStats> mid;
  std::uniform_int_distribution<int> step_ms(50, 400);
  std::uniform_int_distribution<int> percent(0, 99);
  const auto t0 = Clock::now();
  auto next_query = t0 + milliseconds(1000);
  int iterations = 0;
  while (Clock::now() - t0 < duration && iterations++ < 10000) {
    std::vector<Process*> ps{obs.proc.get()};
    for (Member* m : starting) ps.push_back(m->proc.get());
    for (Member* m : live) ps.push_back(m->proc.get());
    wait_until(ps, [] { return false; }, Clock::now() + milliseconds(step_ms(rng_)));

    // Joined ones become live; one that exits before joining is a failure.
    for (auto it = starting.begin(); it != starting.end();) {
      Member* m = *it;
      if (const auto j = m->proc->find_prefix("joined ")) {
        const auto w = words(j->text);
        m->uuid = w.at(1);
        m->sid = w.at(2);
        live.push_back(m);
        ++joins;
        it = starting.erase(it);
      } else if (!m->proc->alive()) {
        ADD_FAILURE() << m->name << " exited before joining";
        it = starting.erase(it);
      } else {
        ++it;
      }
    }
    // Leavers must exit 0, cleanly.
    for (auto it = leaving.begin(); it != leaving.end();) {
      if ((*it)->proc->alive()) {
        ++it;
        continue;
      }
      expect_clean_exit(**it);
      it = leaving.erase(it);
    }
    ASSERT_TRUE(obs.proc->alive()) << "the observer died (wait status " << obs.proc->status() << ")";
    if (!mid && Clock::now() - t0 > duration / 3) mid = proc_stats(obs.proc->pid());

    const std::size_t count = starting.size() + live.size();
    const bool grow = count < 2 || (count < kMaxChurners && percent(rng_) < 50);
    if (grow) {
      starting.push_back(new_churner());
    } else if (!live.empty()) {
      std::uniform_int_distribution<std::size_t> pick(0, live.size() - 1);
      const std::size_t i = pick(rng_);
      Member* m = live[i];
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
      if (percent(rng_) < 70) {
        m->proc->write_line("quit");
        leaving.push_back(m);
        ++quits;
      } else {
        m->proc->kill9();
        killed_uuids.insert(m->uuid);
        ++kills;
      }
    }
    // The observer keeps answering while members come and go.
    if (Clock::now() >= next_query) {
      next_query = Clock::now() + milliseconds(1000);
      const std::string reply = obs.proc->command("query * churn 1000", {"answers ", "timeout ", "stuck "},
                                                  scaled(milliseconds(8000)));
      ++queries;
      EXPECT_TRUE(starts_with(reply, "answers ") || starts_with(reply, "timeout ")) << "observer: " << reply;
      const auto w = words(reply);
      if (w.size() >= 2) query_answers += std::stoi(w[1]);
    }
  }
  std::cout << "[ info     ] churn for " << ms_between(t0, Clock::now()) << " ms: " << next_name - 3
            << " started, " << joins << " joined, " << quits << " quit, " << kills << " killed (-9); observer ran "
            << queries << " queries, " << query_answers << " answers\n";
  EXPECT_GE(joins, 4) << "too little churn to mean anything";
  EXPECT_GE(quits + kills, 2) << "too little churn to mean anything";

  // Whoever is still starting joins now; leavers finish leaving.
  std::vector<Member*> ps;
  for (Member* m : starting) ps.push_back(m);
  ASSERT_TRUE(await_joined(ps));
  for (Member* m : starting) live.push_back(m);
  starting.clear();
  for (Member* m : leaving) {
    EXPECT_TRUE(m->proc->wait_exit(scaled(milliseconds(5000)))) << m->name << " did not exit after quit";
    expect_clean_exit(*m);
  }
  leaving.clear();

  // The final membership: exactly the live members (the killed ones expire within ttl).
  std::set<std::string> expected;
  for (Member* m : live) expected.insert(m->uuid);
  std::set<std::string> seen;
  const bool right = wait_until(
      procs(live),
      [&] {
        const auto now = members_of(obs);
        if (now) seen = *now;
        return now == expected;
      },
      Clock::now() + o.ttl + 4 * o.heartbeat + scaled(milliseconds(3000)));
  EXPECT_TRUE(right) << "the observer's final membership is wrong: " << seen.size() << " members, expected "
                     << expected.size();
  for (const auto& u : seen)
    if (!expected.count(u))
      ADD_FAILURE() << "the observer still knows " << u << (killed_uuids.count(u) ? " (killed)" : " (quit)");
  for (const auto& u : expected)
    if (!seen.count(u)) ADD_FAILURE() << "the observer does not know live member " << u;
  std::cout << "[ info     ] final membership: " << expected.size() << " live members, all known to the observer\n";

  // Everyone leaves; the observer is back to its baseline.
  for (Member* m : live) m->proc->write_line("quit");
  for (Member* m : live) {
    EXPECT_TRUE(m->proc->wait_exit(scaled(milliseconds(5000)))) << m->name << " did not exit after quit";
    expect_clean_exit(*m);
  }
  const bool gone = wait_until(
      {obs.proc.get()}, [&] { return members_of(obs) == std::set<std::string>{}; }, Clock::now() + milliseconds(3000));
  EXPECT_TRUE(gone) << "the observer still knows members after everyone left";
  ProcStats end;
  wait_until(
      {obs.proc.get()},
      [&] {
        end = proc_stats(obs.proc->pid());
        return end.fds <= base.fds && end.sockets <= base.sockets;
      },
      Clock::now() + milliseconds(3000));
  std::cout << "[ info     ] observer at the end: " << describe(end);
  if (mid) std::cout << "; a third into the churn: " << describe(*mid);
  std::cout << "\n";
  EXPECT_LE(end.fds, base.fds) << "the observer leaks file descriptors";
  EXPECT_LE(end.sockets, base.sockets) << "the observer leaks sockets";
  // Memory: allocator high-water marks move a little; a leak per member or connection over
  // hundreds of joins would not fit. Under ASan RSS means little (quarantine); LeakSanitizer
  // checks every probe's exit instead.
  const long rss_bound = std::max(base.rss_kb, mid ? mid->rss_kb : 0L) + 4096;
  if (!sanitized()) {
    EXPECT_LE(end.rss_kb, rss_bound) << "the observer's VmRSS grew beyond " << rss_bound << " kB";
  }
  // No socket file left behind: only the observer's own.
  const auto files = socket_files();
  EXPECT_EQ(files, std::set<std::string>{obs.sid + ".sock"}) << files.size() << " socket files remain";
}

}  // namespace
}  // namespace rel
