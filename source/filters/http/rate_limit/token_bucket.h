#pragma once

#include <chrono>
#include <cstdint>

namespace interpose::rate_limit {

using Clock = std::chrono::steady_clock;

// What a bucket allows: `rate` tokens a second flow in, up to `burst` tokens are kept.
struct BucketParams {
  double rate = 1;   // tokens per second, > 0 (100/m is 1.666...)
  double burst = 1;  // bucket size, >= 1
};

// One key's bucket. It is refilled lazily from the time elapsed since `updated`, so idle
// buckets cost nothing and no background thread is needed. `tokens` goes below zero only
// when delay mode reserves tokens that have not flowed in yet.
struct TokenBucket {
  double tokens = 0;
  Clock::time_point updated;
};

// The outcome of taking one token.
struct Decision {
  bool allowed = false;
  // Allowed: how long the request must wait for its token (0 unless delay mode reserved
  // one). Rejected: how long until a token would be there (for Retry-After).
  Clock::duration wait{0};
  // Whole tokens left after this request, never negative.
  uint64_t remaining = 0;
  // How long until the bucket is full again.
  Clock::duration reset{0};
};

// A full bucket, as every new key starts.
TokenBucket fullBucket(const BucketParams& params, Clock::time_point now);

// Adds the tokens that flowed in since the last update, up to the burst.
void refill(TokenBucket& bucket, const BucketParams& params, Clock::time_point now);

// Takes one token if there is one. When there is none and the token will have flowed in
// within `max_wait` (> 0: delay mode), reserves it (the balance goes negative, so later
// requests queue behind this one) and reports the wait. Otherwise takes nothing.
Decision take(TokenBucket& bucket, const BucketParams& params, Clock::time_point now,
              Clock::duration max_wait = Clock::duration::zero());

}  // namespace interpose::rate_limit
