#pragma once

#include <memory>
#include <optional>

#include "api/interpose/http_filter.h"
#include "source/common/timer.h"
#include "source/filters/http/rate_limit/rate_limiter.h"

namespace interpose::rate_limit {

// The rate_limit HTTP filter: takes a token from the request's bucket when its headers
// arrive. Under the limit the request goes on; over it, depending on the mode, the client
// gets 429 with Retry-After and RateLimit-* headers, or the request waits on a timer for
// its token, or (dry_run) only a log line notes it.
class RateLimitFilter : public HttpFilter {
 public:
  // `limiter` applies unless the matched route has its own rate_limit config.
  explicit RateLimitFilter(std::shared_ptr<RateLimiter> limiter) : default_limiter_(std::move(limiter)) {}

  FilterHeadersStatus decodeHeaders(HeaderMap& headers, bool end_stream) override;
  FilterHeadersStatus encodeHeaders(HeaderMap& headers, bool end_stream) override;
  void onDestroy() override;

 private:
  void reject(RateLimiter& limiter, const Decision& decision);
  void logDryRun(RateLimiter& limiter, const HeaderMap& headers, const KeyContext& context);
  void addRateLimitHeaders(HeaderMap& headers, const RateLimiter& limiter, const Decision& decision) const;

  std::shared_ptr<RateLimiter> default_limiter_;
  // Set once decodeHeaders decided, for the response headers.
  RateLimiter* limiter_ = nullptr;
  std::optional<Decision> decision_;
  bool rejected_ = false;
  // delay mode: continues decoding once the request's token has flowed in.
  std::unique_ptr<Timer> delay_timer_;
};

}  // namespace interpose::rate_limit
