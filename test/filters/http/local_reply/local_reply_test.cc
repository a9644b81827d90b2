#include "source/filters/http/local_reply/local_reply.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>

#include "api/interpose/registry.h"
#include "test/filters/http/local_reply/fake_callbacks.h"

namespace interpose::local_reply {
namespace {

using testing::FakeDecoderCallbacks;
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
FilterHeadersStatus decode(const std::string& chain_config, FakeDecoderCallbacks& callbacks,
                           std::string_view method = "GET") {
  std::unique_ptr<HttpFilter> filter = factory().create(configNode(chain_config))();
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
    FakeDecoderCallbacks cb;
    EXPECT_EQ(decode(config, cb), FilterHeadersStatus::Continue);
    EXPECT_EQ(cb.replies_, 0);
  }
}

TEST(LocalReplyFilterTest, ChainConfigReplies) {
  FakeDecoderCallbacks cb;
  EXPECT_EQ(decode("{ status: 403, headers: { x-blocked: yes }, body: no, details: blocked_tracker }", cb),
            FilterHeadersStatus::StopIteration);
  ASSERT_EQ(cb.replies_, 1);
  EXPECT_EQ(cb.reply_.status, 403);
  EXPECT_EQ(cb.reply_.body, "no");
  EXPECT_EQ(cb.reply_.headers.getOr("x-blocked"), "yes");
  EXPECT_EQ(cb.reply_.details, "blocked_tracker");
}

TEST(LocalReplyFilterTest, DetailsDefault) {
  FakeDecoderCallbacks cb;
  decode("status: 404", cb);
  EXPECT_EQ(cb.reply_.details, "local_reply");
}

TEST(LocalReplyFilterTest, RouteConfigReplacesChainConfig) {
  FakeRoute route;
  route.configs_["local_reply"] = factory().createRouteConfig(configNode("{ status: 200, body: mocked }"));
  FakeDecoderCallbacks cb;
  cb.route_ = &route;
  EXPECT_EQ(decode("{ status: 403, body: blocked }", cb), FilterHeadersStatus::StopIteration);
  EXPECT_EQ(cb.reply_.status, 200);
  EXPECT_EQ(cb.reply_.body, "mocked");

  // A route without config for this filter gets the chain's reply.
  FakeRoute other;
  FakeDecoderCallbacks cb2;
  cb2.route_ = &other;
  decode("{ status: 403, body: blocked }", cb2);
  EXPECT_EQ(cb2.reply_.status, 403);
}

TEST(LocalReplyFilterTest, EmptyRouteConfigTurnsTheReplyOff) {
  FakeRoute route;
  route.configs_["local_reply"] = factory().createRouteConfig(configNode("{}"));
  FakeDecoderCallbacks cb;
  cb.route_ = &route;
  EXPECT_EQ(decode("status: 403", cb), FilterHeadersStatus::Continue);
  EXPECT_EQ(cb.replies_, 0);
}

TEST(LocalReplyFilterTest, ConfigIsLookedUpUnderTheFiltersOwnName) {
  // The same filter listed twice in a chain, under different names: each sees its own.
  FakeRoute route;
  route.configs_["mock_b"] = factory().createRouteConfig(configNode("{ status: 201 }"));
  FakeDecoderCallbacks cb;
  cb.route_ = &route;
  cb.filter_name_ = "mock_a";
  EXPECT_EQ(decode("", cb), FilterHeadersStatus::Continue);
  cb.filter_name_ = "mock_b";
  EXPECT_EQ(decode("", cb), FilterHeadersStatus::StopIteration);
  EXPECT_EQ(cb.reply_.status, 201);
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
  FakeDecoderCallbacks blocked;
  EXPECT_EQ(decode("status: 403", blocked, "CONNECT"), FilterHeadersStatus::StopIteration);
  EXPECT_EQ(blocked.reply_.status, 403);
  FakeDecoderCallbacks mocked;
  EXPECT_EQ(decode("status: 200", mocked, "CONNECT"), FilterHeadersStatus::Continue);
  EXPECT_EQ(mocked.replies_, 0);
}

}  // namespace
}  // namespace interpose::local_reply
