#include "api/interpose/cert_provider.h"

#include <openssl/evp.h>
#include <openssl/pool.h>

namespace interpose {

ServerCertificate::ServerCertificate(std::vector<CRYPTO_BUFFER*> chain, EVP_PKEY* key)
    : chain_(std::move(chain)), key_(key) {}

ServerCertificate::~ServerCertificate() {
  for (CRYPTO_BUFFER* b : chain_) CRYPTO_BUFFER_free(b);
  EVP_PKEY_free(key_);
}

CertProviderRegistry& CertProviderRegistry::get() {
  static CertProviderRegistry instance;
  return instance;
}

void CertProviderRegistry::add(std::shared_ptr<CertProvider> provider) {
  for (auto& p : providers_) {
    if (p->name() == provider->name()) {
      p = std::move(provider);
      return;
    }
  }
  providers_.push_back(std::move(provider));
}

std::shared_ptr<CertProvider> CertProviderRegistry::find(std::string_view name) const {
  for (const auto& p : providers_) {
    if (p->name() == name) return p;
  }
  return nullptr;
}

void CertProviderRegistry::clear() { providers_.clear(); }

}  // namespace interpose
