#include "source/filters/http/rate_limit/rate_limit.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "test/http/fake_filter_callbacks.h"

namespace interpose::rate_limit {
namespace {

using testing::FakeFilterCallbacks;
using testing::FakeRoute;

std::shared_ptr<RateLimiter> limiter(const std::string& yaml) {
  ConfigNode node(YAML::Load(yaml), "http_filters[0].config", std::make_shared<const std::string>("test.yaml"));
  return std::make_shared<RateLimiter>(parseRateLimitConfig(node));
}

// One stream through the filter: its callbacks, request and the filter itself.
struct Stream {
  explicit Stream(std::shared_ptr<RateLimiter> l, std::string client = "10.0.0.1:5555") : filter(std::move(l)) {
    cb.connection.remote_address = std::move(client);
    cb.request.add(":method", "GET");
    cb.request.add(":scheme", "http");
    cb.request.add(":authority", "example.com");
    cb.request.add(":path", "/");
    filter.setDecoderFilterCallbacks(cb);
  }
  FilterHeadersStatus decode() { return filter.decodeHeaders(cb.request, true); }
  HeaderMap respond() {
    HeaderMap response;
    response.add(":status", "200");
    filter.encodeHeaders(response, true);
    return response;
  }

  FakeFilterCallbacks cb{"rate_limit"};
  RateLimitFilter filter;
};

TEST(RateLimitFilterTest, RejectsWith429AndHeadersAfterTheBurst) {
  auto l = limiter("{ rate: 10/s, burst: 3 }");
  for (int i = 0; i < 3; ++i) {
    Stream s(l);
    EXPECT_EQ(s.decode(), FilterHeadersStatus::Continue);
    EXPECT_EQ(s.cb.local_replies, 0);
    // Off by default.
    EXPECT_FALSE(s.respond().has("ratelimit-remaining"));
  }
  Stream s(l);
  EXPECT_EQ(s.decode(), FilterHeadersStatus::StopIteration);
  ASSERT_EQ(s.cb.local_replies, 1);
  EXPECT_EQ(s.cb.last_reply.status, 429);
  EXPECT_EQ(s.cb.last_reply.body, "rate limit exceeded\n");
  EXPECT_EQ(s.cb.last_reply.details, "local_rate_limited");
  const HeaderMap& h = s.cb.last_reply.headers;
  EXPECT_EQ(h.getOr("retry-after"), "1");
  EXPECT_EQ(h.getOr("ratelimit-limit"), "3");
  EXPECT_EQ(h.getOr("ratelimit-remaining"), "0");
  EXPECT_EQ(h.getOr("ratelimit-reset"), "1");
  EXPECT_EQ(h.getOr("ratelimit-policy"), "10;w=1;burst=3");
  EXPECT_TRUE(s.cb.info.response_flags & response_flags::kRateLimited);

  // Another client has its own bucket.
  Stream other(l, "10.0.0.2:5555");
  EXPECT_EQ(other.decode(), FilterHeadersStatus::Continue);
}

TEST(RateLimitFilterTest, RetryAfterRoundsUpToWholeSeconds) {
  auto l = limiter("{ rate: 2/m }");
  Stream(l).decode();
  Stream(l).decode();
  Stream s(l);
  s.decode();
  ASSERT_EQ(s.cb.local_replies, 1);
  // One token every 30 s.
  EXPECT_EQ(s.cb.last_reply.headers.getOr("retry-after"), "30");
  EXPECT_EQ(s.cb.last_reply.headers.getOr("ratelimit-policy"), "2;w=60");
}

TEST(RateLimitFilterTest, ResponseHeadersWhenAsked) {
  auto l = limiter("{ rate: 5/s, response_headers: true }");
  Stream s(l);
  EXPECT_EQ(s.decode(), FilterHeadersStatus::Continue);
  HeaderMap r = s.respond();
  EXPECT_EQ(r.getOr("ratelimit-remaining"), "4");
  EXPECT_EQ(r.getOr("ratelimit-limit"), "5");
  EXPECT_EQ(r.getOr("ratelimit-policy"), "5;w=1");
  EXPECT_EQ(r.getOr("ratelimit-reset"), "1");
}

TEST(RateLimitFilterTest, DryRunPassesAndSetsNoFlag) {
  auto l = limiter("{ rate: 1/h, mode: dry_run }");
  for (int i = 0; i < 5; ++i) {
    Stream s(l);
    EXPECT_EQ(s.decode(), FilterHeadersStatus::Continue);
    EXPECT_EQ(s.cb.local_replies, 0);
    EXPECT_EQ(s.cb.info.response_flags, 0u);
  }
}

TEST(RateLimitFilterTest, PerRouteConfigReplacesTheFilterConfig) {
  auto l = limiter("{ rate: 100/s }");
  FakeRoute strict;
  strict.setConfig("rate_limit", std::make_shared<RateLimitRouteConfig>(limiter("{ rate: 1/h }")));
  Stream first(l);
  first.cb.current_route = &strict;
  EXPECT_EQ(first.decode(), FilterHeadersStatus::Continue);
  Stream second(l);
  second.cb.current_route = &strict;
  EXPECT_EQ(second.decode(), FilterHeadersStatus::StopIteration);
  EXPECT_EQ(second.cb.last_reply.headers.getOr("ratelimit-policy"), "1;w=3600");
  // Other routes keep the filter's own limit.
  Stream loose(l);
  EXPECT_EQ(loose.decode(), FilterHeadersStatus::Continue);
}

TEST(RateLimitFilterTest, DelayHoldsTheRequestThenContinues) {
  auto l = limiter("{ rate: 20/s, burst: 1, mode: delay, max_delay: 2s }");
  Stream first(l);
  EXPECT_EQ(first.decode(), FilterHeadersStatus::Continue);
  Stream second(l);
  auto start = Clock::now();
  EXPECT_EQ(second.decode(), FilterHeadersStatus::StopIteration);
  EXPECT_EQ(second.cb.local_replies, 0);
  EXPECT_EQ(second.cb.continue_decoding_calls, 0);
  second.cb.worker().ioContext().run_for(std::chrono::seconds(2));
  EXPECT_EQ(second.cb.continue_decoding_calls, 1);
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(40));
  EXPECT_EQ(second.cb.info.response_flags, 0u);
}

TEST(RateLimitFilterTest, DelayBeyondMaxDelayRejects) {
  auto l = limiter("{ rate: 1/s, burst: 1, mode: delay, max_delay: 100ms }");
  Stream(l).decode();
  Stream s(l);
  EXPECT_EQ(s.decode(), FilterHeadersStatus::StopIteration);
  ASSERT_EQ(s.cb.local_replies, 1);
  EXPECT_EQ(s.cb.last_reply.status, 429);
}

TEST(RateLimitFilterTest, DestroyCancelsTheDelay) {
  auto l = limiter("{ rate: 20/s, burst: 1, mode: delay }");
  Stream(l).decode();
  Stream s(l);
  EXPECT_EQ(s.decode(), FilterHeadersStatus::StopIteration);
  s.filter.onDestroy();
  s.cb.worker().ioContext().run_for(std::chrono::milliseconds(200));
  EXPECT_EQ(s.cb.continue_decoding_calls, 0);
}

TEST(ThrottledLogTest, OneLineAnIntervalWithACount) {
  ThrottledLog log(std::chrono::seconds(1));
  Clock::time_point t0(std::chrono::seconds(100));
  EXPECT_EQ(log.record(t0), 1u);
  for (int i = 1; i <= 9; ++i) EXPECT_EQ(log.record(t0 + std::chrono::milliseconds(i * 100)), 0u);
  EXPECT_EQ(log.record(t0 + std::chrono::milliseconds(1000)), 10u);  // 9 held back plus this one
  EXPECT_EQ(log.record(t0 + std::chrono::milliseconds(1500)), 0u);
}

}  // namespace
}  // namespace interpose::rate_limit
