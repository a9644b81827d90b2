#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
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
// Single flight: the first caller to miss on a host starts its mint; callers that miss on
// the same host meanwhile wait for that result instead of minting again. A failed mint is
// handed to those waiters but not cached, so the next call tries again.
class CertCache {
 public:
  using MintFn = std::function<absl::StatusOr<CacheValue>()>;
  using Result = absl::StatusOr<std::shared_ptr<const ServerCertificate>>;
  using Done = std::function<void(Result)>;
  // Runs a mint somewhere else (a mint thread).
  using Executor = std::function<void(std::function<void()>)>;

  CertCache(size_t capacity, Clock clock);

  // Blocking: the cached certificate, or the result of minting it here (or of the mint
  // already under way, waited for).
  Result getOrMint(const std::string& host, const MintFn& mint);
  // Never blocks on a mint: the cached certificate, or nullopt and `done` is called once
  // with the result, on the thread that minted (a new mint runs through `executor`).
  std::optional<Result> getOrMintAsync(const std::string& host, MintFn mint, Done done, const Executor& executor);

  size_t size() const;
  size_t capacity() const { return capacity_; }
  // Callers waiting for the mint of `host` under way (0 when none is).
  size_t waiting(const std::string& host) const;

 private:
  struct Entry {
    std::string host;
    CacheValue value;
  };
  struct Shard {
    mutable std::mutex mutex;
    size_t capacity = 0;
    std::list<Entry> lru;  // most recently used first
    std::unordered_map<std::string, std::list<Entry>::iterator> index;
    std::unordered_map<std::string, std::vector<Done>> in_flight;  // host -> who waits for it
  };
  enum class Lookup { Hit, Waiting, MintHere };

  Shard& shardFor(const std::string& host);
  const Shard& shardFor(const std::string& host) const {
    return *shards_[std::hash<std::string>{}(host) % shards_.size()];
  }
  // Under the shard's lock: a fresh cached certificate (`hit`), or `done` queued behind a
  // mint under way, or (MintHere) a new in-flight entry with `done` as its first waiter.
  Lookup lookup(Shard& shard, const std::string& host, Result& hit, Done done);
  void mintAndPublish(Shard& shard, const std::string& host, const MintFn& mint);

  const size_t capacity_;
  Clock clock_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace interpose::tls
