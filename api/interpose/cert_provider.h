#pragma once

#include <openssl/base.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace interpose {

// The certificate a TLS server presents for one host: leaf first, then the issuing chain
// (DER, as BoringSSL CRYPTO_BUFFERs, ready for SSL_set_chain_and_key), and the leaf's key.
// Immutable once made; shared by every handshake for that host.
class ServerCertificate {
 public:
  ServerCertificate(std::vector<CRYPTO_BUFFER*> chain, EVP_PKEY* key);  // takes ownership
  ~ServerCertificate();
  ServerCertificate(const ServerCertificate&) = delete;
  ServerCertificate& operator=(const ServerCertificate&) = delete;

  CRYPTO_BUFFER* const* chain() const { return chain_.data(); }
  size_t chainLength() const { return chain_.size(); }
  EVP_PKEY* key() const { return key_; }

 private:
  std::vector<CRYPTO_BUFFER*> chain_;
  EVP_PKEY* key_;
};

// Where tls_intercept gets certificates: the `ca` provider mints them from a local CA
// (asyncio-https-proxy's TLSStore). Declared under `cert_providers:` and used by name.
class CertProvider {
 public:
  virtual ~CertProvider() = default;
  virtual const std::string& name() const = 0;
  // The certificate for `host`, a DNS name or an IP literal (v4 or v6, without brackets),
  // from the cache or freshly minted. Thread-safe: concurrent calls for one new host mint
  // it once (single flight) and all get the same certificate.
  virtual absl::StatusOr<std::shared_ptr<const ServerCertificate>> certificateFor(std::string_view host) = 0;

  using Result = absl::StatusOr<std::shared_ptr<const ServerCertificate>>;
  // For event loops, which must never wait on a mint: the result at once when it is ready
  // (cached, or the host is invalid), else nullopt, and `done` is called once with the
  // result, from another thread. Providers that never block keep this default.
  virtual std::optional<Result> certificateForAsync(std::string_view host, std::function<void(Result)> done) {
    return certificateFor(host);
  }
};

}  // namespace interpose
