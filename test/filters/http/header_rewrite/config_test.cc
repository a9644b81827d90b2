#include "source/filters/http/header_rewrite/config.h"

#include <gtest/gtest.h>

#include <string>

#include "api/interpose/registry.h"
#include "test/http/fake_filter_callbacks.h"

// The factory context of a config load, for the factories under test.
inline interpose::FactoryContext& testContext() {
  static interpose::StandaloneFactoryContext context;
  return context;
}

namespace interpose::header_rewrite {
namespace {

using testing::configNode;

// The ConfigError message for `yaml`, or "" when it parses.
std::string error(const std::string& yaml) {
  try {
    parse(configNode(yaml));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

constexpr const char* kExample = R"(
request:
  remove: [x-debug]
  remove_prefix: [X-Internal-]
  rename: { x-old: x-new }
  set: { x-proxied-by: interpose, X-Client: "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%" }
  add: { via: "1.1 interpose", set-cookie: [a=1, b=2] }
  target:
    scheme: https
    host: Staging.Example.com
    port: 8443
    path_prefix: { from: /api/, to: /v2/api/ }
    query: { set: { debug: "1" }, remove: [token] }
response:
  set: { x-intercepted: "true" }
  remove: [server]
)";

TEST(ConfigTest, ParsesTheDocumentedExample) {
  auto config = parse(configNode(kExample));
  const HeaderRules& request = config->request;
  EXPECT_EQ(request.remove, std::vector<std::string>{"x-debug"});
  EXPECT_EQ(request.remove_prefix, std::vector<std::string>{"x-internal-"});
  ASSERT_EQ(request.rename.size(), 1u);
  EXPECT_EQ(request.rename[0], (std::pair<std::string, std::string>{"x-old", "x-new"}));
  ASSERT_EQ(request.set.size(), 2u);
  EXPECT_EQ(request.set[0].name, "x-proxied-by");
  EXPECT_TRUE(request.set[0].value.isLiteral());
  EXPECT_EQ(request.set[1].name, "x-client");  // names are lower-cased, order kept
  EXPECT_FALSE(request.set[1].value.isLiteral());
  ASSERT_EQ(request.add.size(), 3u);  // a list adds one field per item
  EXPECT_EQ(request.add[1].name, "set-cookie");
  EXPECT_EQ(request.add[2].value.literalText(), "b=2");

  ASSERT_TRUE(config->target.has_value());
  const TargetRewrite& target = *config->target;
  EXPECT_EQ(target.scheme, "https");
  EXPECT_EQ(target.host, "staging.example.com");
  EXPECT_EQ(target.port, 8443);
  ASSERT_TRUE(target.path_prefix.has_value());
  EXPECT_EQ(target.path_prefix->from, "/api/");
  EXPECT_EQ(target.path_prefix->to, "/v2/api/");
  ASSERT_EQ(target.query_set.size(), 1u);
  EXPECT_EQ(target.query_set[0].name, "debug");
  EXPECT_EQ(target.query_remove, std::vector<std::string>{"token"});

  EXPECT_EQ(config->response.set.size(), 1u);
  EXPECT_EQ(config->response.remove, std::vector<std::string>{"server"});
}

TEST(ConfigTest, EmptyConfigDoesNothing) {
  auto config = parse(configNode("{}"));
  EXPECT_TRUE(config->request.empty());
  EXPECT_TRUE(config->response.empty());
  EXPECT_FALSE(config->target.has_value());
  // No `config:` at all is the same.
  EXPECT_TRUE(parse(configNode(""))->request.empty());
}

TEST(ConfigTest, ErrorsNameFileLineColumnAndKeyPath) {
  EXPECT_EQ(error("request:\n  sett: { a: b }\n"),
            "test.yaml:2:3: http_filters[0].config.request.sett: unknown key; expected one of: remove, remove_prefix, "
            "rename, set, add, target");
  EXPECT_EQ(error("response:\n  target: { host: a }\n"),
            "test.yaml:2:3: http_filters[0].config.response.target: unknown key; expected one of: remove, "
            "remove_prefix, rename, set, add");
  EXPECT_EQ(error("request:\n  set:\n    x-a: \"%BOGUS%\"\n"),
            "test.yaml:3:10: http_filters[0].config.request.set.x-a: unknown command %BOGUS% at offset 0 of the "
            "format string");
  EXPECT_EQ(error("request:\n  remove: [x-a, \"bad name\"]\n"),
            "test.yaml:2:17: http_filters[0].config.request.remove[1]: invalid header name 'bad name': expected an "
            "RFC 9110 token");
}

TEST(ConfigTest, LiteralValuesWithCrLfOrNulAreRejected) {
  EXPECT_EQ(error("request:\n  set: { x-a: \"one\\r\\nx-injected: 1\" }\n"),
            "test.yaml:2:15: http_filters[0].config.request.set.x-a: contains CR, LF or NUL, which would split the "
            "header on the wire");
  EXPECT_NE(error("response:\n  add: { x-a: \"a\\nb\" }\n").find("response.add.x-a: contains CR, LF or NUL"),
            std::string::npos);
  EXPECT_NE(error("response:\n  add: { x-a: [ok, \"a\\0b\"] }\n").find("response.add.x-a[1]: contains CR, LF or NUL"),
            std::string::npos);
  // A command's value is checked per stream instead; '%%' is a literal percent.
  EXPECT_EQ(error("request:\n  set: { x-a: \"100%% %REQ(x-b)%\" }\n"), "");
}

TEST(ConfigTest, PseudoHeadersAreForTarget) {
  EXPECT_EQ(error("request:\n  set: { \":path\": /x }\n"),
            "test.yaml:2:10: http_filters[0].config.request.set.:path: pseudo-header ':path' cannot be changed here; "
            "use request.target (scheme, host, port, path_prefix, query)");
  EXPECT_NE(error("request:\n  remove: [\":authority\"]\n").find("request.remove[0]: pseudo-header ':authority'"),
            std::string::npos);
  EXPECT_NE(error("request:\n  rename: { x-a: \":method\" }\n").find("pseudo-header ':method'"), std::string::npos);
  EXPECT_NE(error("response:\n  set: { \":status\": \"500\" }\n").find("pseudo-header ':status' cannot be changed"),
            std::string::npos);
  EXPECT_NE(error("request:\n  remove_prefix: [\":\"]\n").find("pseudo-headers cannot be removed"), std::string::npos);
}

TEST(ConfigTest, ProxyManagedHeadersAreRejected) {
  EXPECT_NE(error("request:\n  set: { Host: a.example }\n")
                .find("request.set.Host: 'host' is managed by the proxy (framing, hop-by-hop or Host) and cannot be "
                      "changed; use request.target.host"),
            std::string::npos);
  EXPECT_NE(error("response:\n  remove: [content-length]\n").find("'content-length' is managed by the proxy"),
            std::string::npos);
  EXPECT_NE(error("request:\n  add: { transfer-encoding: chunked }\n").find("'transfer-encoding'"), std::string::npos);
  // Host is only the request's: a response may carry a field called host.
  EXPECT_EQ(error("response:\n  set: { host: x }\n"), "");
}

TEST(ConfigTest, ShapeErrors) {
  EXPECT_NE(error("request:\n  set: { x-a: b, X-A: c }\n").find("request.set.X-A: header 'x-a' is listed twice"),
            std::string::npos);
  EXPECT_NE(error("request:\n  set: [x-a]\n").find("request.set: expected a map of header name to value"),
            std::string::npos);
  EXPECT_NE(error("request:\n  set: { x-a: { b: c } }\n").find("expected a string"), std::string::npos);
  EXPECT_NE(error("request:\n  set: { x-a: \"\" }\n").find("must not be empty; use remove"), std::string::npos);
  EXPECT_NE(error("request:\n  remove: x-a\n").find("request.remove: expected a list"), std::string::npos);
  EXPECT_NE(error("request:\n  rename: { x-a: X-A }\n").find("renames a header to itself"), std::string::npos);
  EXPECT_NE(error("request:\n  rename: { x-a: \"b c\" }\n").find("request.rename.x-a: invalid header name 'b c'"),
            std::string::npos);
  EXPECT_NE(error("bogus: 1\n").find("test.yaml:1:1: http_filters[0].config.bogus: unknown key"), std::string::npos);
}

TEST(ConfigTest, TargetErrors) {
  const auto target = [](const std::string& body) { return error("request:\n  target: " + body + "\n"); };
  EXPECT_EQ(target("{}"),
            "test.yaml:2:11: http_filters[0].config.request.target: expected at least one of scheme, host, port, "
            "path_prefix, query");
  EXPECT_NE(target("{ scheme: ftp }").find("request.target.scheme: "), std::string::npos);
  EXPECT_NE(target("{ host: \"a.example:8080\" }").find("without a port (see target.port)"), std::string::npos);
  EXPECT_NE(target("{ host: \"a b\" }").find("request.target.host: expected a host name"), std::string::npos);
  EXPECT_EQ(target("{ host: \"[::1]\" }"), "");
  EXPECT_NE(target("{ port: 0 }").find("request.target.port: expected an integer in [1, 65535], got 0"),
            std::string::npos);
  EXPECT_NE(
      target("{ path_prefix: { from: api/, to: /v2/ } }").find("request.target.path_prefix.from: expected a path"),
      std::string::npos);
  EXPECT_NE(target("{ path_prefix: { from: /a } }").find("missing required key 'to'"), std::string::npos);
  EXPECT_NE(target("{ path_prefix: { from: /a, to: \"/b c\" } }").find("path_prefix.to: expected a path"),
            std::string::npos);
  EXPECT_NE(target("{ query: { set: { \"a&b\": 1 } } }").find("request.target.query.set.a&b: invalid query"),
            std::string::npos);
  EXPECT_NE(target("{ query: { remove: [\"\"] } }").find("request.target.query.remove[0]: invalid query"),
            std::string::npos);
  EXPECT_NE(target("{ query: { set: { a: \"%NOPE%\" } } }").find("unknown command %NOPE%"), std::string::npos);
  EXPECT_NE(target("{ hostname: a }").find("request.target.hostname: unknown key"), std::string::npos);
}

TEST(ConfigTest, RegisteredWithPerRouteConfig) {
  const HttpFilterFactory* factory = HttpFilterRegistry::get().find("header_rewrite");
  ASSERT_NE(factory, nullptr);
  EXPECT_FALSE(factory->terminal());
  EXPECT_TRUE(factory->create(configNode(kExample), testContext()));
  auto route_config = factory->createRouteConfig(configNode("request: { set: { authorization: \"Bearer t\" } }"));
  auto* rewrite = dynamic_cast<const RewriteConfig*>(route_config.get());
  ASSERT_NE(rewrite, nullptr);
  EXPECT_EQ(rewrite->request.set[0].name, "authorization");
  // The per-route schema is the filter's, errors included.
  try {
    factory->createRouteConfig(configNode("request: { set: { \":path\": x } }"));
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("pseudo-header ':path'"), std::string::npos);
  }
}

}  // namespace
}  // namespace interpose::header_rewrite
