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

}  // namespace interpose
