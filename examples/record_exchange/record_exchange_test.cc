#include "examples/record_exchange/record_exchange.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>
#include <string>

#include "api/interpose/registry.h"
#include "api/interpose/strings.h"

// The factory context of a config load, for the factories under test.
inline interpose::FactoryContext& testContext() {
  static interpose::StandaloneFactoryContext context;
  return context;
}

namespace record_exchange {
namespace {

using interpose::Buffer;
using interpose::ConfigError;
using interpose::ConfigNode;
using interpose::FilterDataStatus;
using interpose::FilterHeadersStatus;
using interpose::HeaderMap;
using interpose::StreamInfo;
using interpose::access_log::LogSink;
namespace str = interpose::str;

ConfigNode configNode(const std::string& yaml) {
  return ConfigNode(YAML::Load(yaml), "http_filters[0].config", std::make_shared<const std::string>("test.yaml"));
}

std::string tempPath(const std::string& name) {
  std::string path = str::cat(::testing::TempDir(), "/", name, ".", getpid(), ".jsonl");
  unlink(path.c_str());
  return path;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// A filter writing to its own file, with a completed GET exchange to feed it.
struct Fixture {
  explicit Fixture(RecordExchangeConfig config = {}) {
    path = tempPath("fixture");
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    sink = std::make_shared<LogSink>(fd, true, path);
    filter = std::make_unique<RecordExchangeFilter>(std::make_shared<const RecordExchangeConfig>(config), sink);

    request.add(":method", "POST");
    request.add(":scheme", "https");
    request.add(":authority", "api.example.com");
    request.add(":path", "/v1/items?q=1");
    request.add("content-type", "application/json");
    request.add("authorization", "Bearer secret");
    response.add(":status", "201");
    response.add("content-type", "application/json");
    response.add("set-cookie", "a=1");
    response.add("set-cookie", "b=2");

    info.start_time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1795931316123));
    info.start = StreamInfo::Clock::now();
    info.end = info.start + std::chrono::milliseconds(42);
    info.response_code = 201;
  }

  // Runs the exchange through the filter's hooks; returns the recorded line.
  std::string run(std::string_view request_body, std::string_view response_body) {
    EXPECT_EQ(filter->decodeHeaders(request, false), FilterHeadersStatus::Continue);
    Buffer req(request_body);
    EXPECT_EQ(filter->decodeData(req, true), FilterDataStatus::Continue);
    EXPECT_EQ(req.view(), request_body);  // observed, not consumed
    EXPECT_EQ(filter->encodeHeaders(response, false), FilterHeadersStatus::Continue);
    // In two chunks, so the preview has to stitch them.
    Buffer first(response_body.substr(0, response_body.size() / 2));
    Buffer second(response_body.substr(response_body.size() / 2));
    EXPECT_EQ(filter->encodeData(first, false), FilterDataStatus::Continue);
    EXPECT_EQ(filter->encodeData(second, true), FilterDataStatus::Continue);
    info.bytes_received = request_body.size();
    info.bytes_sent = response_body.size();
    filter->onStreamComplete(info);
    filter->onDestroy();
    sink->flush();
    return readFile(path);
  }

  std::string path;
  std::shared_ptr<LogSink> sink;
  std::unique_ptr<RecordExchangeFilter> filter;
  HeaderMap request;
  HeaderMap response;
  StreamInfo info;
};

TEST(RecordExchangeTest, RecordsOneJsonLinePerExchange) {
  Fixture f;
  EXPECT_EQ(f.run(R"({"name":"x"})", "{\"id\":7}"),
            R"({"start_time":"2026-11-29T05:48:36.123Z","method":"POST","url":"https://api.example.com/v1/items?q=1",)"
            R"("request_headers":[["content-type","application/json"],["authorization","[redacted]"]],)"
            R"("status":201,"response_headers":[["content-type","application/json"],)"
            R"(["set-cookie","[redacted]"],["set-cookie","[redacted]"]],)"
            R"("request_body_size":12,"response_body_size":8,"duration_ms":42,"error":null})"
            "\n");
}

TEST(RecordExchangeTest, BodyPreviewsAreCappedAndFlaggedTruncated) {
  RecordExchangeConfig config;
  config.max_body_bytes = 5;
  config.redact_headers = {};
  Fixture f(config);
  std::string line = f.run("abc", "0123456789");
  EXPECT_NE(line.find(R"("request_body":"abc","request_body_truncated":false)"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("response_body":"01234","response_body_truncated":true)"), std::string::npos) << line;
  EXPECT_NE(line.find(R"(["authorization","Bearer secret"])"), std::string::npos) << line;
}

TEST(RecordExchangeTest, BinaryBodiesStayValidJson) {
  RecordExchangeConfig config;
  config.max_body_bytes = 16;
  Fixture f(config);
  std::string line = f.run(std::string_view("\x00\xff\n\"", 4), "");
  EXPECT_NE(line.find(R"("request_body":"\u0000\u00ff\n\"")"), std::string::npos) << line;
}

TEST(RecordExchangeTest, ExchangeAnsweredBeforeThisFilterUsesTheStreamsRecord) {
  // A filter before this one answered (local_reply), so decodeHeaders never ran here and
  // an error ended the stream before any response headers.
  Fixture f;
  f.info.request_headers = &f.request;
  f.info.response_code = 0;
  f.info.error = "upstream connect error: connection refused (127.0.0.1:1)";
  f.filter->onStreamComplete(f.info);
  f.sink->flush();
  std::string line = readFile(f.path);
  EXPECT_NE(line.find(R"("method":"POST","url":"https://api.example.com/v1/items?q=1")"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("status":0,"response_headers":[])"), std::string::npos) << line;
  EXPECT_NE(line.find(R"j("error":"upstream connect error: connection refused (127.0.0.1:1)"})j"), std::string::npos)
      << line;
}

TEST(RecordExchangeTest, ConnectIsRecordedByAuthority) {
  Fixture f;
  HeaderMap connect;
  connect.add(":method", "CONNECT");
  connect.add(":authority", "example.com:443");
  f.filter->decodeHeaders(connect, false);
  EXPECT_NE(f.filter->format(f.info).find(R"("method":"CONNECT","url":"example.com:443")"), std::string::npos);
}

TEST(RecordExchangeTest, RegisteredFactoryWritesToTheConfiguredFile) {
  const interpose::HttpFilterFactory* factory = interpose::HttpFilterRegistry::get().find("record_exchange");
  ASSERT_NE(factory, nullptr);
  const std::string path = tempPath("factory");
  auto make = factory->create(configNode(str::cat("{ path: '", path, "', max_body_bytes: 1KiB }")), testContext());
  StreamInfo info;
  make()->onStreamComplete(info);
  LogSink::flushAll();
  EXPECT_NE(readFile(path).find(R"("method":"","url":"")"), std::string::npos) << readFile(path);
}

std::string parseError(const std::string& yaml) {
  try {
    parseConfig(configNode(yaml));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(RecordExchangeConfigTest, Parses) {
  RecordExchangeConfig c = parseConfig(configNode("{ path: /tmp/x, max_body_bytes: 2KiB, redact_headers: [X-Key] }"));
  EXPECT_EQ(c.path, "/tmp/x");
  EXPECT_EQ(c.max_body_bytes, 2048u);
  EXPECT_TRUE(c.redacted("x-key"));
  EXPECT_FALSE(c.redacted("authorization"));
  EXPECT_TRUE(parseConfig(configNode("path: /tmp/x")).redacted("cookie"));
}

TEST(RecordExchangeConfigTest, Errors) {
  EXPECT_NE(parseError("{}").find("missing required key 'path'"), std::string::npos);
  std::string e = parseError("path: /tmp/x\nmax_body_bytes: 2MiB\n");
  EXPECT_EQ(e.rfind("test.yaml:2:17: http_filters[0].config.max_body_bytes: expected at most 1MiB", 0), 0u) << e;
  EXPECT_NE(parseError("{ path: /tmp/x, redact_headers: ['a b'] }").find("expected a header name"), std::string::npos);
  EXPECT_NE(parseError("{ path: /tmp/x, pth: y }").find("unknown key"), std::string::npos);
  const interpose::HttpFilterFactory* factory = interpose::HttpFilterRegistry::get().find("record_exchange");
  try {
    factory->create(configNode("path: /nonexistent/dir/x.jsonl"), testContext());
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("config.path: cannot open '/nonexistent/dir/x.jsonl'"), std::string::npos)
        << error.what();
  }
}

}  // namespace
}  // namespace record_exchange
