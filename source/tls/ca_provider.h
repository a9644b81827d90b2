#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "api/interpose/cert_provider.h"
#include "api/interpose/config_node.h"
#include "source/common/work_queue.h"
#include "source/tls/ca_files.h"
#include "source/tls/cert_cache.h"
#include "source/tls/certificate_authority.h"
#include "source/tls/leaf_minter.h"

namespace interpose::tls {

struct CaProviderOptions {
  // Empty paths mean the default directory (see defaultCaDir()).
  std::string cert_path;
  std::string key_path;
  // Create a CA when neither file exists (never when only one does: that is an error).
  bool generate_if_missing = false;
  bool per_host_keys = false;
  std::chrono::seconds leaf_validity{kMaxLeafValiditySeconds};
  size_t cache_capacity = 10000;
  std::chrono::milliseconds cache_ttl = std::chrono::hours(24);
  // Injectable for tests; drives cache expiry and leaf validity.
  Clock clock = [] { return std::chrono::system_clock::now(); };
};

// The `ca` cert provider: a local CA that mints a leaf per host on demand and caches it.
class CaProvider : public CertProvider {
 public:
  // From the YAML map under `ca:` (keys cert, key, generate_if_missing, per_host_keys,
  // leaf_validity, cache {capacity, ttl}). Config mistakes throw ConfigError with the file,
  // line and column; file problems come back as a Status naming the file. With
  // `validate_only` nothing is created: a missing CA that would be generated is fine, and
  // the provider returned then cannot mint (certificateFor fails).
  static absl::StatusOr<std::shared_ptr<CaProvider>> create(std::string name, const ConfigNode& ca, bool validate_only);
  // The same from code.
  static absl::StatusOr<std::shared_ptr<CaProvider>> create(std::string name, CaProviderOptions options,
                                                            bool validate_only = false);
  // Around an already loaded CA (tests, tools).
  static absl::StatusOr<std::shared_ptr<CaProvider>> create(std::string name,
                                                            std::shared_ptr<const CertificateAuthority> ca,
                                                            CaProviderOptions options);

  const std::string& name() const override { return name_; }
  absl::StatusOr<std::shared_ptr<const ServerCertificate>> certificateFor(std::string_view host) override;
  // New certificates are minted on the provider's own thread, never on a worker's.
  std::optional<Result> certificateForAsync(std::string_view host, std::function<void(Result)> done) override;

  uint64_t mintedCount() const { return minted_.load(std::memory_order_relaxed); }
  size_t cacheSize() const { return cache_.size(); }
  // Null for a validate-only provider whose CA does not exist yet.
  std::shared_ptr<const CertificateAuthority> authority() const { return ca_; }
  const LeafMinter* minter() const { return minter_.get(); }
  // The files the CA was loaded from; empty when it was handed in already loaded.
  const CaPaths& paths() const { return paths_; }
  size_t cacheCapacity() const { return cache_.capacity(); }

 private:
  CaProvider(std::string name, CaProviderOptions options);
  absl::Status checkCanMint() const;
  CertCache::MintFn mintFor(CertHost host);

  std::string name_;
  CaProviderOptions options_;
  std::shared_ptr<const CertificateAuthority> ca_;
  CaPaths paths_;
  std::unique_ptr<LeafMinter> minter_;
  CertCache cache_;
  std::atomic<uint64_t> minted_{0};
  std::once_flag mint_thread_started_;
  std::unique_ptr<WorkQueue> mint_thread_;  // declared last: stops (joins) before the rest goes
};

}  // namespace interpose::tls
