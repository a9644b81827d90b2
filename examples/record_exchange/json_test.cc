#include "examples/record_exchange/json.h"

#include <gtest/gtest.h>

#include <string>

namespace record_exchange {
namespace {

std::string json(std::string_view value) {
  std::string out;
  appendJsonString(out, value);
  return out;
}

TEST(JsonStringTest, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(json("plain"), "\"plain\"");
  EXPECT_EQ(json("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(json("l1\r\nl2\t"), R"("l1\r\nl2\t")");
  EXPECT_EQ(json(std::string_view("\0\x1b\x7f", 3)), R"("\u0000\u001b\u007f")");
}

TEST(JsonStringTest, ValidUtf8PassesThrough) {
  EXPECT_EQ(json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

TEST(JsonStringTest, OtherBytesAreLatin1Escapes) {
  EXPECT_EQ(json("\xe9t\xe9"), R"("\u00e9t\u00e9")");                    // Latin-1 text
  EXPECT_EQ(json("\xc0\xaf"), R"("\u00c0\u00af")");                      // overlong '/'
  EXPECT_EQ(json("\xed\xa0\x80"), R"("\u00ed\u00a0\u0080")");            // surrogate
  EXPECT_EQ(json("\xf4\x90\x80\x80"), R"("\u00f4\u0090\u0080\u0080")");  // past U+10FFFF
  EXPECT_EQ(json("ok\xe2\x82"), R"("ok\u00e2\u0082")");                  // cut short
  EXPECT_EQ(json("\x80x"), R"("\u0080x")");                              // stray continuation
}

}  // namespace
}  // namespace record_exchange
