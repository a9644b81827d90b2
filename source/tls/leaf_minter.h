#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "api/interpose/cert_provider.h"
#include "source/tls/certificate_authority.h"
#include "source/tls/host_name.h"

namespace interpose::tls {

// CA/Browser Forum limit for a TLS server certificate's lifetime, which clients enforce.
constexpr int64_t kMaxLeafValiditySeconds = int64_t{397} * 86400;

struct LeafOptions {
  // One key per host instead of one key shared by every leaf. Sharing is the default: key
  // generation would dominate minting, and every leaf is signed by the same local CA anyway.
  bool per_host_keys = false;
  int64_t validity_seconds = kMaxLeafValiditySeconds;
};

struct MintedLeaf {
  std::shared_ptr<const ServerCertificate> certificate;
  int64_t not_after = 0;  // seconds since the epoch; the cache never keeps it past this
};

// Builds and signs leaf certificates for one CA. Thread-safe (mint is const and only reads
// the CA and the shared key), so one minter serves every worker.
class LeafMinter {
 public:
  static absl::StatusOr<std::unique_ptr<LeafMinter>> create(std::shared_ptr<const CertificateAuthority> ca,
                                                            LeafOptions options);

  // A P-256 leaf for `host`: v3, random 128-bit serial, CN = host when it fits in 64 bytes,
  // SAN DNS or IP, AKI = the CA's key id, SKI, CA:FALSE, keyUsage digitalSignature, EKU
  // serverAuth, valid from `now` - 1 day until `now` + validity or the CA's expiry, whichever
  // is first; signed by the CA with SHA-256. The chain is the leaf then the CA certificate.
  absl::StatusOr<MintedLeaf> mint(const CertHost& host, int64_t now) const;

  const CertificateAuthority& authority() const { return *ca_; }
  EVP_PKEY* sharedKey() const { return shared_key_.get(); }  // null with per_host_keys

 private:
  LeafMinter(std::shared_ptr<const CertificateAuthority> ca, LeafOptions options);
  bool addConstantExtensions(X509* cert) const;

  std::shared_ptr<const CertificateAuthority> ca_;
  LeafOptions options_;
  bssl::UniquePtr<EVP_PKEY> shared_key_;
  // Extensions that are the same in every leaf, encoded once.
  bssl::UniquePtr<X509_EXTENSION> basic_constraints_;
  bssl::UniquePtr<X509_EXTENSION> key_usage_;
  bssl::UniquePtr<X509_EXTENSION> ext_key_usage_;
  bssl::UniquePtr<X509_EXTENSION> authority_key_id_;
  bssl::UniquePtr<X509_EXTENSION> shared_subject_key_id_;  // with the shared key only
};

}  // namespace interpose::tls
