#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "api/interpose/worker.h"

namespace interpose {

class CertProvider;

// Per-worker state of one filter config (a connection pool, a DNS cache): the factory makes
// a slot while it parses its config, and at run time each worker holds its own T in it,
// made on first use on that worker and destroyed with the worker, before its event loop.
// Slot numbers, one sequence for every type (a per-type counter would hand two slots of
// different types the same storage).
inline size_t nextWorkerSlotId() {
  static std::atomic<size_t> next{0};
  return next.fetch_add(1, std::memory_order_relaxed);
}

template <typename T>
class WorkerSlot {
 public:
  WorkerSlot() : id_(nextWorkerSlotId()) {}
  T& get(Worker& worker, const std::function<std::shared_ptr<T>()>& make) const {
    if (std::shared_ptr<void>& stored = worker.slotStorage(id_)) return *static_cast<T*>(stored.get());
    // make() may use other slots of this worker (and so grow its storage): store after it.
    std::shared_ptr<T> made = make();
    worker.slotStorage(id_) = made;
    return *made;
  }

 private:
  size_t id_;
};

// What a filter factory gets besides its own config (as Envoy's FactoryContext): the
// server's shared parts, handed in rather than reached through process-wide singletons.
class FactoryContext {
 public:
  virtual ~FactoryContext() = default;

  // The provider declared under `cert_providers:` with this name; null when there is none.
  virtual std::shared_ptr<CertProvider> certProvider(std::string_view name) const = 0;

  // State shared by every filter config that names `key` (e.g. hosts learned by
  // tls_intercept, read by the chain matcher), made by `make` on first use. The server owns
  // it, so it can outlive one config.
  template <typename T>
  std::shared_ptr<T> sharedState(const std::string& key, const std::function<std::shared_ptr<T>()>& make) {
    std::shared_ptr<void>& stored = sharedStateStorage(key);
    if (!stored) stored = make();
    return std::static_pointer_cast<T>(stored);
  }

 protected:
  virtual std::shared_ptr<void>& sharedStateStorage(const std::string& key) = 0;
};

// A context with no cert providers and shared state of its own: for unit tests of filters
// and for tools that parse one filter config outside a server.
class StandaloneFactoryContext : public FactoryContext {
 public:
  std::shared_ptr<CertProvider> certProvider(std::string_view) const override { return nullptr; }

 protected:
  std::shared_ptr<void>& sharedStateStorage(const std::string& key) override { return state_[key]; }

 private:
  std::map<std::string, std::shared_ptr<void>> state_;
};

}  // namespace interpose
