// cluster-encrypt.so through the PluginManager: conf/encrypt.ini against the plugin's schema, the
// sealer registered as "encrypt", and a round trip through the loaded library (the logic itself
// is tested on the static library: test_encrypt.cpp).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "idle_loop.hpp"
#include "protocol_harness.hpp"

#ifndef CLUSTER_CONF_DIR
#error "CLUSTER_CONF_DIR must name the conf/ directory"
#endif

namespace cluster::test {
namespace {

class Host final : public sdk::SealerHost {
 public:
  explicit Host(const sdk::PluginConfig& config) : config_(config) {}
  sdk::EventLoop& loop() noexcept override { return loop_; }
  void log(sdk::LogLevel, std::string_view) noexcept override {}
  const sdk::ClusterSettings& settings() const noexcept override { return settings_; }
  const sdk::PluginConfig& config() const noexcept override { return config_; }

 private:
  cluster::test::IdleLoop loop_;
  sdk::ClusterSettings settings_;
  const sdk::PluginConfig& config_;
};

TEST(EncryptPlugin, SampleDocumentsEveryKeyAndNeedsAKeyring) {
  const IniFile ini = IniFile::load(std::string(CLUSTER_CONF_DIR) + "/encrypt.ini");
  const IniSection* section = ini.section("encrypt");
  ASSERT_NE(section, nullptr);
  ASSERT_EQ(ini.sections().size(), 1u);
  {
    PluginManager plugins;
    try {
      plugins.load(plugin_path("encrypt"), section);
      FAIL() << "the sample ships without a keyring: refused";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("[encrypt] keyring is empty"), std::string::npos) << e.what();
    }
  }
  IniSection configured = *section;
  configured.values["keyring"].value = "/nonexistent/keyring";
  PluginManager plugins;
  const PluginInfo info = plugins.load(plugin_path("encrypt"), &configured);
  EXPECT_EQ(info.sealers, std::vector<std::string>{"encrypt"});
  EXPECT_TRUE(plugins.has_sealer("encrypt"));
  const auto& values = plugins.sealer_config("encrypt").values();
  EXPECT_EQ(section->values.size(), values.size());
  for (const auto& key : {"keyring", "persist", "window"}) EXPECT_NE(section->find(key), nullptr) << key;
  EXPECT_EQ(values.at("persist"), "true");
  EXPECT_EQ(values.at("window"), "30");
}

TEST(EncryptPlugin, SealsAndOpensThroughTheLibrary) {
  char tmpl[] = "/tmp/cluster-encrypt-plugin-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  unsigned char key[32];
  ASSERT_EQ(RAND_bytes(key, sizeof key), 1);
  unsigned char b64[64];
  EVP_EncodeBlock(b64, key, sizeof key);
  const std::string path = dir + "/keyring";
  std::ofstream(path) << b64 << "\n";
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);

  IniSection section;
  section.name = "encrypt";
  section.values["keyring"].value = path;
  section.values["persist"].value = "false";
  PluginManager plugins;
  plugins.load(plugin_path("encrypt"), &section);
  Host host(plugins.sealer_config("encrypt"));
  {
    std::shared_ptr<sdk::PacketSealer> sealer = plugins.create_sealer("encrypt", host);
    ASSERT_NE(sealer, nullptr);
    const sdk::Result r = sealer->start();
    ASSERT_TRUE(r) << r.message();
    EXPECT_EQ(sealer->overhead(), 45u);
    ASSERT_NE(sealer->keyring(), nullptr);
    EXPECT_EQ(sealer->keyring()->list().size(), 1u);
    const std::string aad("\0CL", 3);
    std::string out = aad;
    ASSERT_TRUE(sealer->seal(aad, "hello", 0, out));
    std::string body;
    EXPECT_EQ(sealer->open(aad, std::string_view(out).substr(aad.size()), body), sdk::OpenStatus::ok);
    EXPECT_EQ(body, "hello");
    EXPECT_EQ(sealer->open(aad, std::string_view(out).substr(aad.size()), body), sdk::OpenStatus::replayed);
  }
  const std::string cmd = "rm -rf '" + dir + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
}

}  // namespace
}  // namespace cluster::test
