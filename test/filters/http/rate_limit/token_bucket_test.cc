#include "source/filters/http/rate_limit/token_bucket.h"

#include <gtest/gtest.h>

namespace interpose::rate_limit {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const Clock::time_point kStart = Clock::time_point(seconds(1000));

// Takes tokens at `now` until one is refused; returns how many were allowed (bounded).
int drain(TokenBucket& b, const BucketParams& p, Clock::time_point now) {
  int n = 0;
  while (n < 100000 && take(b, p, now).allowed) ++n;
  return n;
}

TEST(TokenBucketTest, StartsFullAndAllowsTheBurst) {
  BucketParams p{10, 20};
  TokenBucket b = fullBucket(p, kStart);
  EXPECT_EQ(drain(b, p, kStart), 20);
  Decision d = take(b, p, kStart);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.remaining, 0u);
  EXPECT_EQ(d.wait, milliseconds(100));  // one token at 10/s
  EXPECT_EQ(d.reset, seconds(2));        // 20 tokens at 10/s
}

TEST(TokenBucketTest, RemainingCountsDown) {
  BucketParams p{1, 3};
  TokenBucket b = fullBucket(p, kStart);
  EXPECT_EQ(take(b, p, kStart).remaining, 2u);
  EXPECT_EQ(take(b, p, kStart).remaining, 1u);
  Decision last = take(b, p, kStart);
  EXPECT_TRUE(last.allowed);
  EXPECT_EQ(last.remaining, 0u);
  EXPECT_EQ(last.reset, seconds(3));
}

TEST(TokenBucketTest, RefillsWithElapsedTimeUpToTheBurst) {
  BucketParams p{10, 5};
  TokenBucket b = fullBucket(p, kStart);
  EXPECT_EQ(drain(b, p, kStart), 5);
  EXPECT_EQ(drain(b, p, kStart + milliseconds(99)), 0);   // 0.99 tokens
  EXPECT_EQ(drain(b, p, kStart + milliseconds(100)), 1);  // exactly one: rounding must not lose it
  EXPECT_EQ(drain(b, p, kStart + milliseconds(400)), 3);
  // A long idle time fills the bucket to the burst, no further.
  EXPECT_EQ(drain(b, p, kStart + seconds(3600)), 5);
}

TEST(TokenBucketTest, SteadyRateIsExactOverManySmallSteps) {
  BucketParams p{10, 1};
  TokenBucket b = fullBucket(p, kStart);
  int allowed = 0;
  // One attempt every millisecond for 10 s: 1 initial token + 100 refilled.
  for (int ms = 0; ms <= 10000; ++ms) allowed += take(b, p, kStart + milliseconds(ms)).allowed;
  EXPECT_EQ(allowed, 101);
}

TEST(TokenBucketTest, PerMinuteRate) {
  // 6/m: one token every 10 s, bucket of 6.
  BucketParams p{6.0 / 60.0, 6};
  TokenBucket b = fullBucket(p, kStart);
  EXPECT_EQ(drain(b, p, kStart), 6);
  Decision d = take(b, p, kStart + seconds(5));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(std::chrono::ceil<seconds>(d.wait), seconds(5));
  EXPECT_EQ(drain(b, p, kStart + seconds(10)), 1);
  EXPECT_EQ(drain(b, p, kStart + seconds(60)), 5);
}

TEST(TokenBucketTest, FractionalRateAccumulates) {
  // 1/h with burst 1; 7/h makes fractions of tokens per second.
  BucketParams hourly{1.0 / 3600.0, 1};
  TokenBucket b = fullBucket(hourly, kStart);
  EXPECT_EQ(drain(b, hourly, kStart), 1);
  EXPECT_EQ(drain(b, hourly, kStart + seconds(3599)), 0);
  EXPECT_EQ(drain(b, hourly, kStart + seconds(3600)), 1);

  // Polled every second, the fractions a second's refill leaves over must add up: exactly
  // 7 tokens in the hour after the bucket was emptied.
  BucketParams seven{7.0 / 3600.0, 10};
  TokenBucket s = fullBucket(seven, kStart);
  EXPECT_EQ(drain(s, seven, kStart), 10);
  int allowed = 0;
  for (int sec = 1; sec <= 3600; ++sec) allowed += take(s, seven, kStart + seconds(sec)).allowed;
  EXPECT_EQ(allowed, 7);
}

TEST(TokenBucketTest, DelayReservesTokensWithinMaxWait) {
  BucketParams p{10, 2};
  TokenBucket b = fullBucket(p, kStart);
  EXPECT_EQ(drain(b, p, kStart), 2);
  const auto max_wait = milliseconds(250);
  Decision first = take(b, p, kStart, max_wait);
  EXPECT_TRUE(first.allowed);
  EXPECT_EQ(first.wait, milliseconds(100));
  Decision second = take(b, p, kStart, max_wait);  // queues behind the first
  EXPECT_TRUE(second.allowed);
  EXPECT_EQ(second.wait, milliseconds(200));
  Decision third = take(b, p, kStart, max_wait);  // would need 300 ms
  EXPECT_FALSE(third.allowed);
  EXPECT_EQ(third.wait, milliseconds(300));
  // The refused request reserved nothing: at +100 ms the second waiter still needs 100 ms.
  Decision later = take(b, p, kStart + milliseconds(100), max_wait);
  EXPECT_TRUE(later.allowed);
  EXPECT_EQ(later.wait, milliseconds(200));
}

TEST(TokenBucketTest, RejectionsTakeNothing) {
  BucketParams p{1, 1};
  TokenBucket b = fullBucket(p, kStart);
  EXPECT_TRUE(take(b, p, kStart).allowed);
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(take(b, p, kStart + milliseconds(i)).allowed);
  EXPECT_TRUE(take(b, p, kStart + seconds(1)).allowed);
}

TEST(TokenBucketTest, TimeNeverRunsBackwards) {
  BucketParams p{1, 1};
  TokenBucket b = fullBucket(p, kStart + seconds(5));
  EXPECT_TRUE(take(b, p, kStart + seconds(5)).allowed);
  EXPECT_FALSE(take(b, p, kStart).allowed);  // an older timestamp refills nothing
  EXPECT_TRUE(take(b, p, kStart + seconds(6)).allowed);
}

}  // namespace
}  // namespace interpose::rate_limit
