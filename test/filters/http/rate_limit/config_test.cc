#include "source/filters/http/rate_limit/config.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "api/interpose/registry.h"

// The factory context of a config load, for the factories under test.
inline interpose::FactoryContext& testContext() {
  static interpose::StandaloneFactoryContext context;
  return context;
}

namespace interpose::rate_limit {
namespace {

// A ConfigNode for `yaml`, placed where a filter's config sits in a real config file.
ConfigNode node(const std::string& yaml) {
  return ConfigNode(YAML::Load(yaml), "http_filters[0].config", std::make_shared<const std::string>("test.yaml"));
}

RateLimitConfig parse(const std::string& yaml) { return parseRateLimitConfig(node(yaml)); }

// The error message for `yaml`, or "" when it parses.
std::string error(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigTest, Defaults) {
  RateLimitConfig c = parse("rate: 100/s");
  EXPECT_EQ(c.count, 100u);
  EXPECT_EQ(c.window, std::chrono::seconds(1));
  EXPECT_EQ(c.burst, 100u);
  ASSERT_EQ(c.key.size(), 1u);
  EXPECT_EQ(c.key[0].kind, KeyPart::Kind::ClientIp);
  EXPECT_EQ(c.mode, Mode::Reject);
  EXPECT_EQ(c.max_keys, 100000u);
  EXPECT_FALSE(c.response_headers);
  EXPECT_DOUBLE_EQ(c.bucketParams().rate, 100);
  EXPECT_DOUBLE_EQ(c.bucketParams().burst, 100);
}

TEST(ConfigTest, FullConfig) {
  RateLimitConfig c = parse(R"(
key: [client_ip, authority, route, "header:X-Api-Key"]
rate: 30/m
burst: 5
mode: delay
max_delay: 500ms
max_keys: 1000
response_headers: true
)");
  ASSERT_EQ(c.key.size(), 4u);
  EXPECT_EQ(c.key[1].kind, KeyPart::Kind::Authority);
  EXPECT_EQ(c.key[2].kind, KeyPart::Kind::Route);
  EXPECT_EQ(c.key[3].kind, KeyPart::Kind::Header);
  EXPECT_EQ(c.key[3].header, "x-api-key");
  EXPECT_EQ(c.key[3].name(), "header:x-api-key");
  EXPECT_EQ(c.count, 30u);
  EXPECT_EQ(c.window, std::chrono::seconds(60));
  EXPECT_DOUBLE_EQ(c.bucketParams().rate, 0.5);
  EXPECT_EQ(c.burst, 5u);
  EXPECT_EQ(c.mode, Mode::Delay);
  EXPECT_EQ(c.max_delay, std::chrono::milliseconds(500));
  EXPECT_EQ(c.max_keys, 1000u);
  EXPECT_TRUE(c.response_headers);
}

TEST(ConfigTest, Rates) {
  uint64_t n = 0;
  std::chrono::seconds w{0};
  EXPECT_TRUE(parseRate("1/h", n, w));
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(w, std::chrono::seconds(3600));
  EXPECT_TRUE(parseRate("250 / m", n, w));
  EXPECT_EQ(n, 250u);
  EXPECT_FALSE(parseRate("0/s", n, w));
  EXPECT_FALSE(parseRate("-1/s", n, w));
  EXPECT_FALSE(parseRate("1.5/s", n, w));
  EXPECT_FALSE(parseRate("10/d", n, w));
  EXPECT_FALSE(parseRate("10", n, w));
  EXPECT_FALSE(parseRate("/s", n, w));
  EXPECT_FALSE(parseRate("fast", n, w));
  EXPECT_FALSE(parseRate("99999999999/s", n, w));
}

TEST(ConfigTest, EmptyKeyIsAllowed) { EXPECT_TRUE(parse("{ rate: 1/s, key: [] }").key.empty()); }

TEST(ConfigTest, ErrorsNameFileLineColumnAndPath) {
  EXPECT_EQ(error("rate: 0/s"),
            "test.yaml:1:7: http_filters[0].config.rate: expected a rate N/s, N/m or N/h with N a whole number from 1 "
            "to 1000000000, got '0/s'");
  EXPECT_EQ(error("burst: 3\nrate: fast"),
            "test.yaml:2:7: http_filters[0].config.rate: expected a rate N/s, N/m or N/h with N a whole number from 1 "
            "to 1000000000, got 'fast'");
  EXPECT_EQ(error("rate: 1/s\nkey: [client_ip, cookie]"),
            "test.yaml:2:18: http_filters[0].config.key[1]: unknown key part 'cookie'; expected client_ip, "
            "authority, route or header:NAME");
  EXPECT_EQ(error("rate: 1/s\nburst: 0"),
            "test.yaml:2:8: http_filters[0].config.burst: expected an integer in [1, 1000000000], got 0");
}

TEST(ConfigTest, MoreErrors) {
  auto has = [](const std::string& yaml, const std::string& needle) {
    std::string e = error(yaml);
    EXPECT_NE(e.find(needle), std::string::npos) << "config: " << yaml << "\nerror: " << e;
  };
  has("burst: 5", "test.yaml:1:1: http_filters[0].config: missing required key 'rate'");
  has("rate: [1, s]", "config.rate: expected a rate");
  has("rate: 1/s\nkey: client_ip", "test.yaml:2:6: http_filters[0].config.key: expected a list");
  has("rate: 1/s\nkey: [\"header:\"]", "config.key[0]: 'header:': expected a header name");
  has("rate: 1/s\nkey: [\"header:a b\"]", "expected a header name");
  has("rate: 1/s\nkey: [route, route]", "test.yaml:2:14: http_filters[0].config.key[1]: 'route' is in the key twice");
  has("rate: 1/s\nburst: -3", "config.burst: expected an integer in [1,");
  has("rate: 1/s\nburst: many", "config.burst: expected an integer");
  has("rate: 1/s\nmode: block", "test.yaml:2:7: http_filters[0].config.mode:");
  has("rate: 1/s\nmode: delay\nmax_delay: 0ms", "test.yaml:3:12: http_filters[0].config.max_delay: mode: delay needs");
  has("rate: 1/s\nmax_delay: 1h", "config.max_delay: expected a duration of at most 5m");
  has("rate: 1/s\nmax_delay: soon", "config.max_delay: expected a duration");
  has("rate: 1/s\nmax_keys: 0", "config.max_keys: expected an integer in [1,");
  has("rate: 1/s\nresponse_headers: maybe", "config.response_headers: expected true or false");
  has("rate: 1/s\nrates: 2/s", "test.yaml:2:1: http_filters[0].config.rates: unknown key");
  has("rate: 1/s\ndisabled: true", "config.disabled: unknown key");
}

TEST(ConfigTest, MissingConfigNeedsRate) {
  ConfigNode absent(YAML::Node(YAML::NodeType::Null), "http_filters[0].config",
                    std::make_shared<const std::string>("test.yaml"));
  try {
    parseRateLimitConfig(absent);
    FAIL() << "expected an error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("expected at least 'rate'"), std::string::npos) << e.what();
  }
}

TEST(ConfigTest, FactoryIsRegisteredWithRouteConfig) {
  const HttpFilterFactory* f = HttpFilterRegistry::get().find("rate_limit");
  ASSERT_NE(f, nullptr);
  EXPECT_FALSE(f->terminal());
  EXPECT_NE(f->createRouteConfig(node("rate: 1/s")), nullptr);
  EXPECT_THROW(f->createRouteConfig(node("rate: 0/s")), ConfigError);
  EXPECT_THROW(f->create(node("rate: 1/s\nkey: [nope]"), testContext()), ConfigError);
}

}  // namespace
}  // namespace interpose::rate_limit
