#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/interpose/cert_provider.h"
#include "api/interpose/factory_context.h"

namespace interpose::config {

// The FactoryContext a config load hands every filter factory: the cert providers of that
// config, and the server's shared state (kept in a store that a later config can take over).
class ServerFactoryContext : public FactoryContext {
 public:
  using StateStore = std::map<std::string, std::shared_ptr<void>, std::less<>>;

  explicit ServerFactoryContext(std::shared_ptr<StateStore> state = std::make_shared<StateStore>())
      : state_(std::move(state)) {}

  void addCertProvider(std::shared_ptr<CertProvider> provider) { providers_.push_back(std::move(provider)); }
  std::shared_ptr<CertProvider> certProvider(std::string_view name) const override {
    for (const auto& p : providers_) {
      if (p->name() == name) return p;
    }
    return nullptr;
  }
  const std::shared_ptr<StateStore>& stateStore() const { return state_; }

 protected:
  std::shared_ptr<void>& sharedStateStorage(const std::string& key) override { return (*state_)[key]; }

 private:
  std::vector<std::shared_ptr<CertProvider>> providers_;
  std::shared_ptr<StateStore> state_;
};

}  // namespace interpose::config
