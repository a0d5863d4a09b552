// clusterd's own configuration: [control], [logging], the command line, and where config errors
// are reported.
#include <gtest/gtest.h>

#include <fstream>

#include "app_fixture.hpp"
#include "config_error.hpp"
#include "control_config.hpp"
#include "daemon_config.hpp"
#include "daemon_options.hpp"
#include "logging_config.hpp"
#include "membership_log.hpp"

using namespace clusterapp;

namespace {

cluster::IniFile ini(const std::string& text) { return cluster::IniFile::parse(text, "/etc/x/node.ini"); }

template <class F>
std::string config_error(F fn) {
  try {
    fn();
  } catch (const cluster::ConfigError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(ControlConfigTest, SocketPathDefaultsAndIsResolvedAgainstTheIniFolder) {
  EXPECT_EQ(ControlConfig::from_ini(ini("[cluster]\n")).socket, "/run/cluster/clusterd.sock");
  EXPECT_EQ(ControlConfig::from_ini(ini("[control]\nsocket = /tmp/a.sock\n")).socket, "/tmp/a.sock");
  EXPECT_EQ(ControlConfig::from_ini(ini("[control]\nsocket = run/a.sock\n")).socket, "/etc/x/run/a.sock");
  EXPECT_EQ(config_error([] { ControlConfig::from_ini(ini("[control]\nsocket = /a\nmode = 0666\n")); }),
            "/etc/x/node.ini:3: unknown key 'mode' in [control] (known: socket)");
  EXPECT_EQ(config_error([] { ControlConfig::from_ini(ini("[control]\nsocket =\n")); }),
            "/etc/x/node.ini:2: [control] socket must not be empty");
  EXPECT_EQ(config_error([] { ControlConfig::from_ini(ini("[control]\nsocket = /" + std::string(120, 'x') + "\n")); })
                .rfind("/etc/x/node.ini:2: [control] socket = '/xxx", 0),
            0u);
}

TEST(LoggingConfigTest, KeysValuesAndErrors) {
  auto c = clusterd::LoggingConfig::from_ini(ini("[cluster]\n"));
  EXPECT_EQ(c.level, Poco::Message::PRIO_INFORMATION);
  EXPECT_EQ(c.format, "%Y-%m-%d %H:%M:%S.%i %p %s: %t");
  EXPECT_EQ(c.file, "");
  EXPECT_TRUE(c.local_times);
  c = clusterd::LoggingConfig::from_ini(ini("[logging]\nlevel = debug\nformat = %t\nfile = log/d.log\ntimes = utc\n"));
  EXPECT_EQ(c.level, Poco::Message::PRIO_DEBUG);
  EXPECT_EQ(c.format, "%t");
  EXPECT_EQ(c.file, "/etc/x/log/d.log");
  EXPECT_EQ(c.file_where, "/etc/x/node.ini:4");
  EXPECT_FALSE(c.local_times);
  EXPECT_EQ(config_error([] { clusterd::LoggingConfig::from_ini(ini("[logging]\nlevel = loud\n")); }),
            "/etc/x/node.ini:2: [logging] level = 'loud': unknown level (none, fatal, critical, error, warning, "
            "notice, information, debug, trace)");
  EXPECT_EQ(config_error([] { clusterd::LoggingConfig::from_ini(ini("[logging]\n\nformat =\n")); }),
            "/etc/x/node.ini:3: [logging] format = '': must not be empty");
  EXPECT_EQ(config_error([] { clusterd::LoggingConfig::from_ini(ini("[logging]\ntimes = mars\n")); }),
            "/etc/x/node.ini:2: [logging] times = 'mars': must be local or utc");
  EXPECT_EQ(config_error([] { clusterd::LoggingConfig::from_ini(ini("[logging]\ncolour = yes\n")); }),
            "/etc/x/node.ini:2: unknown key 'colour' in [logging] (known: level, format, file, times)");
}

// One knob for clusterd: [logging] level also sets the library's level, unless [cluster]
// log_level is given (then that filters the library's messages first).
TEST(LoggingConfigTest, LoggingLevelSetsTheLibraryLevelUnlessClusterLogLevelIsSet) {
  using L = cluster::sdk::LogLevel;
  test::TempDir dir;
  const auto level_of = [&](const std::string& text) {
    const std::string path = dir / "node.ini";
    std::ofstream(path) << text;
    return clusterd::DaemonConfig::load(path).node.options.log_level;
  };
  EXPECT_EQ(level_of("[cluster]\n"), L::info) << "the default [logging] level, information";
  EXPECT_EQ(level_of("[logging]\nlevel = debug\n"), L::debug);
  EXPECT_EQ(level_of("[logging]\nlevel = trace\n"), L::trace);
  EXPECT_EQ(level_of("[logging]\nlevel = notice\n"), L::notice);
  EXPECT_EQ(level_of("[logging]\nlevel = warning\n"), L::warning);
  EXPECT_EQ(level_of("[logging]\nlevel = critical\n"), L::error);
  EXPECT_EQ(level_of("[logging]\nlevel = none\n"), L::error);
  EXPECT_EQ(level_of("[cluster]\nlog_level = error\n[logging]\nlevel = debug\n"), L::error);
  EXPECT_EQ(level_of("[cluster]\nLOG_LEVEL = trace\n[logging]\nlevel = warning\n"), L::trace);
}

TEST(LoggingConfigTest, UnopenableLogFileIsReported) {
  clusterd::LoggingConfig c;
  c.file = "/nonexistent-dir/x.log";
  c.file_where = "/etc/x/node.ini:9";
  try {
    clusterd::apply_logging(c);
    ADD_FAILURE() << "opened";
  } catch (const clusterd::LogFileError& e) {
    EXPECT_EQ(std::string(e.what()),
              "/etc/x/node.ini:9: [logging] file = '/nonexistent-dir/x.log': cannot open for appending: No such file or directory");
  }
}

TEST(ConfigErrorTest, ErrorsGetTheLineOfTheKeyTheyName) {
  const auto f = ini("[cluster]\ntags = a\nprotocols = t x c\n[plugins]\nload = tcp\nhooks = nosuch\n");
  EXPECT_EQ(locate_config_error(f, "[cluster] protocols names 'x', but no loaded plugin provides it"),
            "/etc/x/node.ini:3: [cluster] protocols names 'x', but no loaded plugin provides it");
  EXPECT_EQ(locate_config_error(f, "/etc/x/node.ini: [plugins] hooks names 'nosuch', which no loaded plugin provides"),
            "/etc/x/node.ini:6: [plugins] hooks names 'nosuch', which no loaded plugin provides");
  EXPECT_EQ(locate_config_error(f, "/etc/x/node.ini:2: already placed"), "/etc/x/node.ini:2: already placed");
  EXPECT_EQ(locate_config_error(f, "[cluster] nokey is bad"), "/etc/x/node.ini:1: [cluster] nokey is bad");
  EXPECT_EQ(locate_config_error(f, "something else"), "/etc/x/node.ini: something else");
}

TEST(DaemonCommandLine, OptionsAndUsageErrors) {
  const auto parse = [](std::vector<std::string> args) {
    args.insert(args.begin(), "clusterd");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return clusterd::parse_command_line(static_cast<int>(argv.size()), argv.data());
  };
  auto cl = parse({"--config", "/etc/n.ini", "--daemon", "--pidfile=/run/d.pid"});
  EXPECT_EQ(cl.config, "/etc/n.ini");
  EXPECT_TRUE(cl.daemon);
  EXPECT_EQ(cl.pidfile, "/run/d.pid");
  EXPECT_FALSE(cl.help);
  EXPECT_EQ(parse({"-c/etc/m.ini"}).config, "/etc/m.ini");
  EXPECT_EQ(parse({"--config=rel.ini"}).config, clusterd::absolute_path("rel.ini"));
  EXPECT_EQ(parse({"--config=rel.ini"}).config.front(), '/');
  EXPECT_TRUE(parse({"--help"}).help);
  const auto usage = [&](std::vector<std::string> args) {
    try {
      parse(args);
    } catch (const clusterd::UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(usage({"--config"}), "option --config needs an argument (see --help)");
  EXPECT_EQ(usage({"extra"}), "unexpected argument 'extra' (see --help)");
  EXPECT_NE(usage({"--bogus"}).find("bogus"), std::string::npos);
  EXPECT_NE(usage({"--daemon", "--daemon"}), "no error");
}

// Tags and reasons come from the network: clusterd's membership log writes control characters
// as \xNN, so a forged newline cannot fake a log line.
TEST(MembershipLog, ControlCharactersAreEscaped) {
  EXPECT_EQ(cluster::escape_controls("discovered a@b tags {x\ny}"), "discovered a@b tags {x\\x0ay}");
  EXPECT_EQ(cluster::escape_controls(std::string("\x7f\x01 ok", 5)), "\\x7f\\x01 ok");
  EXPECT_EQ(cluster::escape_controls("plain \xc3\xa9t\xc3\xa9"), "plain \xc3\xa9t\xc3\xa9");  // UTF-8 stays
}

// Forged members arrive by the thousand: the membership log writes the first lines of a window
// one by one and sums up the rest when the window ends (hardening finding 4).
TEST(MembershipLog, BurstsAreSummarisedOncePerWindow) {
  using L = clusterd::MembershipLogLimiter;
  L limiter(3, std::chrono::seconds(10));
  const auto t0 = L::Clock::time_point{} + std::chrono::hours(1);
  int logged = 0;
  for (int i = 0; i < 412; ++i)
    if (limiter.admit(L::discovered, "m" + std::to_string(i) + "@h", t0 + std::chrono::milliseconds(i))) ++logged;
  EXPECT_TRUE(limiter.admit(L::lost, "x@h", t0));  // each kind has its own budget
  EXPECT_EQ(logged, 3);
  EXPECT_TRUE(limiter.flush(t0 + std::chrono::seconds(9)).empty()) << "the window is still open";
  ASSERT_TRUE(limiter.summary_due().has_value());
  EXPECT_EQ(*limiter.summary_due(), t0 + std::chrono::seconds(10));
  const auto lines = limiter.flush(t0 + std::chrono::seconds(10));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "409 members discovered in the last 10 s were not logged one by one (first m3@h, last m411@h)");
  EXPECT_FALSE(limiter.summary_due().has_value());
  // A new window: lines pass again.
  EXPECT_TRUE(limiter.admit(L::discovered, "n@h", t0 + std::chrono::seconds(11)));
}

TEST(MembershipLog, HeldLinesAreNotLostWhenTheNextWindowStartsBeforeAFlush) {
  using L = clusterd::MembershipLogLimiter;
  L limiter(1, std::chrono::seconds(10));
  const auto t0 = L::Clock::time_point{} + std::chrono::hours(1);
  EXPECT_TRUE(limiter.admit(L::lost, "a@h", t0));
  EXPECT_FALSE(limiter.admit(L::lost, "b@h", t0));
  EXPECT_TRUE(limiter.admit(L::lost, "c@h", t0 + std::chrono::seconds(20)));  // new window
  const auto lines = limiter.flush(t0 + std::chrono::seconds(20));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "1 member lost in the last 10 s was not logged one by one (first b@h, last b@h)");
}
