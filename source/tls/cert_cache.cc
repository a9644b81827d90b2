#include "source/tls/cert_cache.h"

#include <exception>

#include "api/interpose/strings.h"

namespace interpose::tls {
namespace {

constexpr size_t kShards = 16;
// Below this, sharding would make per-shard capacities tiny and eviction order arbitrary.
constexpr size_t kMinShardedCapacity = 1024;

}  // namespace

CertCache::CertCache(size_t capacity, Clock clock)
    : capacity_(std::max<size_t>(capacity, 1)), clock_(std::move(clock)) {
  const size_t shards = capacity_ >= kMinShardedCapacity ? kShards : 1;
  for (size_t i = 0; i < shards; ++i) {
    auto shard = std::make_unique<Shard>();
    shard->capacity = capacity_ / shards + (i < capacity_ % shards ? 1 : 0);
    shards_.push_back(std::move(shard));
  }
}

CertCache::Shard& CertCache::shardFor(const std::string& host) {
  return *shards_[std::hash<std::string>{}(host) % shards_.size()];
}

absl::StatusOr<std::shared_ptr<const ServerCertificate>> CertCache::getOrMint(const std::string& host,
                                                                              const MintFn& mint) {
  Shard& shard = shardFor(host);
  std::promise<Result> promise;
  {
    std::unique_lock lock(shard.mutex);
    if (auto it = shard.index.find(host); it != shard.index.end()) {
      if (clock_() < it->second->value.expires) {
        shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
        return it->second->value.certificate;
      }
      shard.lru.erase(it->second);
      shard.index.erase(it);
    }
    if (auto it = shard.in_flight.find(host); it != shard.in_flight.end()) {
      std::shared_future<Result> pending = it->second;
      lock.unlock();
      return pending.get();
    }
    shard.in_flight.emplace(host, promise.get_future().share());
  }
  return mintAndPublish(shard, host, mint, promise);
}

CertCache::Result CertCache::mintAndPublish(Shard& shard, const std::string& host, const MintFn& mint,
                                            std::promise<Result>& promise) {
  absl::StatusOr<CacheValue> minted = absl::InternalError("not minted");
  try {
    minted = mint();
  } catch (const std::exception& e) {
    // Waiters must never hang on a promise nobody fulfils.
    minted = absl::InternalError(str::cat("minting a certificate for ", host, " failed: ", e.what()));
  }
  Result result = minted.ok() ? Result(minted->certificate) : Result(minted.status());
  {
    std::lock_guard lock(shard.mutex);
    shard.in_flight.erase(host);
    if (minted.ok()) {
      shard.lru.push_front(Entry{host, std::move(*minted)});
      shard.index[host] = shard.lru.begin();
      while (shard.lru.size() > shard.capacity) {
        shard.index.erase(shard.lru.back().host);
        shard.lru.pop_back();
      }
    }
  }
  promise.set_value(result);
  return result;
}

size_t CertCache::size() const {
  size_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    total += shard->lru.size();
  }
  return total;
}

}  // namespace interpose::tls
