// Small text helpers of the multi-process tests: prefixes, words, elapsed milliseconds, and the
// props dicts the probes print ("t {port 1} u {path x}").
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace test_support {

inline long long ms_between(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

inline bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

/// `s` split at whitespace, without empty words.
std::vector<std::string> words(const std::string& s);

/// The value of `key` in the props dict of `protocol` ("t {port 1} u {path x}"), or "".
std::string prop(const std::string& props, const std::string& protocol, const std::string& key);

}  // namespace test_support
