#include "source/filters/http/access_log/access_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "api/interpose/registry.h"
#include "api/interpose/strings.h"
#include "test/filters/http/access_log/test_util.h"

// The factory context of a config load, for the factories under test.
inline interpose::FactoryContext& testContext() {
  static interpose::StandaloneFactoryContext context;
  return context;
}

namespace interpose::access_log {
namespace {

using testing::configNode;
using testing::SampleStream;

const HttpFilterFactory& factory() {
  const HttpFilterFactory* found = HttpFilterRegistry::get().find("access_log");
  EXPECT_NE(found, nullptr);
  return *found;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

TEST(AccessLogTest, RegisteredAndNotTerminal) {
  EXPECT_EQ(factory().name(), "access_log");
  EXPECT_FALSE(factory().terminal());
}

TEST(AccessLogTest, LogsOneLinePerCompletedStream) {
  const std::string path = str::cat(::testing::TempDir(), "/access.", getpid(), ".log");
  unlink(path.c_str());
  HttpFilterFactoryCb make = factory().create(
      configNode(str::cat("path: ", path, "\ntext_format: '%REQ(:METHOD)% %RESPONSE_CODE%'")), testContext());

  SampleStream s;
  for (int code : {200, 404}) {
    std::unique_ptr<HttpFilter> filter = make();
    HeaderMap headers;
    Buffer body("x");
    // The filter only observes.
    EXPECT_EQ(filter->decodeHeaders(headers, false), FilterHeadersStatus::Continue);
    EXPECT_EQ(filter->decodeData(body, true), FilterDataStatus::Continue);
    EXPECT_EQ(filter->encodeHeaders(headers, false), FilterHeadersStatus::Continue);
    EXPECT_EQ(filter->encodeData(body, true), FilterDataStatus::Continue);
    s.info.response_code = code;
    filter->onStreamComplete(s.info);
    filter->onDestroy();
  }
  LogSink::flushAll();
  EXPECT_EQ(readFile(path), "GET 200\nGET 404\n");
}

TEST(AccessLogTest, JsonLines) {
  const std::string path = str::cat(::testing::TempDir(), "/access-json.", getpid(), ".log");
  unlink(path.c_str());
  HttpFilterFactoryCb make = factory().create(
      configNode(str::cat("path: ", path, "\nformat: json\njson_format: {ua: '%REQ(USER-AGENT)%'}")), testContext());
  SampleStream s;
  s.request.set("user-agent", "x\ny");
  make()->onStreamComplete(s.info);
  LogSink::flushAll();
  EXPECT_EQ(readFile(path), "{\"ua\":\"x\\u000ay\"}\n");
}

TEST(AccessLogTest, UnopenablePathIsAConfigError) {
  try {
    factory().create(configNode("format: text\npath: /nonexistent-dir/access.log"), testContext());
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "test.yaml:2:7: http_filters[0].config.path: cannot open "
              "'/nonexistent-dir/access.log': No such file or directory");
  }
}

TEST(AccessLogTest, BadConfigIsAConfigError) {
  EXPECT_THROW(factory().create(configNode("text_format: '%BAD%'"), testContext()), ConfigError);
}

}  // namespace
}  // namespace interpose::access_log
