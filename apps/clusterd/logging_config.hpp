// The [logging] section: where and how clusterd logs.
//   level  = none|fatal|critical|error|warning|notice|information|debug|trace (default information)
//   format = a Poco::PatternFormatter pattern (default "%Y-%m-%d %H:%M:%S.%i %p %s: %t")
//   file   = a log file, appended to (default empty: the console, stderr)
//   times  = local|utc, the time zone of the time fields (default local)
#pragma once

#include <Poco/Logger.h>

#include <stdexcept>
#include <string>

#include "cluster/ini.hpp"

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

/// Points every Poco logger at the configured channel and level; returns the "clusterd" logger.
/// Throws LogFileError when the log file cannot be opened for appending.
Poco::Logger& apply_logging(const LoggingConfig& config);

}  // namespace clusterd
