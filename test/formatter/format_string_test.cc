#include "source/formatter/format_string.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <climits>
#include <string>

#include "api/interpose/config_node.h"
#include "test/formatter/test_util.h"

namespace interpose::formatter {
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

std::string raw(std::string_view format, const StreamInfo& info) {
  std::string out;
  FormatString::compile(format, configNode("{}")).appendRaw(info, out);
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

TEST(FormatStringTest, StartTime) {
  SampleStream s;
  EXPECT_EQ(text("%START_TIME%", s.info), "2026-11-29T04:31:55.123Z");
  EXPECT_EQ(text("%START_TIME()%", s.info), "2026-11-29T04:31:55.123Z");
  EXPECT_EQ(text("%START_TIME(%Y/%m/%d %H:%M:%S)%", s.info), "2026/11/29 04:31:55");
  EXPECT_EQ(text("%START_TIME(%S.%3f|%6f|%9f|%f|%1f)%", s.info), "55.123|123456|123456789|123456789|1");
  EXPECT_EQ(text("%START_TIME(%s)%", s.info), "1795926715");
  // strftime's own escapes are left alone: %%f is a literal "%f".
  EXPECT_EQ(text("%START_TIME(%%f %%)%", s.info), "%f %");
}

TEST(FormatStringTest, StartTimePadsSmallFields) {
  SampleStream s;
  s.info.start_time = std::chrono::system_clock::time_point(std::chrono::milliseconds(7));
  EXPECT_EQ(text("%START_TIME%", s.info), "1970-01-01T00:00:00.007Z");
  EXPECT_EQ(text("%START_TIME(%3f)%", s.info), "007");
}

TEST(FormatStringTest, RequestAndResponseHeaders) {
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

TEST(FormatStringTest, FallbackHeader) {
  SampleStream s;
  EXPECT_EQ(text("%REQ(X-ORIGINAL-PATH?:PATH)%", s.info), "/index.html");
  s.request.add("x-original-path", "/before-rewrite");
  EXPECT_EQ(text("%REQ(X-ORIGINAL-PATH?:PATH)%", s.info), "/before-rewrite");
  EXPECT_EQ(text("%REQ(X-A?X-B)%", s.info), "-");
  EXPECT_EQ(text("%RESP(X-A?CONTENT-TYPE)%", s.info), "text/html");
}

TEST(FormatStringTest, MaxLength) {
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

TEST(FormatStringTest, StreamFields) {
  SampleStream s;
  EXPECT_EQ(text("%RESPONSE_CODE% %BYTES_RECEIVED% %BYTES_SENT% %DURATION%", s.info), "200 17 1024 1234");
  EXPECT_EQ(text("%PROTOCOL% %UPSTREAM_PROTOCOL% %UPSTREAM_HOST%", s.info), "HTTP/1.1 HTTP/1.0 192.0.2.10:80");
  s.info.error = "connection refused";
  EXPECT_EQ(text("%ERROR%|%RESPONSE_CODE_DETAILS%", s.info), "connection refused|connection refused");
}

TEST(FormatStringTest, ConnectionFields) {
  SampleStream s;
  EXPECT_EQ(text("%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% "
                 "%DOWNSTREAM_LOCAL_ADDRESS% %CONNECTION_ID% %LISTENER_NAME% "
                 "%REQUESTED_SERVER_NAME%",
                 s.info),
            "10.0.0.1:5555 10.0.0.1 10.0.0.2:8080 42 main example.com");
  s.connection.remote_address = "[2001:db8::1]:443";
  EXPECT_EQ(text("%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%", s.info), "2001:db8::1");
}

TEST(FormatStringTest, Hostname) {
  SampleStream s;
  char name[HOST_NAME_MAX + 1] = {};
  ASSERT_EQ(gethostname(name, sizeof(name) - 1), 0);
  EXPECT_EQ(text("%HOSTNAME%", s.info), name);
}

TEST(FormatStringTest, ResponseFlags) {
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

TEST(FormatStringTest, MissingValuesPrintDash) {
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

TEST(FormatStringTest, LiteralPercent) {
  SampleStream s;
  EXPECT_EQ(text("100%% of %RESPONSE_CODE%%%", s.info), "100% of 200%");
  EXPECT_EQ(text("%%%%", s.info), "%%");
  EXPECT_EQ(text("", s.info), "");
}

TEST(FormatStringTest, TextEscapesInjectedLines) {
  SampleStream s;
  s.request.add("x-evil", "a\r\n[2026-01-01] \"forged\" \\ \x1b[31m\x7f");
  EXPECT_EQ(text("\"%REQ(X-EVIL)%\"\n", s.info), "\"a\\x0d\\x0a[2026-01-01] \\x22forged\\x22 \\x5c \\x1b[31m\\x7f\"\n");
  // UTF-8 is kept readable.
  s.request.set("x-evil", "caf\xc3\xa9");
  EXPECT_EQ(text("%REQ(X-EVIL)%", s.info), "caf\xc3\xa9");
}

TEST(FormatStringTest, JsonValues) {
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

TEST(FormatStringTest, JsonEscaping) {
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

TEST(FormatStringTest, ErrorsNameFileLineColumnAndKeyPath) {
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

TEST(FormatStringTest, MalformedCommands) {
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

TEST(FormatStringTest, RouteName) {
  SampleStream s;
  EXPECT_EQ(text("%ROUTE_NAME%", s.info), "api/users");
  s.info.route_name.clear();  // no route table, or no route matched
  EXPECT_EQ(text("%ROUTE_NAME%", s.info), "-");
  EXPECT_EQ(json("%ROUTE_NAME%", s.info), "null");
}

TEST(FormatStringTest, Tunnel) {
  SampleStream s;
  EXPECT_EQ(text("%TUNNEL%", s.info), "-");  // not a CONNECT, or refused before a tunnel
  EXPECT_EQ(json("%TUNNEL%", s.info), "null");
  s.info.tunnel = TunnelChoice{"intercept", true, ""};
  EXPECT_EQ(text("%TUNNEL%", s.info), "intercepted:intercept");
  s.info.tunnel = TunnelChoice{"banks", false, "server_names=*.bank.example"};
  EXPECT_EQ(text("%TUNNEL%", s.info), "passthrough:banks(server_names=*.bank.example)");
  EXPECT_EQ(json("%TUNNEL%", s.info), "\"passthrough:banks(server_names=*.bank.example)\"");
}

TEST(FormatStringTest, RawKeepsBytesAndLeavesUnknownValuesEmpty) {
  SampleStream s;
  s.request.add("x-v", "a \"b\" caf\xc3\xa9");
  EXPECT_EQ(raw("[%REQ(X-V)%]", s.info), "[a \"b\" caf\xc3\xa9]");
  EXPECT_EQ(raw("[%REQ(X-NONE)%|%UPSTREAM_HOST%]", StreamInfo{}), "[|]");
  EXPECT_EQ(raw("100%% %RESPONSE_CODE%", s.info), "100% 200");
  // The caller checks the bytes: raw rendering does not hide them.
  s.request.set("x-v", "a\r\nb");
  EXPECT_EQ(raw("%REQ(X-V)%", s.info), "a\r\nb");
}

TEST(FormatStringTest, Literal) {
  const FormatString literal = FormatString::compile("1.1 interpose 100%%", configNode("{}"));
  EXPECT_TRUE(literal.isLiteral());
  EXPECT_EQ(literal.literalText(), "1.1 interpose 100%");
  EXPECT_FALSE(FormatString::compile("x %HOSTNAME%", configNode("{}")).isLiteral());
  EXPECT_TRUE(FormatString::compile("", configNode("{}")).isLiteral());
}

// What a filter sees in decodeHeaders: the request, the connection, the start time and the
// protocol are known; nothing about the response or the upstream is.
TEST(FormatStringTest, RequestTimeValues) {
  SampleStream s;
  s.info.response_headers = nullptr;
  s.info.response_code = 0;
  s.info.upstream_host.clear();
  s.info.upstream_protocol.clear();
  s.info.end.reset();
  EXPECT_EQ(raw("%REQ(:METHOD)% %REQ(:AUTHORITY)% %PROTOCOL% %DOWNSTREAM_REMOTE_ADDRESS% "
                "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %REQUESTED_SERVER_NAME% %ROUTE_NAME% "
                "%START_TIME(%Y-%m-%d)%",
                s.info),
            "GET example.com HTTP/1.1 10.0.0.1:5555 10.0.0.1 example.com api/users 2026-11-29");
  EXPECT_EQ(raw("[%RESP(CONTENT-TYPE)%][%UPSTREAM_HOST%]", s.info), "[][]");
  EXPECT_EQ(raw("%RESPONSE_CODE%", s.info), "0");
}

// In encodeHeaders the status is in the response headers before response_code is stamped.
TEST(FormatStringTest, ResponseCodeWhileEncoding) {
  SampleStream s;
  s.info.response_code = 0;
  s.response.set(":status", "404");
  EXPECT_EQ(raw("%RESPONSE_CODE%", s.info), "404");
  EXPECT_EQ(json("%RESPONSE_CODE%", s.info), "404");
}

}  // namespace
}  // namespace interpose::formatter
