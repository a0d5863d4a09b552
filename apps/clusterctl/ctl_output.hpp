// clusterctl's text output (the --json forms print the protocol's objects instead).
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

#include "json_text.hpp"

namespace clusterctl {

/// Text on one line: control characters as \n, \r, \t or \xHH, and so is every byte >= 0x80
/// when the text is not valid UTF-8 (C1 controls such as CSI); cluster::sdk::text::escape_controls.
std::string one_line(std::string_view text);

/// The members table: UUID, IP, LOCAL, LAST SEEN, PROTOCOLS, TAGS.
void print_members(std::ostream& out, const clusterapp::JsonArrayPtr& members);

/// One query answer: "UUID response DATA" or "UUID error TEXT".
std::string answer_line(const clusterapp::JsonPtr& answer);

/// One watch event: "discovered UUID ip IP tags {T} [local]", "lost UUID (REASON) ip IP tags {T}",
/// "tags UUID {T}", "event UUID channel N: DATA".
std::string event_line(const clusterapp::JsonPtr& event);

/// Tags (or any strings) as one Tcl list.
std::string tcl_list(const clusterapp::JsonArrayPtr& strings);

/// "key value" lines for status.
void print_status(std::ostream& out, const clusterapp::JsonPtr& status);

}  // namespace clusterctl
