#include "source/filters/http/header_rewrite/header_rewrite.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "test/http/fake_filter_callbacks.h"

namespace interpose::header_rewrite {
namespace {

using testing::configNode;
using testing::dump;
using testing::FakeFilterCallbacks;
using testing::FakeRoute;
using testing::request;

// One stream through a filter built from `yaml`, as the filter manager would run it.
struct Stream {
  explicit Stream(const std::string& yaml) : config(parse(configNode(yaml))), filter(config) {
    callbacks.attach(filter);
  }
  std::shared_ptr<const RewriteConfig> config;
  HeaderRewriteFilter filter;
  FakeFilterCallbacks callbacks{"header_rewrite"};
};

TEST(HeaderRewriteTest, RequestEditsRunInOrderRemoveRenameSetAdd) {
  Stream s(R"(
request:
  remove: [x-debug, x-new]
  remove_prefix: [x-internal-]
  rename: { x-old: x-new }
  set: { x-new: replaced, x-proxied-by: interpose }
  add: { x-new: added, via: "1.1 interpose" }
)");
  EXPECT_EQ(s.callbacks.decode(s.filter, request("GET", "http", "example.com", "/",
                                                 {{"x-debug", "1"},
                                                  {"x-internal-token", "secret"},
                                                  {"x-old", "v1"},
                                                  {"accept", "*/*"},
                                                  {"x-new", "from-client"},
                                                  {"X-Internal-Other", "2"}})),
            FilterHeadersStatus::Continue);
  // remove dropped the client's x-new before rename made one from x-old, which set then
  // replaced in place; add appended after it.
  EXPECT_EQ(dump(s.callbacks.request),
            ":method: GET\n:scheme: http\n:authority: example.com\n:path: /\n"
            "x-new: replaced\naccept: */*\nx-proxied-by: interpose\nx-new: added\nvia: 1.1 interpose\n");
  EXPECT_EQ(s.callbacks.route_cache_clears, 0);  // headers alone do not re-route
}

TEST(HeaderRewriteTest, RenameKeepsValuesAndOrder) {
  Stream s("request: { rename: { x-a: x-b, x-c: x-d } }");
  s.callbacks.decode(s.filter,
                     request("GET", "http", "h", "/", {{"x-a", "1"}, {"x-z", "z"}, {"X-A", "2"}, {"x-c", ""}}));
  EXPECT_EQ(dump(s.callbacks.request),
            ":method: GET\n:scheme: http\n:authority: h\n:path: /\nx-b: 1\nx-z: z\nx-b: 2\nx-d: \n");
}

TEST(HeaderRewriteTest, FormattedValuesSeeTheRequestAsItArrived) {
  Stream s(R"(
request:
  remove: [x-debug]
  set:
    x-client: "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"
    x-was-debug: "debug=%REQ(x-debug)%"
    x-target: "%REQ(:METHOD)% %REQ(:AUTHORITY)%%REQ(:PATH)% %PROTOCOL%"
    x-listener: "%LISTENER_NAME%/%ROUTE_NAME%"
)");
  FakeRoute route("api/all");
  s.callbacks.current_route = &route;
  s.callbacks.info.route_name = "api/all";
  s.callbacks.decode(s.filter, request("GET", "http", "example.com", "/p?q", {{"x-debug", "yes"}}));
  const HeaderMap& h = s.callbacks.request;
  EXPECT_EQ(h.getOr("x-client"), "192.0.2.7");
  EXPECT_EQ(h.getOr("x-was-debug"), "debug=yes");
  EXPECT_FALSE(h.has("x-debug"));
  EXPECT_EQ(h.getOr("x-target"), "GET example.com/p?q HTTP/1.1");
  EXPECT_EQ(h.getOr("x-listener"), "proxy/api/all");
}

TEST(HeaderRewriteTest, SetWithAnEmptyValueRemovesAddSkips) {
  Stream s(R"(
request:
  set: { x-forwarded-user: "%REQ(x-auth-user)%" }
  add: { x-extra: "%REQ(x-none)%" }
)");
  // The client's own x-forwarded-user must not survive a set that has no value.
  s.callbacks.decode(s.filter, request("GET", "http", "h", "/", {{"x-forwarded-user", "admin"}}));
  EXPECT_FALSE(s.callbacks.request.has("x-forwarded-user"));
  EXPECT_FALSE(s.callbacks.request.has("x-extra"));
}

TEST(HeaderRewriteTest, RunTimeValuesWithCrLfOrNulAreNotWritten) {
  Stream s(R"(
request:
  set: { x-copy: "v=%REQ(x-in)%", x-ok: fine }
  add: { x-add: "%REQ(x-in)%" }
response:
  set: { x-echo: "%REQ(x-in)%" }
)");
  // A raw CR LF cannot arrive through the HTTP/1 parser, but a value can still carry bytes
  // that must not be written to the wire in another place (NUL, or a future codec's).
  const std::string evil("a\r\nx-injected: 1", 16);
  s.callbacks.decode(s.filter, request("GET", "http", "h", "/",
                                       {{"x-in", evil}, {"x-copy", "old"}, {"x-nul", std::string("a\0b", 3)}}));
  EXPECT_EQ(s.callbacks.request.getOr("x-copy"), "old");  // skipped: left as it was
  EXPECT_FALSE(s.callbacks.request.has("x-add"));
  EXPECT_FALSE(s.callbacks.request.has("x-injected"));
  EXPECT_EQ(s.callbacks.request.getOr("x-ok"), "fine");  // the other rules still apply
  EXPECT_FALSE(s.config->firstRejection()) << "the first rejection should have been logged already";

  // The note reaches the stream's details once the response starts, after a real error.
  s.callbacks.info.error = "upstream connect error: connection refused (127.0.0.1:1)";
  HeaderMap response;
  response.add(":status", "502");
  s.callbacks.encode(s.filter, std::move(response));
  EXPECT_FALSE(s.callbacks.response->has("x-echo"));
  EXPECT_EQ(s.callbacks.info.error,
            "upstream connect error: connection refused (127.0.0.1:1); header_rewrite: x-copy not set (value has CR, "
            "LF or NUL); header_rewrite: x-add not set (value has CR, LF or NUL); header_rewrite: x-echo not set "
            "(value has CR, LF or NUL)");
}

TEST(HeaderRewriteTest, NoteWithoutAResponseIsWrittenAtCompletion) {
  Stream s("request: { set: { x-copy: \"%REQ(x-in)%\" } }");
  s.callbacks.decode(s.filter, request("GET", "http", "h", "/", {{"x-in", std::string("\0", 1)}}));
  EXPECT_EQ(s.callbacks.info.error, "");
  s.filter.onStreamComplete(s.callbacks.info);
  EXPECT_EQ(s.callbacks.info.error, "header_rewrite: x-copy not set (value has CR, LF or NUL)");
}

TEST(HeaderRewriteTest, ResponseEdits) {
  Stream s(R"(
response:
  remove: [server]
  remove_prefix: [x-amz-, content-]
  rename: { x-old: x-new }
  set: { x-intercepted: "true", x-status: "%RESPONSE_CODE% via %REQ(:AUTHORITY)%" }
  add: { set-cookie: [a=1, b=2] }
)");
  s.callbacks.decode(s.filter, request("GET", "https", "example.com", "/"));
  HeaderMap response;
  response.add(":status", "201");
  response.add("server", "nginx");
  response.add("content-length", "5");
  response.add("content-type", "text/plain");
  response.add("x-amz-id", "1");
  response.add("x-old", "o");
  EXPECT_EQ(s.callbacks.encode(s.filter, std::move(response), false), FilterHeadersStatus::Continue);
  // content-length is the proxy's (framing): a prefix rule never removes it.
  EXPECT_EQ(dump(*s.callbacks.response),
            ":status: 201\ncontent-length: 5\nx-new: o\nx-intercepted: true\nx-status: 201 via example.com\n"
            "set-cookie: a=1\nset-cookie: b=2\n");
}

TEST(HeaderRewriteTest, TargetRewritesWhereTheRequestGoesAndReroutes) {
  Stream s(R"(
request:
  target:
    scheme: https
    host: staging.example.com
    port: 8443
    path_prefix: { from: /api/, to: /v2/api/ }
    query: { set: { debug: "1", client: "%DOWNSTREAM_REMOTE_ADDRESS%" }, remove: [token] }
)");
  FakeRoute before("prod/api"), after("staging/api");
  s.callbacks.current_route = &before;
  s.callbacks.rematch = [&](const HeaderMap& h) -> const Route* {
    return h.authority() == "staging.example.com:8443" ? &after : nullptr;
  };
  s.callbacks.decode(s.filter,
                     request("GET", "http", "api.example.com", "/api/users?token=abc&debug=0&page=2&debug=5&x"));
  const HeaderMap& h = s.callbacks.request;
  EXPECT_EQ(h.scheme(), "https");
  EXPECT_EQ(h.authority(), "staging.example.com:8443");
  // The value is percent-encoded: a formatted value cannot add parameters.
  EXPECT_EQ(h.path(), "/v2/api/users?debug=1&page=2&x&client=192.0.2.7%3A40000");
  EXPECT_EQ(s.callbacks.route_cache_clears, 1);
  EXPECT_EQ(s.callbacks.current_route, &after);
  EXPECT_EQ(s.callbacks.info.route_name, "staging/api");
}

TEST(HeaderRewriteTest, TargetKeepsWhatItDoesNotName) {
  const auto rewrite = [](const std::string& target, std::string_view scheme, std::string_view authority,
                          std::string_view path) {
    Stream s("request: { target: " + target + " }");
    s.callbacks.decode(s.filter, request("GET", scheme, authority, path));
    const HeaderMap& h = s.callbacks.request;
    return std::make_pair(std::string(h.scheme()) + "://" + std::string(h.authority()) + std::string(h.path()),
                          s.callbacks.route_cache_clears);
  };
  // host keeps an explicit port; port keeps the host.
  EXPECT_EQ(rewrite("{ host: b.test }", "http", "a.test:8080", "/x"),
            std::make_pair(std::string("http://b.test:8080/x"), 1));
  EXPECT_EQ(rewrite("{ port: 9000 }", "http", "[::1]:80", "/"), std::make_pair(std::string("http://[::1]:9000/"), 1));
  EXPECT_EQ(rewrite("{ port: 9000 }", "http", "[::1]", "/"), std::make_pair(std::string("http://[::1]:9000/"), 1));
  // The scheme's default port is left implicit, so Host reads as a browser would send it.
  EXPECT_EQ(rewrite("{ scheme: https, port: 443 }", "http", "a.test:8080", "/"),
            std::make_pair(std::string("https://a.test/"), 1));
  // A prefix that does not match leaves the path, and its query, byte for byte.
  EXPECT_EQ(rewrite("{ path_prefix: { from: /api/, to: /v2/ } }", "http", "a", "/apix?a=%20&&b?"),
            std::make_pair(std::string("http://a/apix?a=%20&&b?"), 0));
  EXPECT_EQ(rewrite("{ path_prefix: { from: /api/, to: /v2/ } }", "http", "a", "/api/?"),
            std::make_pair(std::string("http://a/v2/?"), 1));
  // Removing the only parameter drops the '?'; setting one adds it.
  EXPECT_EQ(rewrite("{ query: { remove: [t] } }", "http", "a", "/p?t=1"), std::make_pair(std::string("http://a/p"), 1));
  EXPECT_EQ(rewrite("{ query: { set: { v: \"a b&c\" } } }", "http", "a", "/p"),
            std::make_pair(std::string("http://a/p?v=a%20b%26c"), 1));
  // Nothing changes, nothing is re-routed.
  EXPECT_EQ(rewrite("{ scheme: http, host: a }", "http", "a", "/"), std::make_pair(std::string("http://a/"), 0));
  // OPTIONS * has no path to rewrite.
  EXPECT_EQ(rewrite("{ path_prefix: { from: /, to: /x/ } }", "http", "a", "*"),
            std::make_pair(std::string("http://a*"), 0));
}

TEST(HeaderRewriteTest, ConnectIsLeftAlone) {
  Stream s("request: { set: { x-a: b }, target: { host: elsewhere.test } }");
  HeaderMap connect;
  connect.add(":method", "CONNECT");
  connect.add(":authority", "bank.test:443");
  s.callbacks.decode(s.filter, std::move(connect));
  EXPECT_EQ(dump(s.callbacks.request), ":method: CONNECT\n:authority: bank.test:443\n");
  EXPECT_EQ(s.callbacks.route_cache_clears, 0);
}

TEST(HeaderRewriteTest, PerRouteConfigReplacesTheFiltersOwn) {
  const std::string filter_config = "request: { set: { x-global: g } }\nresponse: { set: { x-global: g } }";
  FakeRoute api("api/v1");
  api.setConfig("header_rewrite", parse(configNode("request: { set: { authorization: \"Bearer t\" } }")));
  FakeRoute quiet("static/all");
  quiet.setConfig("header_rewrite", parse(configNode("{}")));  // this route: no rewrite at all
  FakeRoute other("other/all");
  other.setConfig("access_log", parse(configNode("request: { set: { x-not-mine: 1 } }")));

  const auto run = [&](const FakeRoute* route) {
    Stream s(filter_config);
    s.callbacks.current_route = route;
    s.callbacks.decode(s.filter, request("GET", "http", "a", "/"));
    HeaderMap response;
    response.add(":status", "200");
    s.callbacks.encode(s.filter, std::move(response));
    return dump(s.callbacks.request)
               .substr(std::string(":method: GET\n:scheme: http\n:authority: a\n:path: /\n").size()) +
           "|" + dump(*s.callbacks.response);
  };
  EXPECT_EQ(run(nullptr), "x-global: g\n|:status: 200\nx-global: g\n");
  // The route's config replaces the filter's in both directions; it does not merge.
  EXPECT_EQ(run(&api), "authorization: Bearer t\n|:status: 200\n");
  EXPECT_EQ(run(&quiet), "|:status: 200\n");
  // Another filter's per-route config is not ours.
  EXPECT_EQ(run(&other), "x-global: g\n|:status: 200\nx-global: g\n");
}

TEST(HeaderRewriteTest, ConfigIsChosenOncePerStream) {
  // The target moves the request to a route with a config of its own; the stream keeps the
  // config it started with, so its response edits match its request edits.
  Stream s("request: { target: { host: b.test } }\nresponse: { set: { x-config: filter } }");
  FakeRoute b("b/all");
  b.setConfig("header_rewrite", parse(configNode("response: { set: { x-config: route-b } }")));
  s.callbacks.rematch = [&](const HeaderMap&) { return &b; };
  s.callbacks.decode(s.filter, request("GET", "http", "a.test", "/"));
  EXPECT_EQ(s.callbacks.current_route, &b);
  HeaderMap response;
  response.add(":status", "200");
  s.callbacks.encode(s.filter, std::move(response));
  EXPECT_EQ(s.callbacks.response->getOr("x-config"), "filter");
}

TEST(HeaderRewriteTest, LocalReplyBeforeDecodeStillUsesTheRoutesConfig) {
  // An earlier filter answered before this one saw the request: encodeHeaders alone runs.
  Stream s("response: { set: { x-config: filter } }");
  FakeRoute r("r/all");
  r.setConfig("header_rewrite", parse(configNode("response: { set: { x-config: route } }")));
  s.callbacks.current_route = &r;
  HeaderMap response;
  response.add(":status", "429");
  s.callbacks.encode(s.filter, std::move(response));
  EXPECT_EQ(s.callbacks.response->getOr("x-config"), "route");
}

}  // namespace
}  // namespace interpose::header_rewrite
