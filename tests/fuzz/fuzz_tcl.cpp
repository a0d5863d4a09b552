// fuzz_tcl: Tcl list and dict syntax, as props travel in the `data` field. Checked:
//   - whatever parse_list accepts, format_list writes back in a form that parses to the same
//     elements (and formatting that again gives the same string);
//   - the same for parse_dict / format_dict;
//   - any byte string is one element: parse_list(quote(s)) gives exactly {s}.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/tcl.hpp"
#include "fuzz_check.hpp"

namespace tcl = cluster::tcl;
using cluster::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = cluster::fuzz::as_view(data, size);

  std::vector<std::string> list;
  std::string error;
  if (tcl::parse_list(input, list, &error)) {
    const std::string formatted = tcl::format_list(list);
    std::vector<std::string> again;
    check(tcl::parse_list(formatted, again), "format_list output does not parse");
    check(again == list, "list round trip changed the elements");
    check(tcl::format_list(again) == formatted, "format_list is not stable");
  } else {
    check(!error.empty(), "parse_list failed without a reason");
  }

  tcl::Dict dict;
  if (tcl::parse_dict(input, dict)) {
    const std::string formatted = tcl::format_dict(dict);
    tcl::Dict again;
    check(tcl::parse_dict(formatted, again), "format_dict output does not parse");
    check(again == dict, "dict round trip changed the pairs");
    for (const auto& [k, v] : dict) {
      const std::string* got = tcl::dict_get(again, k);
      check(got != nullptr && *got == v, "dict_get misses a key after the round trip");
    }
  }

  std::vector<std::string> one;
  check(tcl::parse_list(tcl::quote(input), one), "quote output does not parse");
  check(one.size() == 1 && one[0] == input, "quote does not give back one identical element");
  return 0;
}
