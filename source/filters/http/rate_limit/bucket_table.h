#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "source/filters/http/rate_limit/token_bucket.h"

namespace interpose::rate_limit {

// The token buckets of one rate_limit config, by key, shared by every worker thread.
//
// Split into shards with a mutex each, so workers taking tokens for different keys rarely
// wait for each other. Each shard keeps its keys in LRU order and holds at most its share
// of `max_keys`: a client that sends millions of distinct keys (say, random API keys)
// evicts the least recently seen ones instead of growing memory. An evicted key that comes
// back starts with a full bucket again, so max_keys should exceed the number of keys that
// are active within a burst's refill time.
class BucketTable {
 public:
  static constexpr size_t kDefaultShards = 16;

  BucketTable(BucketParams params, size_t max_keys, size_t shards = kDefaultShards);
  BucketTable(const BucketTable&) = delete;
  BucketTable& operator=(const BucketTable&) = delete;

  // Takes a token from `key`'s bucket (see rate_limit::take); thread-safe.
  Decision take(std::string_view key, Clock::time_point now, Clock::duration max_wait = Clock::duration::zero());

  // Keys held now (locks each shard in turn: for tests and diagnostics).
  size_t size() const;
  size_t maxKeys() const { return max_keys_; }
  const BucketParams& params() const { return params_; }

 private:
  struct Entry {
    std::string key;
    TokenBucket bucket;
  };
  using Lru = std::list<Entry>;  // most recently used first

  // A seeded hash (Abseil's seed differs per process), so that clients choosing keys
  // cannot aim them all at one hash chain.
  struct KeyHash {
    size_t operator()(std::string_view key) const {
      return absl::Hash<absl::string_view>()(absl::string_view(key.data(), key.size()));
    }
  };

  // Cache-line aligned so that two shards' mutexes never share a line.
  struct alignas(64) Shard {
    std::mutex mu;
    size_t capacity = 0;
    Lru lru;
    // Keys point into the Lru entries, whose addresses never change.
    absl::flat_hash_map<std::string_view, Lru::iterator, KeyHash> index;
  };

  Shard& shardFor(size_t hash);

  const BucketParams params_;
  const size_t max_keys_;
  size_t shard_count_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace interpose::rate_limit
