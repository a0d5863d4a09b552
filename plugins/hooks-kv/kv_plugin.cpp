// Hook set "kv": a default query responder whose data is its own ini section. "get KEY" answers
// the value, "keys" the Tcl list of keys; any other query is left to other query hooks.
// See docs/hooks.md and conf/kv.ini.
#include <cctype>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/sdk.hpp"
#include "hook_set_base.hpp"

namespace {

using cluster::HookContext;
using cluster::HookPoint;
using cluster::HookRegistry;
using cluster::Verdict;
using cluster::sdk::ConfigKey;
using cluster::sdk::ConfigType;
using cluster::sdk::HookSetHost;
using cluster::sdk::Result;

// An open schema: every key of the section is data.
constexpr ConfigKey kKeys[] = {
    {"*", ConfigType::string, "", "any key: 'get KEY' answers its value (keys are case-insensitive)"},
};

/// After every other query hook: kv answers only what no one else did.
constexpr int kOrder = cluster::hook_order::last;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

class Kv final : public cluster::hooks::HookSetBase {
 public:
  /// `data`: the section's key/value pairs, copied at init.
  Kv(HookSetHost& /*host*/, std::map<std::string, std::string, std::less<>> data) : data_(std::move(data)) {
    std::vector<std::string> keys;
    for (const auto& kv : data_) keys.push_back(kv.first);
    keys_ = cluster::sdk::text::tcl_list(keys);
  }

  Result attach(HookRegistry& hooks) noexcept override {
    return cluster::sdk::guard("kv: attach", [&] {
      if (!add(hooks, HookPoint::query, "kv.query", [this](HookContext& ctx) { return answer(ctx); }, kOrder))
        return refuse_duplicate("kv", "kv.query");
      return Result::success();
    });
  }

 private:
  Verdict answer(HookContext& ctx) const {
    // An earlier query hook answered already: keep its answer.
    if (ctx.payload == nullptr || !ctx.payload->data.has() || !ctx.answer.empty()) return Verdict::pass;
    const std::string_view text = trim(*ctx.payload->data);
    if (text == "keys") {
      ctx.answer = keys_;
      return Verdict::modified;
    }
    if (text.size() > 3 && text.substr(0, 3) == "get" && is_space(text[3])) {
      std::string_view key = trim(text.substr(4));
      // "get {two words}": one Tcl-braced word.
      if (key.size() >= 2 && key.front() == '{' && key.back() == '}') key = key.substr(1, key.size() - 2);
      auto it = data_.find(lower(key));  // ini keys are case-insensitive (stored lowercase)
      if (it == data_.end()) {
        ctx.reason = "kv: no key '" + cluster::sdk::text::printable(key, 100) + "'";
        return Verdict::drop;
      }
      ctx.answer = it->second;
      return Verdict::modified;
    }
    return Verdict::pass;  // not ours: other query hooks may answer
  }

  std::map<std::string, std::string, std::less<>> data_;
  std::string keys_;  ///< Tcl list of the keys, in order
};

bool init(cluster::sdk::Registrar& registrar, std::string& error) noexcept {
  return cluster::sdk::guard_init("kv", error, [&] {
    registrar.add_hook_set("kv", cluster::sdk::hook_set_factory<Kv>(registrar.config().values()));
    return Result::success();
  });
}

}  // namespace

CLUSTER_PLUGIN("kv", "1.0.0", "hook set kv: answers 'get KEY' and 'keys' queries from its ini section", kKeys,
               std::size(kKeys), init, nullptr)
