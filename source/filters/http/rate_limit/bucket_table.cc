#include "source/filters/http/rate_limit/bucket_table.h"

#include <algorithm>

namespace interpose::rate_limit {

BucketTable::BucketTable(BucketParams params, size_t max_keys, size_t shards)
    : params_(params), max_keys_(std::max<size_t>(max_keys, 1)) {
  // Never more shards than keys: every shard must hold at least one key, and the shares
  // must add up to exactly max_keys.
  shard_count_ = std::clamp<size_t>(shards, 1, max_keys_);
  shards_ = std::make_unique<Shard[]>(shard_count_);
  for (size_t i = 0; i < shard_count_; ++i) {
    shards_[i].capacity = max_keys_ / shard_count_ + (i < max_keys_ % shard_count_ ? 1 : 0);
  }
}

BucketTable::Shard& BucketTable::shardFor(size_t hash) {
  // The high bits pick the shard: the hash map inside uses the low ones, which would
  // otherwise be the same for every key of a shard.
  return shards_[(hash >> 48) % shard_count_];
}

Decision BucketTable::take(std::string_view key, Clock::time_point now, Clock::duration max_wait) {
  Shard& shard = shardFor(KeyHash()(key));
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.index.find(key);
  Lru::iterator entry;
  if (it != shard.index.end()) {
    entry = it->second;
    shard.lru.splice(shard.lru.begin(), shard.lru, entry);
  } else if (shard.lru.size() < shard.capacity) {
    shard.lru.push_front(Entry{std::string(key), fullBucket(params_, now)});
    entry = shard.lru.begin();
    shard.index.emplace(entry->key, entry);
  } else {
    // Full: recycle the least recently used entry (its node and string buffer) for the
    // new key, so a flood of new keys costs no allocations once the table is full.
    entry = std::prev(shard.lru.end());
    shard.index.erase(entry->key);
    shard.lru.splice(shard.lru.begin(), shard.lru, entry);
    entry->key.assign(key);
    entry->bucket = fullBucket(params_, now);
    shard.index.emplace(entry->key, entry);
  }
  return rate_limit::take(entry->bucket, params_, now, max_wait);
}

size_t BucketTable::size() const {
  size_t total = 0;
  for (size_t i = 0; i < shard_count_; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mu);
    total += shards_[i].lru.size();
  }
  return total;
}

}  // namespace interpose::rate_limit
