#include "api/interpose/registry.h"
#include "source/filters/http/rate_limit/rate_limit.h"

namespace interpose::rate_limit {

class RateLimitFactory : public HttpFilterFactory {
 public:
  std::string name() const override { return "rate_limit"; }

  HttpFilterFactoryCb create(const ConfigNode& config, FactoryContext&) const override {
    // One limiter (and so one bucket table) per config, captured by the stream maker that
    // every worker uses: the limit holds across all worker threads.
    auto limiter = std::make_shared<RateLimiter>(parseRateLimitConfig(config));
    return [limiter] { return std::make_unique<RateLimitFilter>(limiter); };
  }

  // A route's config replaces the filter's for that route, with buckets of its own.
  std::shared_ptr<const RouteSpecificFilterConfig> createRouteConfig(const ConfigNode& config) const override {
    return std::make_shared<RateLimitRouteConfig>(std::make_shared<RateLimiter>(parseRateLimitConfig(config)));
  }
};

INTERPOSE_REGISTER_HTTP_FILTER(RateLimitFactory);

}  // namespace interpose::rate_limit
