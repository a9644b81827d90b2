#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "api/interpose/factory_context.h"

namespace interpose::network {

// Hosts whose clients recently refused our minted certificate (certificate pinning), learned
// by tls_intercept; filter chains can send the next connection to such a host through
// untouched (match: { interception_rejected: true }). Shared by all workers: every chain
// selection reads it, so reads take a shared lock (none at all while it is empty) and only
// learning writes. Bounded: past the cap, the oldest half is dropped.
class RejectionMemory {
 public:
  // The server's one memory (FactoryContext shared state), for tls_intercept and the matcher.
  static std::shared_ptr<RejectionMemory> shared(FactoryContext& context);

  // One host and port: a pinning app on 443 says nothing about other ports of that host.
  void remember(std::string_view host, uint16_t port, std::chrono::milliseconds for_how_long);
  bool contains(std::string_view host, uint16_t port) const;
  void clear();

 private:
  static constexpr size_t kMaxHosts = 100000;
  static std::string key(std::string_view host, uint16_t port);
  mutable std::shared_mutex mutex_;
  std::atomic<size_t> size_{0};
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> until_;
};

}  // namespace interpose::network
