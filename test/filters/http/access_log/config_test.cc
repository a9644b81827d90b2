#include "source/filters/http/access_log/config.h"

#include <gtest/gtest.h>

#include <string>

#include "test/filters/http/access_log/test_util.h"

namespace interpose::access_log {
namespace {

using testing::configNode;
using testing::SampleStream;

std::string render(const AccessLogConfig& config) {
  SampleStream s;
  std::string out;
  config.formatter->format(s.info, out);
  return out;
}

std::string parseError(const std::string& yaml) {
  try {
    parse(configNode(yaml));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ConfigTest, Defaults) {
  for (const std::string yaml : {"", "{}", "~"}) {
    const AccessLogConfig config = parse(configNode(yaml));
    EXPECT_EQ(config.path, "/dev/stdout");
    EXPECT_EQ(render(config),
              "[2026-11-29T04:31:55.123Z] \"GET /index.html HTTP/1.1\" 200 - 17 1024 1234 "
              "\"192.0.2.1\" \"curl/8.0\" \"example.com\" \"192.0.2.10:80\" \"-\" -\n");
  }
}

TEST(ConfigTest, TextFormat) {
  const AccessLogConfig config =
      parse(configNode("path: /tmp/x.log\nformat: text\ntext_format: '%REQ(:METHOD)% %RESPONSE_CODE%'"));
  EXPECT_EQ(config.path, "/tmp/x.log");
  EXPECT_EQ(render(config), "GET 200\n");
}

TEST(ConfigTest, TextFormatBlockScalar) {
  const AccessLogConfig config = parse(configNode("text_format: |\n  %REQ(:METHOD)% %%\n"));
  EXPECT_EQ(render(config), "GET %\n");
}

TEST(ConfigTest, DefaultJsonFormat) {
  const std::string line = render(parse(configNode("format: json")));
  EXPECT_EQ(line.rfind("{\"start_time\":\"2026-11-29T04:31:55.123Z\",\"method\":\"GET\",", 0), 0u) << line;
  EXPECT_NE(line.find(",\"response_code\":200,"), std::string::npos) << line;
  EXPECT_TRUE(line.ends_with(",\"error\":null,\"tunnel\":null}\n")) << line;
}

TEST(ConfigTest, JsonFormatKeepsKeyOrder) {
  const char* yaml = R"(
format: json
json_format:
  status: "%RESPONSE_CODE%"
  method: "%REQ(:METHOD)%"
  note: "served by %UPSTREAM_HOST%"
)";
  EXPECT_EQ(render(parse(configNode(yaml))),
            "{\"status\":200,\"method\":\"GET\",\"note\":\"served by 192.0.2.10:80\"}\n");
}

TEST(ConfigTest, JsonFormatImpliesFormatJson) {
  EXPECT_EQ(render(parse(configNode("json_format: {code: '%RESPONSE_CODE%'}"))), "{\"code\":200}\n");
}

TEST(ConfigTest, UnknownKey) {
  EXPECT_EQ(parseError("path: /tmp/x.log\nbogus: 1"),
            "test.yaml:2:1: http_filters[0].config.bogus: unknown key; expected one of: path, "
            "format, text_format, json_format");
}

TEST(ConfigTest, NotAMap) {
  EXPECT_NE(parseError("[1, 2]").find("http_filters[0].config: expected a map"), std::string::npos);
}

TEST(ConfigTest, BadFormat) {
  EXPECT_EQ(parseError("format: xml"),
            "test.yaml:1:9: http_filters[0].config.format: expected one of text, json, got 'xml'");
}

TEST(ConfigTest, JsonFormatWithFormatText) {
  EXPECT_EQ(parseError("format: text\njson_format:\n  a: x"),
            "test.yaml:3:3: http_filters[0].config.json_format: not allowed with format: text");
}

TEST(ConfigTest, TextFormatWithFormatJson) {
  EXPECT_EQ(parseError("format: json\ntext_format: x"),
            "test.yaml:2:14: http_filters[0].config.text_format: not allowed with format: json");
}

TEST(ConfigTest, BadTextFormat) {
  EXPECT_EQ(parseError("text_format: '%NOPE%'"),
            "test.yaml:1:14: http_filters[0].config.text_format: unknown command %NOPE% at "
            "offset 0 of the format string");
}

TEST(ConfigTest, BadJsonFormatValue) {
  EXPECT_EQ(parseError("format: json\njson_format:\n  ok: '%PROTOCOL%'\n  status: '%STATUS%'"),
            "test.yaml:4:11: http_filters[0].config.json_format.status: unknown command "
            "%STATUS% at offset 0 of the format string");
}

TEST(ConfigTest, JsonFormatShape) {
  EXPECT_NE(parseError("json_format: [a, b]").find("json_format: expected a map"), std::string::npos);
  EXPECT_NE(parseError("json_format: {}").find("json_format: must name at least one key"), std::string::npos);
  EXPECT_NE(parseError("json_format: {a: {b: c}}").find("json_format.a: expected a format string"), std::string::npos);
  EXPECT_NE(parseError("json_format: {a: x, a: y}").find("json_format.a: duplicate key"), std::string::npos);
}

TEST(ConfigTest, EmptyValues) {
  EXPECT_NE(parseError("path: ''").find("config.path: must not be empty"), std::string::npos);
  EXPECT_NE(parseError("text_format: ''").find("config.text_format: must not be empty"), std::string::npos);
  EXPECT_NE(parseError("path: [a]").find("config.path: expected a string"), std::string::npos);
}

}  // namespace
}  // namespace interpose::access_log
