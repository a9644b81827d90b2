#include "source/filters/http/rate_limit/token_bucket.h"

#include <algorithm>
#include <cmath>

namespace interpose::rate_limit {
namespace {

// Refill arithmetic in doubles can land a hair below a whole token (0.1 s at 10/s gives
// 0.9999999999); that token has flowed in and must count.
constexpr double kEpsilon = 1e-9;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Rounded up, so a client told to wait this long finds its token there.
Clock::duration durationCeil(double secs) {
  if (secs <= 0) return Clock::duration::zero();
  return std::chrono::ceil<Clock::duration>(std::chrono::duration<double>(secs));
}

}  // namespace

TokenBucket fullBucket(const BucketParams& params, Clock::time_point now) { return TokenBucket{params.burst, now}; }

void refill(TokenBucket& bucket, const BucketParams& params, Clock::time_point now) {
  // Threads may take a bucket with slightly older `now` values than its last update; time
  // never runs backwards for a bucket.
  if (now <= bucket.updated) return;
  bucket.tokens = std::min(params.burst, bucket.tokens + seconds(now - bucket.updated) * params.rate);
  bucket.updated = now;
}

Decision take(TokenBucket& bucket, const BucketParams& params, Clock::time_point now, Clock::duration max_wait) {
  refill(bucket, params, now);
  Decision d;
  if (bucket.tokens + kEpsilon >= 1) {
    bucket.tokens = std::max(0.0, bucket.tokens - 1);
    d.allowed = true;
  } else {
    d.wait = durationCeil((1 - bucket.tokens) / params.rate);
    if (max_wait > Clock::duration::zero() && d.wait <= max_wait) {
      bucket.tokens -= 1;
      d.allowed = true;
    }
  }
  d.remaining = bucket.tokens > 0 ? static_cast<uint64_t>(std::floor(bucket.tokens + kEpsilon)) : 0;
  d.reset = durationCeil((params.burst - bucket.tokens) / params.rate);
  return d;
}

}  // namespace interpose::rate_limit
