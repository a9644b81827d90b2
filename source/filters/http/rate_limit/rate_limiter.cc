#include "source/filters/http/rate_limit/rate_limiter.h"

#include "api/interpose/strings.h"

namespace interpose::rate_limit {

uint64_t ThrottledLog::record(Clock::time_point now) {
  pending_.fetch_add(1, std::memory_order_relaxed);
  Clock::rep t = now.time_since_epoch().count();
  Clock::rep next = next_.load(std::memory_order_relaxed);
  if (t < next) return 0;
  // Of the threads that see the interval over, exactly one wins the exchange and writes.
  if (!next_.compare_exchange_strong(next, t + interval_.count(), std::memory_order_relaxed)) return 0;
  return pending_.exchange(0, std::memory_order_relaxed);
}

RateLimiter::RateLimiter(RateLimitConfig config)
    : config_(std::move(config)), table_(config_.bucketParams(), config_.max_keys) {
  limit_header_ = std::to_string(config_.burst);
  policy_header_ = str::cat(config_.count, ";w=", config_.window.count());
  if (config_.burst != config_.count) policy_header_ += str::cat(";burst=", config_.burst);
}

}  // namespace interpose::rate_limit
