// The `admin:` block: where the admin server listens and the token it asks for. Errors name
// FILE:LINE:COLUMN and the key path, like every config error.

#include "source/config/admin_config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "source/config/server_config.h"

namespace interpose::config {
namespace {

constexpr const char* kListener = R"(listeners:
  - name: p
    address: 127.0.0.1:1
    filter_chains:
      - filters: [ { name: tcp_proxy } ]
)";

// The admin block first, so its line numbers are those of `admin`.
absl::StatusOr<std::shared_ptr<const ServerConfig>> withAdmin(const std::string& admin) {
  return parseConfig(admin + kListener, "admin.yaml");
}

std::string errorOf(const std::string& admin) {
  auto config = withAdmin(admin);
  return config.ok() ? "(accepted)" : std::string(config.status().message());
}

std::string tempFile(const std::string& name, const std::string& text) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string path = std::string(dir ? dir : "/tmp") + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(AdminConfigTest, AbsentMeansOff) {
  auto config = withAdmin("");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE((*config)->admin.enabled);
}

TEST(AdminConfigTest, LoopbackWithoutToken) {
  auto config = withAdmin("admin:\n  address: 127.0.0.1:9901\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE((*config)->admin.enabled);
  EXPECT_EQ((*config)->admin.address.port(), 9901);
  EXPECT_EQ((*config)->admin.address_text, "127.0.0.1:9901");
  EXPECT_TRUE((*config)->admin.token.empty());
  EXPECT_TRUE(withAdmin("admin: { address: \"[::1]:9901\" }\n").ok());
}

TEST(AdminConfigTest, NonLoopbackNeedsAToken) {
  EXPECT_EQ(errorOf("admin:\n  address: 0.0.0.0:9901\n")
                .rfind("admin.yaml:2:12: admin.address: 0.0.0.0:9901 is reachable from other machines", 0),
            0u)
      << errorOf("admin:\n  address: 0.0.0.0:9901\n");
  EXPECT_NE(errorOf("admin:\n  address: 0.0.0.0:9901\n").find("set admin.token"), std::string::npos);
  EXPECT_NE(errorOf("admin: { address: \"[::]:9901\" }\n").find("is reachable from other machines"), std::string::npos);
  auto with_token = withAdmin("admin:\n  address: 0.0.0.0:9901\n  token: abc123\n");
  ASSERT_TRUE(with_token.ok()) << with_token.status();
  EXPECT_EQ((*with_token)->admin.token, "abc123");
}

TEST(AdminConfigTest, BadValuesNameTheirPlace) {
  EXPECT_EQ(errorOf("admin:\n  address: localhost:9901\n"),
            "admin.yaml:2:12: admin.address: expected IP:PORT such as 127.0.0.1:9901 or [::1]:9901");
  EXPECT_EQ(errorOf("admin:\n  address: 127.0.0.1:0\n"),
            "admin.yaml:2:12: admin.address: expected IP:PORT such as 127.0.0.1:9901 or [::1]:9901");
  EXPECT_EQ(errorOf("admin:\n  token: x\n"), "admin.yaml:2:3: admin: missing required key 'address'");
  EXPECT_EQ(errorOf("admin:\n  address: 127.0.0.1:9901\n  port: 1\n"),
            "admin.yaml:3:3: admin.port: unknown key; expected one of: address, token, token_file");
  // The token's value stays out of the message.
  EXPECT_EQ(errorOf("admin:\n  address: 127.0.0.1:9901\n  token: \"my secret\"\n"),
            "admin.yaml:3:10: admin.token: expected a token of visible ASCII characters (no spaces)");
  EXPECT_EQ(errorOf("admin:\n  address: 127.0.0.1:9901\n  token: a\n  token_file: /x\n"),
            "admin.yaml:4:15: admin.token_file: set either token or token_file, not both");
  EXPECT_EQ(errorOf("admin:\n  address: 127.0.0.1:1\n"),
            "admin.yaml:2:12: admin.address: a listener already uses 127.0.0.1:1; the admin server needs an "
            "address of its own");
}

TEST(AdminConfigTest, TokenFileIsReadWithoutItsNewline) {
  std::string path = tempFile("admin-token", "tok-123\r\n");
  auto config = withAdmin("admin:\n  address: 0.0.0.0:9901\n  token_file: " + path + "\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ((*config)->admin.token, "tok-123");

  std::string message = errorOf("admin:\n  address: 127.0.0.1:9901\n  token_file: /nonexistent/token\n");
  EXPECT_EQ(message.rfind("admin.yaml:3:15: admin.token_file: /nonexistent/token: cannot read the token file", 0), 0u)
      << message;
  std::string empty = tempFile("admin-token-empty", "\n");
  EXPECT_NE(errorOf("admin:\n  address: 127.0.0.1:9901\n  token_file: " + empty + "\n")
                .find("expected one token of visible ASCII characters"),
            std::string::npos);
}

TEST(AdminConfigTest, LoadAdminConfigReadsOnlyTheAdminBlock) {
  // The rest of the file is not checked (the CLI only needs where the admin server is).
  std::string path = tempFile("admin-only.yaml", "admin: { address: 127.0.0.1:9911, token: t }\nlisteners: 7\n");
  auto admin = loadAdminConfig(path);
  ASSERT_TRUE(admin.ok()) << admin.status();
  EXPECT_TRUE(admin->enabled);
  EXPECT_EQ(admin->address.port(), 9911);
  EXPECT_EQ(admin->token, "t");
  std::string none = tempFile("no-admin.yaml", "listeners: []\n");
  auto off = loadAdminConfig(none);
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->enabled);
  EXPECT_FALSE(loadAdminConfig("/nonexistent.yaml").ok());
}

TEST(AdminConfigTest, EmbeddedDefaultServesAdminOnLoopback) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  setenv("XDG_DATA_HOME", (std::string(tmp ? tmp : "/tmp") + "/xdg-admin-test").c_str(), 1);
  auto config = parseConfig(kDefaultConfig, "<default>", /*validate_only=*/true);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE((*config)->admin.enabled);
  EXPECT_EQ((*config)->admin.address_text, "127.0.0.1:9901");
}

}  // namespace
}  // namespace interpose::config
