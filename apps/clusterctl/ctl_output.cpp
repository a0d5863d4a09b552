#include "ctl_output.hpp"

#include <algorithm>
#include <ostream>
#include <vector>

#include "cluster/sdk/text.hpp"
#include "cluster/tcl.hpp"

namespace clusterctl {

using clusterapp::JsonArrayPtr;
using clusterapp::JsonPtr;

std::string one_line(std::string_view text) {
  return cluster::sdk::text::escape_controls(text, cluster::sdk::text::Escape::mnemonics);
}

namespace {

std::vector<std::string> strings(const JsonArrayPtr& a) {
  std::vector<std::string> out;
  if (a.isNull()) return out;
  for (std::size_t i = 0; i < a->size(); ++i) out.push_back(a->getElement<std::string>(static_cast<unsigned>(i)));
  return out;
}

std::string str(const JsonPtr& o, const std::string& key) { return o->optValue<std::string>(key, ""); }

std::string ago(Poco::Int64 ms) {
  if (ms < 1000) return std::to_string(ms) + "ms";
  if (ms < 60000) return std::to_string(ms / 1000) + "." + std::to_string((ms % 1000) / 100) + "s";
  return std::to_string(ms / 60000) + "m" + std::to_string((ms % 60000) / 1000) + "s";
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

}  // namespace

std::string tcl_list(const JsonArrayPtr& a) { return cluster::tcl::format_list(strings(a)); }

void print_members(std::ostream& out, const JsonArrayPtr& members) {
  std::vector<std::vector<std::string>> rows{{"UUID", "IP", "FOUND BY", "LOCAL", "LAST SEEN", "PROTOCOLS", "TAGS"}};
  for (std::size_t i = 0; i < members->size(); ++i) {
    JsonPtr m = members->getObject(static_cast<unsigned>(i));
    if (m.isNull()) continue;
    const std::string ip = str(m, "ip");
    const std::string found_by = str(m, "found_by");
    rows.push_back({one_line(str(m, "uuid")), ip.empty() ? "-" : one_line(ip), found_by.empty() ? "-" : one_line(found_by),
                    m->optValue<bool>("local", false) ? "yes" : "no", ago(m->optValue<Poco::Int64>("last_seen", 0)),
                    one_line(joined(strings(m->getArray("protocols")))), one_line(tcl_list(m->getArray("tags")))});
  }
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (std::size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t c = 0; c < r.size(); ++c) {
      line += r[c];
      if (c + 1 < r.size()) line += std::string(width[c] - r[c].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }
}

std::string answer_line(const JsonPtr& a) {
  return one_line(str(a, "uuid")) + " " + str(a, "event") + " " + one_line(str(a, "data"));
}

std::string event_line(const JsonPtr& e) {
  const std::string kind = str(e, "event");
  const std::string uuid = one_line(str(e, "uuid"));
  const std::string ip = str(e, "ip").empty() ? "-" : one_line(str(e, "ip"));
  const std::string tags = "{" + one_line(tcl_list(e->getArray("tags"))) + "}";
  if (kind == "discovered")
    return "discovered " + uuid + " ip " + ip + " tags " + tags + (e->optValue<bool>("local", false) ? " local" : "");
  if (kind == "lost") return "lost " + uuid + " (" + one_line(str(e, "reason")) + ") ip " + ip + " tags " + tags;
  if (kind == "tags") return "tags " + uuid + " " + tags;
  if (kind == "event")
    return "event " + uuid + " channel " + std::to_string(e->optValue<Poco::UInt64>("channel", 0)) + ": " +
           one_line(str(e, "data"));
  return one_line(clusterapp::to_line(e));
}

void print_status(std::ostream& out, const JsonPtr& s) {
  std::vector<std::string> channels;
  if (JsonArrayPtr a = s->getArray("channels"); !a.isNull())
    for (std::size_t i = 0; i < a->size(); ++i) channels.push_back(a->get(static_cast<unsigned>(i)).toString());
  out << "uuid       " << one_line(str(s, "uuid")) << "\n"
      << "tags       {" << one_line(tcl_list(s->getArray("tags"))) << "}\n"
      << "protocols  " << one_line(joined(strings(s->getArray("protocols")))) << "\n"
      << "channels   " << joined(channels) << "\n"
      << "members    " << s->optValue<Poco::UInt64>("members", 0) << "\n";
  if (JsonPtr c = s->getObject("counters"); !c.isNull()) {
    std::vector<std::string> names;
    c->getNames(names);
    std::string line;
    for (const auto& n : names) line += (line.empty() ? "" : " ") + n + "=" + c->get(n).toString();
    out << "counters   " << line << "\n";
  }
}

}  // namespace clusterctl
