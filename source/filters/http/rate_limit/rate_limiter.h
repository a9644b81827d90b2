#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "api/interpose/route.h"
#include "source/filters/http/rate_limit/bucket_table.h"
#include "source/filters/http/rate_limit/config.h"

namespace interpose::rate_limit {

// Lets a log line through at most once per interval, counting the ones held back, so a
// flood of would-be rejections in dry_run mode writes one line a second, not thousands.
class ThrottledLog {
 public:
  explicit ThrottledLog(Clock::duration interval = std::chrono::seconds(1)) : interval_(interval) {}
  // Counts one event; returns the events since the last line written (this one included)
  // when a line may be written now, else 0.
  uint64_t record(Clock::time_point now);

 private:
  const Clock::duration interval_;
  std::atomic<uint64_t> pending_{0};
  std::atomic<Clock::rep> next_{0};  // time_since_epoch of the earliest next line
};

// Everything one rate_limit config needs at run time, shared by every worker thread and
// every stream of that config: the parsed config, its buckets and its dry-run log throttle.
class RateLimiter {
 public:
  explicit RateLimiter(RateLimitConfig config);

  const RateLimitConfig& config() const { return config_; }
  BucketTable& table() { return table_; }
  ThrottledLog& dryRunLog() { return dry_run_log_; }
  // Precomputed header values: RateLimit-Limit (the burst) and RateLimit-Policy
  // ("100;w=1", with ";burst=B" when the burst differs from the count).
  const std::string& limitHeader() const { return limit_header_; }
  const std::string& policyHeader() const { return policy_header_; }

 private:
  const RateLimitConfig config_;
  BucketTable table_;
  ThrottledLog dry_run_log_;
  std::string limit_header_;
  std::string policy_header_;
};

// A route's own rate_limit config: its own limit and its own buckets.
class RateLimitRouteConfig : public RouteSpecificFilterConfig {
 public:
  explicit RateLimitRouteConfig(std::shared_ptr<RateLimiter> limiter) : limiter_(std::move(limiter)) {}
  RateLimiter& limiter() const { return *limiter_; }

 private:
  std::shared_ptr<RateLimiter> limiter_;
};

}  // namespace interpose::rate_limit
