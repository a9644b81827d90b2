// CaProvider::create from YAML: defaults, every option, and errors that point at the config.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <memory>
#include <string>

#include "api/interpose/config_node.h"
#include "source/tls/ca_files.h"
#include "source/tls/ca_provider.h"
#include "test/tls/test_util.h"

namespace interpose::tls {
namespace {

ConfigNode parseYaml(const std::string& yaml) {
  return ConfigNode(YAML::Load(yaml), "cert_providers[0].ca", std::make_shared<const std::string>("test.yaml"));
}

class CaProviderConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::makeTempDir(); }
  std::string files() { return "cert: " + dir_ + "/ca.pem\nkey: " + dir_ + "/ca.key\n"; }
  std::string dir_;
};

// Expects a ConfigError whose text contains `where` and `what`.
void expectConfigError(const std::string& yaml, const std::string& where, const std::string& what) {
  try {
    auto provider = CaProvider::create("ca", parseYaml(yaml), /*validate_only=*/true);
    ADD_FAILURE() << "accepted:\n" << yaml;
  } catch (const ConfigError& e) {
    std::string message = e.what();
    EXPECT_NE(message.find(where), std::string::npos) << message;
    EXPECT_NE(message.find(what), std::string::npos) << message;
  }
}

TEST_F(CaProviderConfigTest, GeneratesAndMints) {
  auto provider = CaProvider::create("my_ca", parseYaml(files() + "generate_if_missing: true\n"), false);
  ASSERT_TRUE(provider.ok()) << provider.status();
  EXPECT_EQ((*provider)->name(), "my_ca");
  EXPECT_TRUE(pathExists(dir_ + "/ca.key"));
  EXPECT_TRUE((*provider)->certificateFor("example.com").ok());
  EXPECT_NE((*provider)->minter()->sharedKey(), nullptr);
}

TEST_F(CaProviderConfigTest, AllOptions) {
  auto provider = CaProvider::create("ca",
                                     parseYaml(files() + "generate_if_missing: yes\n"
                                                         "per_host_keys: true\n"
                                                         "leaf_validity: 30d\n"
                                                         "cache: { capacity: 2, ttl: 1h }\n"),
                                     false);
  ASSERT_TRUE(provider.ok()) << provider.status();
  EXPECT_EQ((*provider)->minter()->sharedKey(), nullptr);
  for (const char* host : {"a.test", "b.test", "c.test"}) ASSERT_TRUE((*provider)->certificateFor(host).ok());
  EXPECT_EQ((*provider)->cacheSize(), 2u);
}

TEST_F(CaProviderConfigTest, TildeIsExpanded) {
  std::string home = std::getenv("HOME") ? std::getenv("HOME") : "";
  setenv("HOME", dir_.c_str(), 1);
  auto provider =
      CaProvider::create("ca", parseYaml("cert: ~/ca.pem\nkey: ~/ca.key\ngenerate_if_missing: true\n"), false);
  setenv("HOME", home.c_str(), 1);
  ASSERT_TRUE(provider.ok()) << provider.status();
  EXPECT_TRUE(pathExists(dir_ + "/ca.pem"));
}

TEST_F(CaProviderConfigTest, DefaultDirectoryWhenNoPaths) {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  std::string saved = xdg ? xdg : "";
  setenv("XDG_DATA_HOME", dir_.c_str(), 1);
  auto provider = CaProvider::create("ca", parseYaml("generate_if_missing: true\n"), false);
  if (xdg) {
    setenv("XDG_DATA_HOME", saved.c_str(), 1);
  } else {
    unsetenv("XDG_DATA_HOME");
  }
  ASSERT_TRUE(provider.ok()) << provider.status();
  EXPECT_TRUE(pathExists(dir_ + "/interpose/ca.pem"));
  struct stat st {};
  ASSERT_EQ(stat((dir_ + "/interpose/ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(CaProviderConfigTest, FileProblemsAreStatusesNamingTheFile) {
  testing::writeFile(dir_ + "/ca.pem", "garbage");
  testing::writeFile(dir_ + "/ca.key", "garbage");
  auto provider = CaProvider::create("ca", parseYaml(files()), false);
  ASSERT_FALSE(provider.ok());
  EXPECT_TRUE(std::string(provider.status().message()).starts_with(dir_ + "/ca.pem:")) << provider.status();
}

TEST_F(CaProviderConfigTest, ConfigErrorsCarryLocation) {
  expectConfigError("cert: a.pem\nkey: a.key\ncolour: blue\n", "test.yaml:3:1", "unknown key");
  expectConfigError("cert: a.pem\n", "test.yaml:1:1", "both 'cert' and 'key'");
  expectConfigError("leaf_validity: 398d\n", "test.yaml:1:16", "397d");
  expectConfigError("leaf_validity: 0s\n", "leaf_validity", "397d");
  expectConfigError("leaf_validity: soon\n", "test.yaml:1:16", "duration");
  expectConfigError("per_host_keys: maybe\n", "per_host_keys", "true or false");
  expectConfigError("cache: { capacity: 0 }\n", "cache.capacity", "[1, 10000000]");
  expectConfigError("cache: { capacity: 10000001 }\n", "cache.capacity", "[1, 10000000]");
  expectConfigError("cache: { ttl: 0s }\n", "cache.ttl", "positive");
  expectConfigError("cache: { size: 3 }\n", "cache.size", "unknown key");
  expectConfigError("cert: [a]\nkey: b\n", "cert", "expected a string");
  expectConfigError("[1, 2]\n", "test.yaml:1:1", "expected a map");
}

TEST_F(CaProviderConfigTest, ValidateOnlyWithMissingCaIsFine) {
  auto provider = CaProvider::create("ca", parseYaml(files() + "generate_if_missing: true\n"), true);
  ASSERT_TRUE(provider.ok()) << provider.status();
  EXPECT_FALSE(pathExists(dir_ + "/ca.pem"));
  EXPECT_FALSE(pathExists(dir_ + "/ca.key"));
}

}  // namespace
}  // namespace interpose::tls
