#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "api/interpose/cert_provider.h"

namespace interpose::tls {

using Clock = std::function<std::chrono::system_clock::time_point()>;

// What a mint produces for the cache: the certificate and the moment it must be dropped.
struct CacheValue {
  std::shared_ptr<const ServerCertificate> certificate;
  std::chrono::system_clock::time_point expires;
};

// Certificates by host, shared by every worker thread: LRU with a capacity and per-entry
// expiry, split into shards by hash (each with its own mutex) so workers rarely contend.
// Small caches use one shard, so their LRU order is exact; large ones keep an LRU per shard.
//
// Single flight: the first caller to miss on a host mints it outside the lock; callers that
// miss on the same host meanwhile wait for that result instead of minting again. A failed
// mint is handed to those waiters but not cached, so the next call tries again.
class CertCache {
 public:
  using MintFn = std::function<absl::StatusOr<CacheValue>()>;

  CertCache(size_t capacity, Clock clock);

  absl::StatusOr<std::shared_ptr<const ServerCertificate>> getOrMint(const std::string& host, const MintFn& mint);

  size_t size() const;
  size_t capacity() const { return capacity_; }

 private:
  using Result = absl::StatusOr<std::shared_ptr<const ServerCertificate>>;
  struct Entry {
    std::string host;
    CacheValue value;
  };
  struct Shard {
    mutable std::mutex mutex;
    size_t capacity = 0;
    std::list<Entry> lru;  // most recently used first
    std::unordered_map<std::string, std::list<Entry>::iterator> index;
    std::unordered_map<std::string, std::shared_future<Result>> in_flight;
  };

  Shard& shardFor(const std::string& host);
  Result mintAndPublish(Shard& shard, const std::string& host, const MintFn& mint, std::promise<Result>& promise);

  const size_t capacity_;
  Clock clock_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace interpose::tls
