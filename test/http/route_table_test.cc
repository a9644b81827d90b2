#include "source/http/route_table.h"

#include <gtest/gtest.h>

#include "api/interpose/registry.h"

namespace interpose::http {
namespace {

// A filter factory whose per-route config is a string, to see which route's config applies.
struct NoteConfig : RouteSpecificFilterConfig {
  std::string note;
};
class NoteFactory : public HttpFilterFactory {
 public:
  std::string name() const override { return "note"; }
  HttpFilterFactoryCb create(const ConfigNode&, FactoryContext&) const override { return nullptr; }
  std::shared_ptr<const RouteSpecificFilterConfig> createRouteConfig(const ConfigNode& config) const override {
    config.expectMap({"note"});
    auto c = std::make_shared<NoteConfig>();
    c->note = config.required("note").str();
    return c;
  }
};
class TerminalFactory : public HttpFilterFactory {
 public:
  std::string name() const override { return "end"; }
  bool terminal() const override { return true; }
  HttpFilterFactoryCb create(const ConfigNode&, FactoryContext&) const override { return nullptr; }
};

const NoteFactory kNote;
const TerminalFactory kEnd;

std::shared_ptr<const RouteTable> parse(const std::string& yaml) {
  ConfigNode node(YAML::Load(yaml), "route_config", std::make_shared<const std::string>("routes.yaml"));
  return RouteTable::parse(node, {{"note", &kNote}, {"end", &kEnd}});
}

std::string parseError(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

HeaderMap request(std::string_view method, std::string_view authority, std::string_view path,
                  std::vector<std::pair<std::string, std::string>> extra = {}) {
  HeaderMap h;
  h.add(":method", method);
  h.add(":scheme", "https");
  h.add(":authority", authority);
  h.add(":path", path);
  for (auto& [k, v] : extra) h.add(k, v);
  return h;
}

std::string routeOf(const RouteTable& t, const HeaderMap& h) {
  const RouteEntry* r = t.match(h);
  return r ? r->name() : "<none>";
}

constexpr const char* kTable = R"(
virtual_hosts:
  - name: api
    domains: ["api.example.com"]
    routes:
      - name: exact
        match: { path: /v1/health }
      - name: users-get
        match: { prefix: /v1/users, methods: [GET, HEAD] }
        per_filter_config: { note: { note: users } }
      - name: versioned
        match: { regex: "/v[0-9]+/items/[0-9]+" }
      - name: debug-header
        match: { prefix: /, headers: [ { name: X-Debug, exact: "1" } ] }
        per_filter_config: { note: { disabled: true } }
      - name: search
        match: { prefix: /search, query_parameters: [ { name: q, present: true }, { name: safe, exact: "off", invert: true } ] }
      - name: rest
        match: { prefix: / }
  - name: wild
    domains: ["*.example.com"]
    routes: [ { name: any } ]
  - name: prefix-wild
    domains: ["internal.*"]
    routes: [ { name: any } ]
  - name: default
    domains: ["*"]
    routes: [ { name: any } ]
)";

TEST(RouteTableTest, PathMatchKindsInOrder) {
  auto t = parse(kTable);
  EXPECT_EQ(routeOf(*t, request("GET", "api.example.com", "/v1/health")), "api/exact");
  EXPECT_EQ(routeOf(*t, request("GET", "api.example.com", "/v1/health?x=1")), "api/exact");  // query ignored
  EXPECT_EQ(routeOf(*t, request("GET", "api.example.com", "/v1/users/7")), "api/users-get");
  EXPECT_EQ(routeOf(*t, request("POST", "api.example.com", "/v1/users/7")), "api/rest");  // method
  EXPECT_EQ(routeOf(*t, request("GET", "api.example.com", "/v2/items/42")), "api/versioned");
  EXPECT_EQ(routeOf(*t, request("GET", "api.example.com", "/v2/items/42x")), "api/rest");  // regex is whole-path
}

TEST(RouteTableTest, HeaderAndQueryConditions) {
  auto t = parse(kTable);
  EXPECT_EQ(routeOf(*t, request("GET", "api.example.com", "/x", {{"x-debug", "1"}})), "api/debug-header");
  EXPECT_EQ(routeOf(*t, request("GET", "api.example.com", "/x", {{"x-debug", "0"}})), "api/rest");
  EXPECT_EQ(routeOf(*t, request("GET", "api.example.com", "/search?q=cats")), "api/search");
  EXPECT_EQ(routeOf(*t, request("GET", "api.example.com", "/search?q=cats&safe=off")), "api/rest");
  EXPECT_EQ(routeOf(*t, request("GET", "api.example.com", "/search?x=1")), "api/rest");
}

TEST(RouteTableTest, DomainPrecedenceIgnoresOrderAndPort) {
  auto t = parse(kTable);
  EXPECT_EQ(routeOf(*t, request("GET", "API.example.com:443", "/x")), "api/rest");  // exact beats *.example.com
  EXPECT_EQ(routeOf(*t, request("GET", "www.example.com", "/")), "wild/any");
  EXPECT_EQ(routeOf(*t, request("GET", "internal.corp", "/")), "prefix-wild/any");
  EXPECT_EQ(routeOf(*t, request("GET", "example.com", "/")), "default/any");  // *.example.com needs a label
  EXPECT_EQ(routeOf(*t, request("GET", "[::1]:8080", "/")), "default/any");
}

TEST(RouteTableTest, NoVirtualHostNoRoute) {
  auto t = parse(R"(virtual_hosts: [ { name: only, domains: [a.example], routes: [ { match: { prefix: /a } } ] } ])");
  EXPECT_EQ(t->match(request("GET", "b.example", "/a")), nullptr);
  EXPECT_EQ(t->match(request("GET", "a.example", "/b")), nullptr);
  EXPECT_NE(t->match(request("GET", "a.example", "/a")), nullptr);
}

TEST(RouteTableTest, PerFilterConfigAndDisable) {
  auto t = parse(kTable);
  const RouteEntry* users = t->match(request("GET", "api.example.com", "/v1/users"));
  ASSERT_NE(users, nullptr);
  auto* note = dynamic_cast<const NoteConfig*>(users->perFilterConfig("note"));
  ASSERT_NE(note, nullptr);
  EXPECT_EQ(note->note, "users");
  EXPECT_FALSE(users->disables("note"));
  const RouteEntry* debug = t->match(request("GET", "api.example.com", "/", {{"x-debug", "1"}}));
  EXPECT_TRUE(debug->disables("note"));
  EXPECT_EQ(debug->perFilterConfig("note"), nullptr);
}

// Route regexes run on RE2: a path of any length costs linear time and no stack (std::regex
// recursed per character: 40,000 digits under this very pattern crashed the process).
TEST(RouteTableTest, RegexOnHugePathsIsLinear) {
  auto t = parse(kTable);
  std::string digits(400000, '7');
  EXPECT_EQ(routeOf(*t, request("GET", "api.example.com", "/v" + digits + "/items/" + digits)), "api/versioned");
  EXPECT_EQ(routeOf(*t, request("GET", "api.example.com", "/v" + digits + "/items/x")), "api/rest");
  auto nested = parse(R"(virtual_hosts: [ { name: a, domains: ["*"], routes: [
      { name: alt, match: { regex: "/x(a|b)*" } }, { name: nested, match: { regex: "/(a+)+$" } } ] } ])");
  std::string ab;
  for (int i = 0; i < 200000; ++i) ab += i % 3 ? 'a' : 'b';
  EXPECT_EQ(routeOf(*nested, request("GET", "h", "/x" + ab)), "a/alt");
  // Exponential under a backtracking engine: here one pass over the path.
  EXPECT_EQ(routeOf(*nested, request("GET", "h", "/" + std::string(100000, 'a') + "!")), "<none>");
  EXPECT_EQ(routeOf(*nested, request("GET", "h", "/" + std::string(100000, 'a'))), "a/nested");
}

// Any octet, as std::regex matched: paths and header values are bytes, not UTF-8.
TEST(RouteTableTest, RegexMatchesBytes) {
  auto t = parse(R"(virtual_hosts: [ { name: a, domains: ["*"], routes: [
      { name: files, match: { regex: "/files/.*" } }, { name: one, match: { regex: "/[^/]" } } ] } ])");
  EXPECT_EQ(routeOf(*t, request("GET", "h", "/files/caf\xE9")), "a/files");
  EXPECT_EQ(routeOf(*t, request("GET", "h", "/\xff")), "a/one");
}

TEST(RouteTableTest, HeaderRegexIsWholeValue) {
  auto t = parse(R"(virtual_hosts: [ { name: a, domains: ["*"], routes: [
      { name: ua, match: { headers: [ { name: user-agent, regex: "curl/[0-9.]+" } ] } } ] } ])");
  EXPECT_EQ(routeOf(*t, request("GET", "h", "/", {{"user-agent", "curl/8.1.2"}})), "a/ua");
  EXPECT_EQ(routeOf(*t, request("GET", "h", "/", {{"user-agent", "xcurl/8.1.2"}})), "<none>");
  EXPECT_EQ(routeOf(*t, request("GET", "h", "/", {{"user-agent", std::string(100000, '9')}})), "<none>");
}

TEST(RouteTableTest, RegexesRe2RefusesAreConfigErrors) {
  auto error = [](const std::string& pattern) {
    return parseError(R"(virtual_hosts: [ { name: a, domains: ["*"], routes: [ { match: { regex: ')" + pattern +
                      R"(' } } ] } ])");
  };
  std::string backref = error(R"(/(a)\1)");
  EXPECT_NE(backref.find("routes.yaml:1:"), std::string::npos) << backref;
  EXPECT_NE(backref.find("match.regex: invalid regex '/(a)\\1'"), std::string::npos) << backref;
  EXPECT_NE(backref.find("no backreferences or lookaround"), std::string::npos) << backref;
  EXPECT_NE(error("/(?=a)").find("no backreferences or lookaround"), std::string::npos);
  std::string huge = error("/(abc|def){900}[0-9]{50}");
  EXPECT_NE(huge.find("too complex: program size"), std::string::npos) << huge;
  EXPECT_NE(huge.find("limit of 5000"), std::string::npos) << huge;
  // Patterns of ordinary size load (they once did not: a limit of 1000 in UTF-8 mode).
  EXPECT_EQ(error("/static/.{1,255}"), "");
  EXPECT_EQ(error("[a-z0-9-]{1,63}(\\.[a-z0-9-]{1,63}){0,5}"), "");
  // A bad escape is no backreference: the hint is not given.
  std::string escape = error("/\\q");
  EXPECT_NE(escape.find("invalid regex"), std::string::npos) << escape;
  EXPECT_EQ(escape.find("backreferences"), std::string::npos) << escape;
}

TEST(RouteTableTest, ConfigErrors) {
  EXPECT_NE(parseError(R"(virtual_hosts: [ { name: a, domains: ["*"], routes: [ { match: { regex: "(" } } ] } ])")
                .find("invalid regex '('"),
            std::string::npos);
  EXPECT_NE(
      parseError(R"(virtual_hosts: [ { name: a, domains: ["*"], routes: [ { per_filter_config: { nope: {} } } ] } ])")
          .find("no HTTP filter named 'nope' in this chain; the chain has: note, end"),
      std::string::npos);
  EXPECT_NE(
      parseError(
          R"(virtual_hosts: [ { name: a, domains: ["*"], routes: [ { per_filter_config: { end: { disabled: true } } } ] } ])")
          .find("the terminal filter cannot be disabled"),
      std::string::npos);
  EXPECT_NE(
      parseError(R"(virtual_hosts: [ { name: a, domains: ["a.*.com"], routes: [] } ])").find("expected a host name"),
      std::string::npos);
  EXPECT_NE(
      parseError(R"(virtual_hosts: [ { name: a, domains: [x], routes: [] }, { name: b, domains: [x], routes: [] } ])")
          .find("domain 'x' is in two virtual hosts"),
      std::string::npos);
  EXPECT_NE(
      parseError(R"(virtual_hosts: [ { name: a, domains: [x], routes: [ { match: { path: /a, prefix: /b } } ] } ])")
          .find("at most one of path, prefix, regex"),
      std::string::npos);
  std::string e = parseError(
      R"(virtual_hosts: [ { name: a, domains: [x], routes: [ { per_filter_config: { note: { nota: 1 } } } ] } ])");
  EXPECT_EQ(e.rfind("routes.yaml:1:", 0), 0u) << e;
  EXPECT_NE(e.find("per_filter_config.note.nota: unknown key"), std::string::npos) << e;
}

}  // namespace
}  // namespace interpose::http
