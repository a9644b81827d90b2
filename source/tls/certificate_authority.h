#pragma once

#include <openssl/base.h>
#include <openssl/evp.h>
#include <openssl/pool.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace interpose::tls {

// Checks that `cert` may issue certificates (basicConstraints CA:TRUE, and keyCertSign when
// keyUsage is present) and is valid at `now` (seconds since the epoch). Messages start with
// `label`, normally the certificate's file path.
absl::Status checkCaCertificate(X509* cert, std::string_view label, int64_t now);

// A loaded, checked CA: its certificate and key, plus what every leaf needs precomputed.
// Immutable and thread-safe to share (BoringSSL signing with a shared EVP_PKEY is safe).
class CertificateAuthority {
 public:
  // Runs checkCaCertificate and checks `key` is the certificate's key (the error then starts
  // with `key_label`).
  static absl::StatusOr<std::shared_ptr<const CertificateAuthority>> create(bssl::UniquePtr<X509> cert,
                                                                            bssl::UniquePtr<EVP_PKEY> key,
                                                                            std::string_view cert_label,
                                                                            std::string_view key_label, int64_t now);

  X509* cert() const { return cert_.get(); }
  EVP_PKEY* key() const { return key_.get(); }
  // The CA certificate's DER, up-ref'd into every chain instead of copied.
  CRYPTO_BUFFER* der() const { return der_.get(); }
  // The CA's subject key identifier (computed from its key when the extension is absent),
  // which every leaf names as its authority key identifier.
  const std::string& keyId() const { return key_id_; }
  int64_t notBefore() const { return not_before_; }
  int64_t notAfter() const { return not_after_; }

 private:
  CertificateAuthority() = default;

  bssl::UniquePtr<X509> cert_;
  bssl::UniquePtr<EVP_PKEY> key_;
  bssl::UniquePtr<CRYPTO_BUFFER> der_;
  std::string key_id_;
  int64_t not_before_ = 0;
  int64_t not_after_ = 0;
};

}  // namespace interpose::tls
