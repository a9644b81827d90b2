#include "source/tls/cert_cache.h"

#include <exception>
#include <future>

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

CertCache::Lookup CertCache::lookup(Shard& shard, const std::string& host, Result& hit, Done done) {
  std::lock_guard lock(shard.mutex);
  if (auto it = shard.index.find(host); it != shard.index.end()) {
    if (clock_() < it->second->value.expires) {
      shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
      hit = it->second->value.certificate;
      return Lookup::Hit;
    }
    shard.lru.erase(it->second);
    shard.index.erase(it);
  }
  if (auto it = shard.in_flight.find(host); it != shard.in_flight.end()) {
    it->second.push_back(std::move(done));
    return Lookup::Waiting;
  }
  shard.in_flight[host].push_back(std::move(done));
  return Lookup::MintHere;
}

CertCache::Result CertCache::getOrMint(const std::string& host, const MintFn& mint) {
  Shard& shard = shardFor(host);
  auto promise = std::make_shared<std::promise<Result>>();
  std::future<Result> result = promise->get_future();
  Result hit = absl::UnknownError("");
  switch (lookup(shard, host, hit, [promise](Result r) { promise->set_value(std::move(r)); })) {
    case Lookup::Hit:
      return hit;
    case Lookup::MintHere:
      mintAndPublish(shard, host, mint);
      break;
    case Lookup::Waiting:
      break;
  }
  return result.get();
}

std::optional<CertCache::Result> CertCache::getOrMintAsync(const std::string& host, MintFn mint, Done done,
                                                           const Executor& executor) {
  Shard& shard = shardFor(host);
  Result hit = absl::UnknownError("");
  switch (lookup(shard, host, hit, std::move(done))) {
    case Lookup::Hit:
      return hit;
    case Lookup::MintHere:
      executor([this, &shard, host, mint = std::move(mint)] { mintAndPublish(shard, host, mint); });
      break;
    case Lookup::Waiting:
      break;
  }
  return std::nullopt;
}

void CertCache::mintAndPublish(Shard& shard, const std::string& host, const MintFn& mint) {
  absl::StatusOr<CacheValue> minted = absl::InternalError("not minted");
  try {
    minted = mint();
  } catch (const std::exception& e) {
    // Waiters must never hang on a result nobody delivers.
    minted = absl::InternalError(str::cat("minting a certificate for ", host, " failed: ", e.what()));
  }
  Result result = minted.ok() ? Result(minted->certificate) : Result(minted.status());
  std::vector<Done> waiters;
  {
    std::lock_guard lock(shard.mutex);
    auto it = shard.in_flight.find(host);
    if (it != shard.in_flight.end()) {
      waiters = std::move(it->second);
      shard.in_flight.erase(it);
    }
    if (minted.ok()) {
      shard.lru.push_front(Entry{host, std::move(*minted)});
      shard.index[host] = shard.lru.begin();
      while (shard.lru.size() > shard.capacity) {
        shard.index.erase(shard.lru.back().host);
        shard.lru.pop_back();
      }
    }
  }
  for (auto& done : waiters) done(result);  // outside the lock: a waiter may ask again
}

size_t CertCache::waiting(const std::string& host) const {
  const Shard& shard = shardFor(host);
  std::lock_guard lock(shard.mutex);
  auto it = shard.in_flight.find(host);
  return it == shard.in_flight.end() ? 0 : it->second.size();
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
