#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "api/interpose/factory_context.h"

namespace interpose::network {

// Hosts whose clients recently refused our minted certificate (certificate pinning), learned
// by tls_intercept; filter chains can send the next connection to such a host through
// untouched (match: { interception_rejected: true }). Shared by all workers: every chain
// selection reads it, so reads take a shared lock (none at all while it is empty) and only
// learning and forgetting write. Bounded: past the cap, the oldest half is dropped.
class RejectionMemory {
 public:
  // The key under which a config's shared state holds the memory.
  static constexpr std::string_view kStateKey = "interception_rejected_hosts";
  using StateStore = std::map<std::string, std::shared_ptr<void>, std::less<>>;

  // The server's one memory (FactoryContext shared state), for tls_intercept and the matcher.
  static std::shared_ptr<RejectionMemory> shared(FactoryContext& context);
  // The memory in a loaded config's shared state (ServerConfig::shared_state), for readers
  // outside the filters such as the admin server; null when no filter of that config made one.
  static std::shared_ptr<RejectionMemory> in(const StateStore& store);

  // What one learned host:port looks like from outside (admin, `interpose passthrough list`).
  struct Entry {
    std::string host;  // lower-cased
    uint16_t port = 0;
    std::chrono::system_clock::time_point learned_at;
    std::chrono::steady_clock::time_point until;
    std::string reason;  // why it was learned: the TLS alert the client sent
  };

  // One host and port: a pinning app on 443 says nothing about other ports of that host.
  // `reason` is kept for those who later ask why the host is passed through.
  void remember(std::string_view host, uint16_t port, std::chrono::milliseconds for_how_long, std::string_view reason);
  bool contains(std::string_view host, uint16_t port) const;
  // The entries still in force, sorted by host and port.
  std::vector<Entry> entries() const;
  // Forgets `host` on `port`, or on every port when none is given; returns how many entries
  // in force were removed (expired ones matching go too, uncounted), and adds them to
  // `removed` when given.
  size_t forget(std::string_view host, std::optional<uint16_t> port, std::vector<Entry>* removed = nullptr);
  // Forgets everything; returns how many entries in force there were (added to `removed`).
  size_t clear(std::vector<Entry>* removed = nullptr);

 private:
  static constexpr size_t kMaxHosts = 100000;
  static std::string key(std::string_view host, uint16_t port);
  mutable std::shared_mutex mutex_;
  std::atomic<size_t> size_{0};
  std::unordered_map<std::string, Entry> entries_;  // by key(host, port)
};

}  // namespace interpose::network
