// conf/<plugin>.ini samples: each parses, is accepted by its plugin's schema, names every key
// of the schema, and sets each to its default (so the sample documents the defaults).
#include <gtest/gtest.h>

#include "protocol_harness.hpp"

#ifndef CLUSTER_CONF_DIR
#error "CLUSTER_CONF_DIR must name the conf/ directory"
#endif

namespace cluster::test {
namespace {

class ConfSample : public ::testing::TestWithParam<std::string> {};

TEST_P(ConfSample, DocumentsEveryKeyWithItsDefault) {
  const std::string plugin = GetParam();
  const IniFile ini = IniFile::load(std::string(CLUSTER_CONF_DIR) + "/" + plugin + ".ini");
  const IniSection* section = ini.section(plugin);
  ASSERT_NE(section, nullptr) << "no [" << plugin << "] section";
  ASSERT_EQ(ini.sections().size(), 1u);

  PluginManager defaults;
  const std::string id = defaults.load(plugin_path(plugin)).protocols.at(0);
  const auto& schema = defaults.protocol_config(id).values();

  PluginManager configured;
  ASSERT_NO_THROW(configured.load(plugin_path(plugin), section));  // valid for the schema
  EXPECT_EQ(section->values.size(), schema.size());
  for (const auto& [key, value] : schema) {
    const IniValue* v = section->find(key);
    ASSERT_NE(v, nullptr) << plugin << ".ini does not document '" << key << "'";
    EXPECT_EQ(v->value, value) << v->where << ": '" << key << "' is not the default";
  }
}

INSTANTIATE_TEST_SUITE_P(Samples, ConfSample, ::testing::Values("tcp", "unix", "udp-multicast", "udp"),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           std::string n = i.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace cluster::test
