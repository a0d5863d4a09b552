#include "packet_command.hpp"

#include <iomanip>
#include <iostream>
#include <iterator>
#include <sstream>
#include <stdexcept>

#include "cluster/bpacket/fields.hpp"
#include "cluster/bpacket/frame.hpp"
#include "cluster/payload.hpp"
#include "cluster/tcl.hpp"
#include "cluster/text.hpp"
#include "packet_json.hpp"

namespace clusterctl {

using namespace cluster::bpacket;

namespace {

constexpr const char* kUsage =
    "usage: clusterctl packet decode [--json] [HEX]\n"
    "       clusterctl packet encode [--binary] < JSON\n"
    "\n"
    "decode  reads packets (HEX argument, or hex or raw bytes on stdin) and prints their fields;\n"
    "        --json prints {\"fields\": [[name, value], ...]} per packet, one per line.\n"
    "encode  reads {\"fields\": [[name, value], ...]} objects (one per line) and prints each\n"
    "        packet as hex; --binary writes the raw bytes instead.\n"
    "Exit codes: 0 ok, 1 bad input, 2 bad usage.\n";

std::string read_all(std::istream& in) {
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Input is hex text unless it starts with the bpacket header byte (raw bytes).
std::string input_bytes(const std::string& text) {
  if (!text.empty() && static_cast<unsigned char>(text[0]) == kHeader0) return text;
  auto bytes = cluster::from_hex(text);
  if (!bytes) throw std::runtime_error("input is neither hex nor a raw bpacket");
  return *bytes;
}

void print_human(std::ostream& out, const Frame& f, const FieldList& fields, std::size_t n) {
  out << "packet " << n << " (" << f.packet.size() << " bytes)\n";
  for (const auto& nv : fields) {
    out << "  " << std::left << std::setw(10) << nv.spec->name << " = ";
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::uint64_t>) {
            out << v;
            if (nv.spec->id == 1 && nv.spec->name == "type")
              out << " (" << cluster::payload_type_name(v) << ")";
          } else if constexpr (std::is_same_v<T, std::string>) {
            if (nv.spec->type == FieldType::raw || !cluster::is_utf8(v)) out << "hex " << cluster::to_hex(v);
            else out << v;
          } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
            out << cluster::tcl::format_list(v);
          } else if constexpr (std::is_same_v<T, bool>) {
            out << (v ? "true" : "false");
          } else if constexpr (std::is_same_v<T, Real>) {
            out << v.value;
          } else {
            for (std::size_t i = 0; i < v.size(); ++i) out << (i ? " " : "") << v[i];
          }
        },
        nv.value);
    out << "\n";
  }
}

int decode(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
           std::ostream& err) {
  bool json = false;
  std::string hex;
  for (std::size_t i = 2; i < args.size(); ++i) {
    if (args[i] == "--json") json = true;
    else if (args[i] == "--help" || args[i] == "-h") { out << kUsage; return 0; }
    else if (!args[i].empty() && args[i][0] == '-') { err << "clusterctl packet decode: unknown option " << args[i] << "\n"; return 2; }
    else hex += args[i];
  }
  std::string bytes;
  try {
    bytes = input_bytes(hex.empty() ? read_all(in) : hex);
  } catch (const std::exception& e) {
    err << "clusterctl packet decode: " << e.what() << "\n";
    return 1;
  }
  std::size_t count = 0;
  int rc = 0;
  const std::uint64_t skipped = for_each_frame(bytes, kStreamLimit, [&](const Frame& f) {
    ++count;
    FieldList fields;
    if (Status s = decode_fields(f.body, Template::cluster(), fields); !s) {
      err << "clusterctl packet decode: packet " << count << ": " << s.message() << "\n";
      rc = 1;
      return;
    }
    if (json) out << fields_to_json(fields) << "\n";
    else print_human(out, f, fields, count);
  });
  if (count == 0) {
    err << "clusterctl packet decode: no intact packet in " << bytes.size() << " bytes\n";
    return 1;
  }
  if (skipped != 0 && !json)
    out << "(" << skipped << " bytes outside intact packets skipped)\n";
  return rc;
}

int encode(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
           std::ostream& err) {
  bool binary = false;
  for (std::size_t i = 2; i < args.size(); ++i) {
    if (args[i] == "--binary") binary = true;
    else if (args[i] == "--help" || args[i] == "-h") { out << kUsage; return 0; }
    else { err << "clusterctl packet encode: unexpected argument " << args[i] << "\n"; return 2; }
  }
  std::string line;
  std::size_t n = 0;
  std::size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string packet;
    try {
      encode_fields(fields_from_json(line, Template::cluster()), packet);
    } catch (const std::exception& e) {
      err << "clusterctl packet encode: line " << lineno << ": " << e.what() << "\n";
      return 1;
    }
    ++n;
    if (binary) out << packet;
    else out << cluster::to_hex(packet) << "\n";
  }
  if (n == 0) {
    err << "clusterctl packet encode: no JSON object on stdin\n";
    return 1;
  }
  return 0;
}

}  // namespace

int run_packet(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
               std::ostream& err) {
  if (args.size() < 2 || args[1] == "--help" || args[1] == "-h") {
    (args.size() < 2 ? err : out) << kUsage;
    return args.size() < 2 ? 2 : 0;
  }
  if (args[1] == "decode") return decode(args, in, out, err);
  if (args[1] == "encode") return encode(args, in, out, err);
  err << "clusterctl packet: unknown command '" << args[1] << "'\n" << kUsage;
  return 2;
}

}  // namespace clusterctl
