#include "source/filters/http/rate_limit/bucket_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace interpose::rate_limit {
namespace {

using std::chrono::seconds;

const Clock::time_point kStart = Clock::time_point(seconds(1000));

TEST(BucketTableTest, KeysHaveSeparateBuckets) {
  BucketTable t(BucketParams{1, 2}, 100);
  EXPECT_TRUE(t.take("a", kStart).allowed);
  EXPECT_TRUE(t.take("a", kStart).allowed);
  EXPECT_FALSE(t.take("a", kStart).allowed);
  EXPECT_TRUE(t.take("b", kStart).allowed);
  EXPECT_EQ(t.size(), 2u);
}

TEST(BucketTableTest, EvictsLeastRecentlyUsed) {
  // One shard, so the LRU order is global and predictable.
  BucketTable t(BucketParams{1, 1}, 2, 1);
  EXPECT_TRUE(t.take("a", kStart).allowed);
  EXPECT_TRUE(t.take("b", kStart).allowed);
  EXPECT_FALSE(t.take("a", kStart).allowed);  // "a" is now the most recent
  EXPECT_TRUE(t.take("c", kStart).allowed);   // evicts "b"
  EXPECT_EQ(t.size(), 2u);
  EXPECT_FALSE(t.take("a", kStart).allowed);  // kept, still empty
  EXPECT_TRUE(t.take("b", kStart).allowed);   // came back with a full bucket
}

TEST(BucketTableTest, MillionDistinctKeysStayWithinMaxKeys) {
  constexpr size_t kMaxKeys = 10000;
  BucketTable t(BucketParams{1, 1}, kMaxKeys);
  size_t max_seen = 0;
  for (int i = 0; i < 1000000; ++i) {
    ASSERT_TRUE(t.take("client-" + std::to_string(i), kStart).allowed);
    if (i % 50000 == 0) max_seen = std::max(max_seen, t.size());
  }
  max_seen = std::max(max_seen, t.size());
  EXPECT_LE(max_seen, kMaxKeys);
  // Every shard filled up to its share: the bound is met exactly, not approximately.
  EXPECT_EQ(t.size(), kMaxKeys);
}

TEST(BucketTableTest, MaxKeysBelowShardCount) {
  BucketTable t(BucketParams{1, 1}, 3);
  for (int i = 0; i < 1000; ++i) t.take(std::to_string(i), kStart);
  EXPECT_LE(t.size(), 3u);
  EXPECT_GE(t.size(), 1u);
}

TEST(BucketTableTest, ConcurrentTakesAddUp) {
  // 4 threads hammer 8 keys with no refill to speak of (1/h): exactly burst tokens per
  // key may be handed out, however the threads interleave.
  constexpr int kBurst = 1000;
  constexpr int kKeys = 8;
  constexpr int kPerThread = 20000;
  BucketTable t(BucketParams{1.0 / 3600.0, kBurst}, 1000);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  Clock::time_point now = Clock::now();
  for (int th = 0; th < 4; ++th) {
    threads.emplace_back([&, th] {
      int mine = 0;
      for (int i = 0; i < kPerThread; ++i) {
        mine += t.take("key" + std::to_string((i + th) % kKeys), now).allowed;
      }
      allowed += mine;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(allowed.load(), kBurst * kKeys);
  EXPECT_EQ(t.size(), static_cast<size_t>(kKeys));
}

TEST(BucketTableTest, ConcurrentEvictionsKeepTheBound) {
  BucketTable t(BucketParams{1, 1}, 500);
  std::vector<std::thread> threads;
  for (int th = 0; th < 4; ++th) {
    threads.emplace_back([&, th] {
      for (int i = 0; i < 50000; ++i) t.take(std::to_string(th) + ":" + std::to_string(i), Clock::now());
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(t.size(), 500u);
}

}  // namespace
}  // namespace interpose::rate_limit
