#include "source/filters/http/local_reply/local_reply.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>

#include "api/interpose/registry.h"
#include "test/http/fake_filter_callbacks.h"

// The factory context of a config load, for the factories under test.
inline interpose::FactoryContext& testContext() {
  static interpose::StandaloneFactoryContext context;
  return context;
}

namespace interpose::local_reply {
namespace {

using testing::FakeFilterCallbacks;
using testing::FakeRoute;

const HttpFilterFactory& factory() {
  const HttpFilterFactory* found = HttpFilterRegistry::get().find("local_reply");
  EXPECT_NE(found, nullptr);
  return *found;
}

ConfigNode configNode(const std::string& yaml) {
  return ConfigNode(YAML::Load(yaml), "config", std::make_shared<const std::string>("test.yaml"));
}

HeaderMap request(std::string_view method = "GET") {
  HeaderMap h;
  h.add(":method", method);
  h.add(":scheme", "http");
  h.add(":authority", "tracker.example");
  h.add(":path", "/pixel.gif");
  return h;
}

// Runs one request through a filter made from `chain_config`, with `callbacks`.
FilterHeadersStatus decode(const std::string& chain_config, FakeFilterCallbacks& callbacks,
                           std::string_view method = "GET") {
  std::unique_ptr<HttpFilter> filter = factory().create(configNode(chain_config), testContext())();
  filter->setDecoderFilterCallbacks(callbacks);
  HeaderMap headers = request(method);
  return filter->decodeHeaders(headers, true);
}

TEST(LocalReplyFilterTest, RegisteredNotTerminal) {
  EXPECT_EQ(factory().name(), "local_reply");
  EXPECT_FALSE(factory().terminal());
}

TEST(LocalReplyFilterTest, WithoutConfigRequestsPass) {
  for (const char* config : {"", "{}"}) {
    FakeFilterCallbacks cb{"local_reply"};
    EXPECT_EQ(decode(config, cb), FilterHeadersStatus::Continue);
    EXPECT_EQ(cb.local_replies, 0);
  }
}

TEST(LocalReplyFilterTest, ChainConfigReplies) {
  FakeFilterCallbacks cb{"local_reply"};
  EXPECT_EQ(decode("{ status: 403, headers: { x-blocked: yes }, body: no, details: blocked_tracker }", cb),
            FilterHeadersStatus::StopIteration);
  ASSERT_EQ(cb.local_replies, 1);
  EXPECT_EQ(cb.last_reply.status, 403);
  EXPECT_EQ(cb.last_reply.body, "no");
  EXPECT_EQ(cb.last_reply.headers.getOr("x-blocked"), "yes");
  EXPECT_EQ(cb.last_reply.details, "blocked_tracker");
}

TEST(LocalReplyFilterTest, DetailsDefault) {
  FakeFilterCallbacks cb{"local_reply"};
  decode("status: 404", cb);
  EXPECT_EQ(cb.last_reply.details, "local_reply");
}

TEST(LocalReplyFilterTest, RouteConfigReplacesChainConfig) {
  FakeRoute route;
  route.setConfig("local_reply", factory().createRouteConfig(configNode("{ status: 200, body: mocked }")));
  FakeFilterCallbacks cb{"local_reply"};
  cb.current_route = &route;
  EXPECT_EQ(decode("{ status: 403, body: blocked }", cb), FilterHeadersStatus::StopIteration);
  EXPECT_EQ(cb.last_reply.status, 200);
  EXPECT_EQ(cb.last_reply.body, "mocked");

  // A route without config for this filter gets the chain's reply.
  FakeRoute other;
  FakeFilterCallbacks cb2{"local_reply"};
  cb2.current_route = &other;
  decode("{ status: 403, body: blocked }", cb2);
  EXPECT_EQ(cb2.last_reply.status, 403);
}

TEST(LocalReplyFilterTest, EmptyRouteConfigTurnsTheReplyOff) {
  FakeRoute route;
  route.setConfig("local_reply", factory().createRouteConfig(configNode("{}")));
  FakeFilterCallbacks cb{"local_reply"};
  cb.current_route = &route;
  EXPECT_EQ(decode("status: 403", cb), FilterHeadersStatus::Continue);
  EXPECT_EQ(cb.local_replies, 0);
}

TEST(LocalReplyFilterTest, ConfigIsLookedUpUnderTheFiltersOwnName) {
  // The same filter listed twice in a chain, under different names: each sees its own.
  FakeRoute route;
  route.setConfig("mock_b", factory().createRouteConfig(configNode("{ status: 201 }")));
  FakeFilterCallbacks cb{"local_reply"};
  cb.current_route = &route;
  cb.filter_name = "mock_a";
  EXPECT_EQ(decode("", cb), FilterHeadersStatus::Continue);
  cb.filter_name = "mock_b";
  EXPECT_EQ(decode("", cb), FilterHeadersStatus::StopIteration);
  EXPECT_EQ(cb.last_reply.status, 201);
}

TEST(LocalReplyFilterTest, RouteConfigErrorsCarryTheirLocation) {
  ConfigNode node(YAML::Load("{ status: 200, headers: { \"a b\": c } }"),
                  "route_config.vh.per_filter_config.local_reply", std::make_shared<const std::string>("routes.yaml"));
  try {
    factory().createRouteConfig(node);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(
        std::string(e.what()).rfind("routes.yaml:1:27: route_config.vh.per_filter_config.local_reply.headers.a b:", 0),
        0u)
        << e.what();
  }
}

TEST(LocalReplyFilterTest, ConnectIsBlockedButNotMockedAsOpen) {
  FakeFilterCallbacks blocked{"local_reply"};
  EXPECT_EQ(decode("status: 403", blocked, "CONNECT"), FilterHeadersStatus::StopIteration);
  EXPECT_EQ(blocked.last_reply.status, 403);
  FakeFilterCallbacks mocked{"local_reply"};
  EXPECT_EQ(decode("status: 200", mocked, "CONNECT"), FilterHeadersStatus::Continue);
  EXPECT_EQ(mocked.local_replies, 0);
}

}  // namespace
}  // namespace interpose::local_reply
