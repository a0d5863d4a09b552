// Helpers for reading the golden vector files in tests.
#pragma once

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <fstream>
#include <string>
#include <vector>

namespace cluster::test {

inline std::vector<Poco::JSON::Object::Ptr> read_jsonl(const std::string& name) {
  std::ifstream in(std::string(CLUSTER_VECTORS_DIR) + "/" + name);
  std::vector<Poco::JSON::Object::Ptr> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    Poco::JSON::Parser p;
    out.push_back(p.parse(line).extract<Poco::JSON::Object::Ptr>());
  }
  return out;
}

}  // namespace cluster::test
