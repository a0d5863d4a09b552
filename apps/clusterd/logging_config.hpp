// The [logging] section: where and how clusterd logs.
//   level  = none|fatal|critical|error|warning|notice|information|debug|trace (default information)
//   format = a Poco::PatternFormatter pattern (default "%Y-%m-%d %H:%M:%S.%i %p %s: %t")
//   file   = a log file, appended to (default empty: the console, stderr)
//   times  = local|utc, the time zone of the time fields (default local)
// `level` filters everything clusterd writes, its own lines and the library's (core, protocols,
// hook sets), which it routes into this log. The library filters its messages first, at
// [cluster] log_level: clusterd sets that from `level` unless the node file sets it itself.
#pragma once

#include <Poco/Logger.h>

#include <stdexcept>
#include <string>

#include "cluster/ini.hpp"
#include "cluster/options.hpp"

namespace clusterd {

inline constexpr const char* kDefaultLogFormat = "%Y-%m-%d %H:%M:%S.%i %p %s: %t";

/// The log file cannot be opened; what() is "file:line: reason".
class LogFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct LoggingConfig {
  int level = Poco::Message::PRIO_INFORMATION;
  std::string format = kDefaultLogFormat;
  std::string file;        ///< "" = console; absolute (relative values are taken from the ini's folder)
  std::string file_where;  ///< "file:line" of the file key
  bool local_times = true;

  /// Reads [logging]. Throws cluster::ConfigError "file:line: reason" for unknown keys and bad
  /// values.
  static LoggingConfig from_ini(const cluster::IniFile& ini);
};

/// The library level ([cluster] log_level) that lets through what the Poco `level` lets
/// through ("none" and fatal/critical: error, the library's highest).
cluster::sdk::LogLevel library_level(int poco_level) noexcept;

/// Makes node.options.log_level follow [logging] level, unless [cluster] log_level is set in
/// the node file (then it keeps filtering the library's messages on its own).
void follow_logging_level(cluster::NodeConfig& node, const LoggingConfig& logging);

/// Points every Poco logger at the configured channel and level; returns the "clusterd" logger.
/// Throws LogFileError when the log file cannot be opened for appending.
Poco::Logger& apply_logging(const LoggingConfig& config);

}  // namespace clusterd
