#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "api/interpose/config_node.h"
#include "source/filters/http/rate_limit/key.h"
#include "source/filters/http/rate_limit/token_bucket.h"

namespace interpose::rate_limit {

enum class Mode {
  Reject,  // 429 at once
  Delay,   // hold the request until its token arrives (at most max_delay), else 429
  DryRun,  // let everything through, log what would have been rejected
};

// A parsed `rate_limit` config (the filter's own, or one route's per_filter_config).
struct RateLimitConfig {
  std::vector<KeyPart> key{KeyPart{}};  // default: [client_ip]
  uint64_t count = 0;                   // `rate: COUNT/UNIT`
  std::chrono::seconds window{1};       // the UNIT: 1 s, 60 s or 3600 s
  uint64_t burst = 0;                   // bucket size; defaults to `count`
  Mode mode = Mode::Reject;
  std::chrono::milliseconds max_delay{1000};
  uint64_t max_keys = 100000;
  bool response_headers = false;

  BucketParams bucketParams() const;
};

// Parses and validates `config` (throws ConfigError with FILE:LINE:COL).
RateLimitConfig parseRateLimitConfig(const ConfigNode& config);

// Parses "100/s", "5/m", "1000/h" into count and window; false when malformed or 0.
bool parseRate(std::string_view text, uint64_t& count, std::chrono::seconds& window);

}  // namespace interpose::rate_limit
