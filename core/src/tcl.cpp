// The core's Tcl list/dict functions are the SDK's (cluster/sdk/text.hpp), exported from
// libcluster under their long-standing names.
#include "cluster/tcl.hpp"

#include "cluster/sdk/text.hpp"

namespace cluster::tcl {

namespace text = sdk::text;

std::string quote(std::string_view e) { return text::tcl_quote(e); }
std::string format_list(const std::vector<std::string>& elements) { return text::tcl_list(elements); }
std::string format_dict(const Dict& d) { return text::tcl_dict(d); }
bool parse_list(std::string_view s, std::vector<std::string>& out, std::string* error) {
  return text::parse_tcl_list(s, out, error);
}
bool parse_dict(std::string_view s, Dict& out, std::string* error) { return text::parse_tcl_dict(s, out, error); }
const std::string* dict_get(const Dict& d, std::string_view key) { return text::dict_get(d, key); }
void dict_set(Dict& d, std::string_view key, std::string value) { text::dict_set(d, key, std::move(value)); }

}  // namespace cluster::tcl
