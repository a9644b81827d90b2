#include "source/filters/http/access_log/formatter.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <climits>
#include <string>

#include "api/interpose/config_node.h"
#include "test/filters/http/access_log/test_util.h"

namespace interpose::access_log {
namespace {

using testing::configNode;
using testing::SampleStream;

std::string text(std::string_view format, const StreamInfo& info) {
  std::string out;
  FormatString::compile(format, configNode("{}")).appendText(info, out);
  return out;
}

std::string json(std::string_view format, const StreamInfo& info) {
  std::string out;
  FormatString::compile(format, configNode("{}")).appendJson(info, out);
  return out;
}

// The ConfigError message compiling `format`, as given on line 2 of a config file.
std::string compileError(std::string_view format) {
  const ConfigNode node = configNode("path: /dev/stdout\ntext_format: '" + std::string(format) + "'\n");
  try {
    FormatString::compile(format, node.child("text_format"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(FormatterTest, StartTime) {
  SampleStream s;
  EXPECT_EQ(text("%START_TIME%", s.info), "2026-11-29T04:31:55.123Z");
  EXPECT_EQ(text("%START_TIME()%", s.info), "2026-11-29T04:31:55.123Z");
  EXPECT_EQ(text("%START_TIME(%Y/%m/%d %H:%M:%S)%", s.info), "2026/11/29 04:31:55");
  EXPECT_EQ(text("%START_TIME(%S.%3f|%6f|%9f|%f|%1f)%", s.info), "55.123|123456|123456789|123456789|1");
  EXPECT_EQ(text("%START_TIME(%s)%", s.info), "1795926715");
  // strftime's own escapes are left alone: %%f is a literal "%f".
  EXPECT_EQ(text("%START_TIME(%%f %%)%", s.info), "%f %");
}

TEST(FormatterTest, StartTimePadsSmallFields) {
  SampleStream s;
  s.info.start_time = std::chrono::system_clock::time_point(std::chrono::milliseconds(7));
  EXPECT_EQ(text("%START_TIME%", s.info), "1970-01-01T00:00:00.007Z");
  EXPECT_EQ(text("%START_TIME(%3f)%", s.info), "007");
}

TEST(FormatterTest, RequestAndResponseHeaders) {
  SampleStream s;
  EXPECT_EQ(text("%REQ(:METHOD)% %REQ(:SCHEME)%://%REQ(:AUTHORITY)%%REQ(:PATH)%", s.info),
            "GET http://example.com/index.html");
  // Names are case-insensitive.
  EXPECT_EQ(text("%REQ(User-Agent)% %REQ(:method)%", s.info), "curl/8.0 GET");
  EXPECT_EQ(text("%RESP(CONTENT-TYPE)% %RESP(:STATUS)%", s.info), "text/html 200");
  // Repeated fields are joined as RFC 9110 combines them.
  s.request.add("X-Forwarded-For", "198.51.100.7");
  EXPECT_EQ(text("%REQ(X-FORWARDED-FOR)%", s.info), "192.0.2.1, 198.51.100.7");
}

TEST(FormatterTest, FallbackHeader) {
  SampleStream s;
  EXPECT_EQ(text("%REQ(X-ORIGINAL-PATH?:PATH)%", s.info), "/index.html");
  s.request.add("x-original-path", "/before-rewrite");
  EXPECT_EQ(text("%REQ(X-ORIGINAL-PATH?:PATH)%", s.info), "/before-rewrite");
  EXPECT_EQ(text("%REQ(X-A?X-B)%", s.info), "-");
  EXPECT_EQ(text("%RESP(X-A?CONTENT-TYPE)%", s.info), "text/html");
}

TEST(FormatterTest, MaxLength) {
  SampleStream s;
  EXPECT_EQ(text("%REQ(USER-AGENT):4%", s.info), "curl");
  EXPECT_EQ(text("%REQ(USER-AGENT):100%", s.info), "curl/8.0");
  EXPECT_EQ(text("%REQ(USER-AGENT):0%", s.info), "");
  EXPECT_EQ(text("%UPSTREAM_HOST:9%", s.info), "192.0.2.1");
  EXPECT_EQ(text("%START_TIME:4%", s.info), "2026");
  // A missing value stays "-" whatever the length.
  EXPECT_EQ(text("%REQ(X-NONE):0%", s.info), "-");
  // Never cut inside a UTF-8 character: "né" is n, then two bytes.
  s.request.add("x-name", "n\xc3\xa9");
  EXPECT_EQ(text("%REQ(X-NAME):2%", s.info), "n");
  EXPECT_EQ(text("%REQ(X-NAME):3%", s.info), "n\xc3\xa9");
}

TEST(FormatterTest, StreamFields) {
  SampleStream s;
  EXPECT_EQ(text("%RESPONSE_CODE% %BYTES_RECEIVED% %BYTES_SENT% %DURATION%", s.info), "200 17 1024 1234");
  EXPECT_EQ(text("%PROTOCOL% %UPSTREAM_PROTOCOL% %UPSTREAM_HOST%", s.info), "HTTP/1.1 HTTP/1.0 192.0.2.10:80");
  s.info.error = "connection refused";
  EXPECT_EQ(text("%ERROR%|%RESPONSE_CODE_DETAILS%", s.info), "connection refused|connection refused");
}

TEST(FormatterTest, ConnectionFields) {
  SampleStream s;
  EXPECT_EQ(text("%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% "
                 "%DOWNSTREAM_LOCAL_ADDRESS% %CONNECTION_ID% %LISTENER_NAME% "
                 "%REQUESTED_SERVER_NAME%",
                 s.info),
            "10.0.0.1:5555 10.0.0.1 10.0.0.2:8080 42 main example.com");
  s.connection.remote_address = "[2001:db8::1]:443";
  EXPECT_EQ(text("%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%", s.info), "2001:db8::1");
}

TEST(FormatterTest, Hostname) {
  SampleStream s;
  char name[HOST_NAME_MAX + 1] = {};
  ASSERT_EQ(gethostname(name, sizeof(name) - 1), 0);
  EXPECT_EQ(text("%HOSTNAME%", s.info), name);
}

TEST(FormatterTest, ResponseFlags) {
  SampleStream s;
  EXPECT_EQ(text("%RESPONSE_FLAGS%", s.info), "-");
  s.info.response_flags = response_flags::kUpstreamConnectionFailure;
  EXPECT_EQ(text("%RESPONSE_FLAGS%", s.info), "UF");
  s.info.response_flags =
      response_flags::kRequestHeaderTimeout | response_flags::kLocalReply | response_flags::kNoHealthyUpstream;
  EXPECT_EQ(text("%RESPONSE_FLAGS%", s.info), "UH,LR,RHT");
  s.info.response_flags = 0xfff;
  EXPECT_EQ(text("%RESPONSE_FLAGS%", s.info), "UF,UH,UT,UC,DC,LR,SI,DPE,UPE,RL,UO,RHT");
}

TEST(FormatterTest, MissingValuesPrintDash) {
  StreamInfo info;  // nothing known: no connection, no headers, no time
  EXPECT_EQ(text("%START_TIME%|%REQ(:METHOD)%|%RESP(:STATUS)%|%UPSTREAM_HOST%|%PROTOCOL%|"
                 "%UPSTREAM_PROTOCOL%|%ERROR%|%DOWNSTREAM_REMOTE_ADDRESS%|"
                 "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%|%DOWNSTREAM_LOCAL_ADDRESS%|"
                 "%CONNECTION_ID%|%LISTENER_NAME%|%REQUESTED_SERVER_NAME%",
                 info),
            "-|-|-|-|-|-|-|-|-|-|-|-|-");
  // Counters are always known; no response yet is code 0, as in Envoy.
  info.end = info.start;
  EXPECT_EQ(text("%RESPONSE_CODE% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESPONSE_FLAGS%", info), "0 0 0 0 -");
}

TEST(FormatterTest, LiteralPercent) {
  SampleStream s;
  EXPECT_EQ(text("100%% of %RESPONSE_CODE%%%", s.info), "100% of 200%");
  EXPECT_EQ(text("%%%%", s.info), "%%");
  EXPECT_EQ(text("", s.info), "");
}

TEST(FormatterTest, TextEscapesInjectedLines) {
  SampleStream s;
  s.request.add("x-evil", "a\r\n[2026-01-01] \"forged\" \\ \x1b[31m\x7f");
  EXPECT_EQ(text("\"%REQ(X-EVIL)%\"\n", s.info), "\"a\\x0d\\x0a[2026-01-01] \\x22forged\\x22 \\x5c \\x1b[31m\\x7f\"\n");
  // UTF-8 is kept readable.
  s.request.set("x-evil", "caf\xc3\xa9");
  EXPECT_EQ(text("%REQ(X-EVIL)%", s.info), "caf\xc3\xa9");
}

TEST(FormatterTest, JsonValues) {
  SampleStream s;
  // Numeric commands alone are numbers; everything else is a string.
  EXPECT_EQ(json("%RESPONSE_CODE%", s.info), "200");
  EXPECT_EQ(json("%BYTES_RECEIVED%", s.info), "17");
  EXPECT_EQ(json("%BYTES_SENT%", s.info), "1024");
  EXPECT_EQ(json("%DURATION%", s.info), "1234");
  EXPECT_EQ(json("%CONNECTION_ID%", s.info), "42");
  EXPECT_EQ(json("%REQ(:METHOD)%", s.info), "\"GET\"");
  EXPECT_EQ(json("%RESPONSE_CODE% OK", s.info), "\"200 OK\"");
  EXPECT_EQ(json("static", s.info), "\"static\"");
  EXPECT_EQ(json("", s.info), "\"\"");
  // Missing: null alone, "-" inside a larger string.
  EXPECT_EQ(json("%REQ(X-NONE)%", s.info), "null");
  EXPECT_EQ(json("%CONNECTION_ID%", StreamInfo{}), "null");
  EXPECT_EQ(json("[%REQ(X-NONE)%]", s.info), "\"[-]\"");
}

TEST(FormatterTest, JsonEscaping) {
  SampleStream s;
  s.request.add("x-v", "q\"b\\n\n\t\x01\x7f caf\xc3\xa9 \xf0\x9f\x98\x80");
  EXPECT_EQ(json("%REQ(X-V)%", s.info), "\"q\\\"b\\\\n\\u000a\\u0009\\u0001\\u007f caf\xc3\xa9 \xf0\x9f\x98\x80\"");
  // Bytes that are not UTF-8 (Latin-1 obs-text, a truncated sequence, an overlong form)
  // become their Latin-1 code point, keeping the line valid JSON.
  s.request.set("x-v", "caf\xe9 \xe2\x82 \xc0\xaf");
  EXPECT_EQ(json("%REQ(X-V)%", s.info), "\"caf\\u00e9 \\u00e2\\u0082 \\u00c0\\u00af\"");
  // Literal text from the config is escaped too.
  EXPECT_EQ(json("say \"%REQ(:METHOD)%\"\\", s.info), "\"say \\\"GET\\\"\\\\\"");
}

TEST(FormatterTest, DefaultTextFormat) {
  SampleStream s;
  s.info.response_flags = response_flags::kUpstreamRequestTimeout;
  std::string out;
  TextFormatter(kDefaultTextFormat, configNode("{}")).format(s.info, out);
  EXPECT_EQ(out,
            "[2026-11-29T04:31:55.123Z] \"GET /index.html HTTP/1.1\" 200 UT 17 1024 1234 "
            "\"192.0.2.1\" \"curl/8.0\" \"example.com\" \"192.0.2.10:80\"\n");
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
            "\"error\":null}\n");
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

TEST(FormatterTest, ErrorsNameFileLineColumnAndKeyPath) {
  const std::string where = "test.yaml:2:14: http_filters[0].config.text_format: ";
  EXPECT_EQ(compileError("[%FOO%]"), where + "unknown command %FOO% at offset 1 of the format string");
  EXPECT_EQ(compileError("100% sure"), where +
                                           "unbalanced '%' at offset 3 of the format string; write %% for a literal "
                                           "percent sign");
  EXPECT_EQ(compileError("done %"), where +
                                        "unbalanced '%' at offset 5 of the format string; write %% for a literal "
                                        "percent sign");
  EXPECT_EQ(compileError("x %RESPONSE_CODE"),
            where +
                "unterminated command '%RESPONSE_CODE' at offset 2 of the format string: "
                "missing closing '%'");
}

TEST(FormatterTest, MalformedCommands) {
  const auto fails = [](std::string_view format, std::string_view message) {
    const std::string error = compileError(format);
    EXPECT_NE(error.find(message), std::string::npos) << format << " -> " << error;
    EXPECT_EQ(error.rfind("test.yaml:2:14: http_filters[0].config.text_format: ", 0), 0u) << error;
  };
  fails("%req(:method)%", "unknown command %req(:method)%");
  fails("%REQ%", "%REQ% needs an argument");
  fails("%RESP%", "%RESP% needs an argument");
  fails("%REQ()%", "invalid header name");
  fails("%REQ(A?)%", "invalid header name");
  fails("%REQ(A B)%", "invalid header name");
  fails("%REQ(A%", "missing ')'");
  fails("%REQ(A)x%", "unexpected 'x' after ')'");
  fails("%REQ(A):x%", "malformed length");
  fails("%REQ(A):%", "malformed length");
  fails("%REQ(A):-1%", "malformed length");
  fails("%RESPONSE_CODE(1)%", "takes no argument");
  fails("%DURATION:3%", "is a number and takes no length");
  fails("%START_TIME(%Y)", "missing closing '%'");
}

}  // namespace
}  // namespace interpose::access_log
