#include "api/interpose/config_node.h"

#include <gtest/gtest.h>

namespace interpose {
namespace {

TEST(EscapeForMessageTest, LeavesOrdinaryTextAlone) {
  EXPECT_EQ(escapeForMessage(""), "");
  EXPECT_EQ(escapeForMessage("listeners[0].name: expected 'a\\d+'"), "listeners[0].name: expected 'a\\d+'");
  // Other UTF-8, invalid UTF-8 and a lone lead byte pass unchanged: only controls are escaped.
  EXPECT_EQ(escapeForMessage("caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x98\x80");
  EXPECT_EQ(escapeForMessage("\xff\xc2"), "\xff\xc2");
  EXPECT_EQ(escapeForMessage("\xe2\x80"), "\xe2\x80");
}

TEST(EscapeForMessageTest, EscapesControlBytes) {
  EXPECT_EQ(escapeForMessage(std::string_view("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(escapeForMessage("\x1b[31mred\r\n\t\x7f"), "\\x1B[31mred\\x0D\\x0A\\x09\\x7F");
}

TEST(EscapeForMessageTest, EscapesC1AndBidiControls) {
  EXPECT_EQ(escapeForMessage("\xc2\x9b[31m"), "\\u{009B}[31m");  // U+009B, CSI on some terminals
  EXPECT_EQ(escapeForMessage("\xc2\xa0"), "\xc2\xa0");           // U+00A0 is no control
  EXPECT_EQ(escapeForMessage("a\xe2\x80\xaax\xe2\x80\xaey"), "a\\u{202A}x\\u{202E}y");
  EXPECT_EQ(escapeForMessage("\xe2\x81\xa6\xe2\x81\xa9"), "\\u{2066}\\u{2069}");
  // Their neighbours U+2029, U+202F, U+2065 and U+206A are left alone.
  EXPECT_EQ(escapeForMessage("\xe2\x80\xa9\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa"),
            "\xe2\x80\xa9\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa");
}

TEST(EscapeForMessageTest, EscapingTwiceChangesNothing) {
  const std::string once = escapeForMessage("x\x1b\xe2\x80\xae\\x1B");
  EXPECT_EQ(once, "x\\x1B\\u{202E}\\x1B");
  EXPECT_EQ(escapeForMessage(once), once);
}

std::string failure(const ConfigNode& node, std::string_view what) {
  try {
    node.fail(what);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigNodeTest, FailEscapesKeysAndValuesFromTheConfig) {
  auto file = std::make_shared<const std::string>("c.yaml");
  ConfigNode top(YAML::Load("a: 1\n\"b\\e[2J\": \"v\\u202e\"\n"), "", file);
  std::string key;
  for (const auto& kv : top.yaml()) key = kv.first.Scalar();
  ConfigNode value = top.child(key);
  EXPECT_EQ(failure(value, "got '" + value.str() + "'"), "c.yaml:2:11: b\\x1B[2J: got 'v\\u{202E}'");
}

TEST(ConfigNodeTest, UnknownKeyErrorIsEscaped) {
  auto file = std::make_shared<const std::string>("c.yaml");
  ConfigNode top(YAML::Load("\"na\\tme\": x\n"), "", file);
  try {
    top.expectMap({"name"});
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "c.yaml:1:1: na\\x09me: unknown key; expected one of: name");
  }
}

}  // namespace
}  // namespace interpose
