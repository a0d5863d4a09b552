// Tcl list and dict strings: props travel in the `data` field as Tcl dicts
// ("t {port 40123} u {path /tmp/x.sock}") and pings carry Tcl lists of sids. These are the SDK's
// functions (cluster/sdk/text.hpp: tcl_quote, tcl_list, parse_tcl_list...) under the core's names,
// so plugins, which do not link the core, quote and parse exactly alike.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/export.hpp"

namespace cluster::tcl {

/// Ordered key/value pairs; on parse a repeated key keeps its first position and last value,
/// as Tcl's dict does.
using Dict = std::vector<std::pair<std::string, std::string>>;

/// Quotes one element so that parse_list gives it back unchanged (braces where Tcl would use
/// them, backslashes otherwise; {} for the empty string).
CLUSTER_API std::string quote(std::string_view element);
CLUSTER_API std::string format_list(const std::vector<std::string>& elements);
CLUSTER_API std::string format_dict(const Dict& d);

/// Parses a Tcl list. Returns false and sets `error` (if given) on unbalanced braces or quotes,
/// or junk after a closing brace/quote; `out` is then unspecified.
CLUSTER_API bool parse_list(std::string_view s, std::vector<std::string>& out,
                            std::string* error = nullptr);
/// Parses a Tcl dict (a list with an even number of elements).
CLUSTER_API bool parse_dict(std::string_view s, Dict& out, std::string* error = nullptr);

/// Value of `key` in `d`, or nullptr.
CLUSTER_API const std::string* dict_get(const Dict& d, std::string_view key);
/// Sets `key` (keeps its position when present, else appends).
CLUSTER_API void dict_set(Dict& d, std::string_view key, std::string value);

}  // namespace cluster::tcl
