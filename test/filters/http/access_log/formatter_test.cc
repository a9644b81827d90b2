#include "source/filters/http/access_log/formatter.h"

#include <gtest/gtest.h>

#include <string>

#include "api/interpose/config_node.h"
#include "test/filters/http/access_log/test_util.h"

namespace interpose::access_log {
namespace {

using testing::configNode;
using testing::SampleStream;

// The format strings themselves are tested in test/formatter; these are the log lines.
TEST(FormatterTest, DefaultTextFormat) {
  SampleStream s;
  s.info.response_flags = response_flags::kUpstreamRequestTimeout;
  std::string out;
  TextFormatter(kDefaultTextFormat, configNode("{}")).format(s.info, out);
  EXPECT_EQ(out,
            "[2026-11-29T04:31:55.123Z] \"GET /index.html HTTP/1.1\" 200 UT 17 1024 1234 "
            "\"192.0.2.1\" \"curl/8.0\" \"example.com\" \"192.0.2.10:80\" \"-\" -\n");
  SampleStream failed;
  failed.info.error = "upstream connect error: connection refused (192.0.2.10:80)";
  out.clear();
  TextFormatter(kDefaultTextFormat, configNode("{}")).format(failed.info, out);
  EXPECT_TRUE(out.ends_with("\"upstream connect error: connection refused (192.0.2.10:80)\" -\n")) << out;
}

TEST(FormatterTest, TextFormatterEndsLinesWithOneNewline) {
  SampleStream s;
  std::string out;
  TextFormatter("%RESPONSE_CODE%", configNode("{}")).format(s.info, out);
  TextFormatter("%RESPONSE_CODE%\n", configNode("{}")).format(s.info, out);
  EXPECT_EQ(out, "200\n200\n");
}

TEST(FormatterTest, DefaultJsonFormat) {
  SampleStream s;
  s.request.remove("x-forwarded-for");
  std::vector<JsonFormatter::Field> fields;
  for (const auto& [key, format] : defaultJsonFormat()) {
    fields.push_back({key, FormatString::compile(format, configNode("{}"))});
  }
  std::string out;
  JsonFormatter(std::move(fields)).format(s.info, out);
  EXPECT_EQ(out,
            "{\"start_time\":\"2026-11-29T04:31:55.123Z\",\"method\":\"GET\","
            "\"path\":\"/index.html\",\"protocol\":\"HTTP/1.1\",\"response_code\":200,"
            "\"response_flags\":\"-\",\"bytes_received\":17,\"bytes_sent\":1024,"
            "\"duration_ms\":1234,\"upstream_host\":\"192.0.2.10:80\","
            "\"authority\":\"example.com\",\"user_agent\":\"curl/8.0\","
            "\"x_forwarded_for\":null,\"downstream_remote_address\":\"10.0.0.1:5555\","
            "\"error\":null,\"tunnel\":null}\n");
}

TEST(FormatterTest, JsonKeysAreEscaped) {
  SampleStream s;
  std::vector<JsonFormatter::Field> fields;
  fields.push_back({"a\"b", FormatString::compile("%RESPONSE_CODE%", configNode("{}"))});
  fields.push_back({"c", FormatString::compile("x", configNode("{}"))});
  std::string out;
  JsonFormatter(std::move(fields)).format(s.info, out);
  EXPECT_EQ(out, "{\"a\\\"b\":200,\"c\":\"x\"}\n");
}

}  // namespace
}  // namespace interpose::access_log
