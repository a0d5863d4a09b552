// Config errors as "file:line: reason": some errors from joining name the key but not where it
// is ("[cluster] protocols names 'x', ..."); this finds the line.
#pragma once

#include <string>

#include "cluster/ini.hpp"

namespace clusterapp {

/// `message` prefixed with "file:line" of the "[section] key" it starts with (or with the file
/// alone), unless it already starts with the file name and a line.
std::string locate_config_error(const cluster::IniFile& ini, const std::string& message);

}  // namespace clusterapp
