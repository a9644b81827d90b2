#include "source/filters/http/local_reply/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <string>

#include "api/interpose/strings.h"

namespace interpose::local_reply {
namespace {

ConfigNode configNode(const std::string& yaml) {
  return ConfigNode(YAML::Load(yaml), "http_filters[0].config", std::make_shared<const std::string>("test.yaml"));
}

std::string parseError(const std::string& yaml) {
  try {
    parseConfig(configNode(yaml));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string tempFile(const std::string& name, const std::string& contents) {
  const std::string path = str::cat(::testing::TempDir(), "/", name, ".", getpid());
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

TEST(LocalReplyConfigTest, AbsentOrEmptyDoesNotReply) {
  EXPECT_FALSE(parseConfig(configNode(""))->replies);
  EXPECT_FALSE(parseConfig(configNode("{}"))->replies);
}

TEST(LocalReplyConfigTest, FullConfig) {
  auto c = parseConfig(configNode(R"(
status: 403
headers: { Content-Type: application/json, x-mock: 1 }
body: '{"blocked": true}'
details: blocked_tracker
)"));
  EXPECT_TRUE(c->replies);
  EXPECT_EQ(c->status, 403);
  EXPECT_EQ(c->headers.getOr("content-type"), "application/json");  // names are lower-cased
  EXPECT_EQ(c->headers.getOr("x-mock"), "1");
  EXPECT_EQ(c->body, R"({"blocked": true})");
  EXPECT_EQ(c->details, "blocked_tracker");
}

TEST(LocalReplyConfigTest, Defaults) {
  auto c = parseConfig(configNode("status: 204"));
  EXPECT_TRUE(c->replies);
  EXPECT_EQ(c->body, "");
  EXPECT_TRUE(c->headers.empty());
  EXPECT_EQ(c->details, "local_reply");
}

TEST(LocalReplyConfigTest, BodyFileIsReadAtLoad) {
  const std::string body("{\"id\": 1}\n\0binary", 18);
  const std::string path = tempFile("body", body);
  auto c = parseConfig(configNode(str::cat("{ status: 200, body_file: '", path, "' }")));
  EXPECT_EQ(c->body, body);
}

TEST(LocalReplyConfigTest, StatusErrors) {
  EXPECT_NE(parseError("body: x").find("missing required key 'status'"), std::string::npos);
  std::string e = parseError("status: 101");
  EXPECT_EQ(e.rfind("test.yaml:1:9: http_filters[0].config.status: 1xx", 0), 0u) << e;
  EXPECT_NE(parseError("status: 600").find("expected an integer in [100, 599], got 600"), std::string::npos);
  EXPECT_NE(parseError("status: 99").find("expected an integer in [100, 599]"), std::string::npos);
  EXPECT_NE(parseError("status: forbidden").find("expected an integer"), std::string::npos);
}

TEST(LocalReplyConfigTest, HeaderErrorsPointAtTheField) {
  std::string e = parseError("status: 200\nheaders:\n  \"bad name\": x\n");
  EXPECT_EQ(e.rfind("test.yaml:3:3: http_filters[0].config.headers.bad name: expected a header name", 0), 0u) << e;
  e = parseError("status: 200\nheaders:\n  x-a: \"one\\r\\nx-b: two\"\n");
  EXPECT_EQ(e.rfind("test.yaml:3:8: http_filters[0].config.headers.x-a: header values cannot contain CR", 0), 0u) << e;
  EXPECT_NE(parseError("{ status: 200, headers: { x: \"a\\0b\" } }").find("NUL"), std::string::npos);
  EXPECT_NE(parseError("{ status: 200, headers: { Content-Length: 5 } }")
                .find("'content-length' is set by the proxy and cannot be configured"),
            std::string::npos);
  EXPECT_NE(parseError("{ status: 200, headers: { transfer-encoding: chunked } }").find("set by the proxy"),
            std::string::npos);
  EXPECT_NE(parseError("{ status: 200, headers: [a, b] }").find("expected a map of header name to value"),
            std::string::npos);
  EXPECT_NE(parseError("{ status: 200, headers: { x: [a] } }").find("expected a string"), std::string::npos);
}

TEST(LocalReplyConfigTest, BodyErrors) {
  const std::string path = tempFile("both", "x");
  EXPECT_NE(parseError(str::cat("{ status: 200, body: x, body_file: '", path, "' }"))
                .find("config.body_file: expected either body or body_file, not both"),
            std::string::npos);
  std::string e = parseError("status: 200\nbody_file: /nonexistent/mock.json\n");
  EXPECT_EQ(e.rfind("test.yaml:2:12: http_filters[0].config.body_file: cannot read '/nonexistent/mock.json': "
                    "No such file or directory",
                    0),
            0u)
      << e;
  EXPECT_NE(
      parseError(str::cat("{ status: 200, body_file: '", ::testing::TempDir(), "' }")).find("is not a regular file"),
      std::string::npos);
  // A FIFO would wait for a writer forever (validate and serve hung): refused at once.
  const std::string fifo = ::testing::TempDir() + "/body.fifo";
  unlink(fifo.c_str());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(parseError(str::cat("{ status: 200, body_file: '", fifo, "' }")).find("is not a regular file"),
            std::string::npos);
  unlink(fifo.c_str());
  EXPECT_NE(parseError("{ status: 204, body: x }").find("config.body: a 204 reply has no body"), std::string::npos);
  EXPECT_NE(parseError("{ status: 304, body: x }").find("a 304 reply has no body"), std::string::npos);
  EXPECT_NE(parseError("{ status: 200, details: '' }").find("config.details: expected a non-empty string"),
            std::string::npos);
  EXPECT_NE(parseError("{ status: 200, bodyfile: x }").find("config.bodyfile: unknown key"), std::string::npos);
}

TEST(LocalReplyConfigTest, BodyFileOverTheCapIsAnError) {
  const std::string path = tempFile("big", std::string(kMaxBodyFileBytes + 1, 'x'));
  EXPECT_NE(parseError(str::cat("{ status: 200, body_file: '", path, "' }")).find("is larger than 16 MiB"),
            std::string::npos);
  unlink(path.c_str());
  const std::string exact = tempFile("exact", std::string(kMaxBodyFileBytes, 'x'));
  EXPECT_EQ(parseConfig(configNode(str::cat("{ status: 200, body_file: '", exact, "' }")))->body.size(),
            kMaxBodyFileBytes);
  unlink(exact.c_str());
}

}  // namespace
}  // namespace interpose::local_reply
