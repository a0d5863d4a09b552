#include "logging_config.hpp"

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/Exception.h>
#include <Poco/FileChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/PatternFormatter.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace clusterd {

LoggingConfig LoggingConfig::from_ini(const cluster::IniFile& ini) {
  LoggingConfig c;
  const cluster::IniSection* s = ini.section("logging");
  if (s == nullptr) return c;
  for (const auto& [key, v] : s->values) {
    const auto bad = [&value = v, k = key](const std::string& why) {
      return cluster::ConfigError(value.where + ": [logging] " + k + " = '" + value.value + "': " + why);
    };
    if (key == "level") {
      try {
        c.level = Poco::Logger::parseLevel(v.value);
      } catch (const Poco::Exception&) {
        throw bad("unknown level (none, fatal, critical, error, warning, notice, information, debug, trace)");
      }
    } else if (key == "format") {
      if (v.value.empty()) throw bad("must not be empty");
      c.format = v.value;
    } else if (key == "file") {
      c.file = v.value;
      if (!c.file.empty() && c.file[0] != '/')
        c.file = (std::filesystem::path(ini.origin()).parent_path() / c.file).lexically_normal().string();
      c.file_where = v.where;
    } else if (key == "times") {
      if (v.value == "local") c.local_times = true;
      else if (v.value == "utc" || v.value == "UTC") c.local_times = false;
      else throw bad("must be local or utc");
    } else {
      throw cluster::ConfigError(v.where + ": unknown key '" + key + "' in [logging] (known: level, format, file, times)");
    }
  }
  return c;
}

cluster::sdk::LogLevel library_level(int poco_level) noexcept {
  using L = cluster::sdk::LogLevel;
  switch (poco_level) {
    case Poco::Message::PRIO_TRACE: return L::trace;
    case Poco::Message::PRIO_DEBUG: return L::debug;
    case Poco::Message::PRIO_INFORMATION: return L::info;
    case Poco::Message::PRIO_NOTICE: return L::notice;
    case Poco::Message::PRIO_WARNING: return L::warning;
    default: return L::error;
  }
}

void follow_logging_level(cluster::NodeConfig& node, const LoggingConfig& logging) {
  const cluster::IniSection* s = node.ini.section("cluster");
  if (s != nullptr && s->find("log_level") != nullptr) return;
  node.options.log_level = library_level(logging.level);
}

Poco::Logger& apply_logging(const LoggingConfig& config) {
  Poco::AutoPtr<Poco::Channel> sink;
  if (config.file.empty()) {
    sink = new Poco::ConsoleChannel;  // std::clog: stderr
  } else {
    // Open it once here, so a bad path is reported now rather than lost at the first message.
    std::ofstream probe(config.file, std::ios::app);
    if (!probe)
      throw LogFileError(config.file_where + ": [logging] file = '" + config.file +
                         "': cannot open for appending: " + std::strerror(errno));
    Poco::AutoPtr<Poco::FileChannel> file(new Poco::FileChannel(config.file));
    sink = file;
  }
  Poco::AutoPtr<Poco::PatternFormatter> formatter(new Poco::PatternFormatter(config.format));
  formatter->setProperty("times", config.local_times ? "local" : "UTC");
  Poco::AutoPtr<Poco::FormattingChannel> channel(new Poco::FormattingChannel(formatter, sink));
  Poco::Logger::root().setChannel(channel);
  Poco::Logger::root().setLevel(config.level);
  Poco::Logger::setChannel("", channel);  // loggers that exist already
  Poco::Logger::setLevel("", config.level);
  return Poco::Logger::get("clusterd");
}

}  // namespace clusterd
