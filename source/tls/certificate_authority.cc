#include "source/tls/certificate_authority.h"

#include <openssl/x509v3.h>

#include "api/interpose/strings.h"
#include "source/tls/openssl_util.h"

namespace interpose::tls {

absl::Status checkCaCertificate(X509* cert, std::string_view label, int64_t now) {
  uint32_t flags = X509_get_extension_flags(cert);
  if (flags & EXFLAG_INVALID) {
    return absl::InvalidArgumentError(str::cat(label, ": the certificate has malformed extensions"));
  }
  if (!(flags & EXFLAG_BCONS) || !(flags & EXFLAG_CA)) {
    return absl::InvalidArgumentError(
        str::cat(label, ": not a CA certificate (basicConstraints CA:TRUE is missing), so it cannot sign leaves"));
  }
  // UINT32_MAX means the certificate has no keyUsage, which does not restrict it.
  if (X509_get_key_usage(cert) != UINT32_MAX && !(X509_get_key_usage(cert) & KU_KEY_CERT_SIGN)) {
    return absl::InvalidArgumentError(
        str::cat(label, ": not a CA certificate (its keyUsage does not include keyCertSign)"));
  }
  int64_t not_before = 0;
  int64_t not_after = 0;
  if (!asn1TimeToUnix(X509_get0_notBefore(cert), not_before) || !asn1TimeToUnix(X509_get0_notAfter(cert), not_after)) {
    return absl::InvalidArgumentError(str::cat(label, ": the certificate's validity dates cannot be read"));
  }
  if (now < not_before) {
    return absl::FailedPreconditionError(
        str::cat(label, ": the CA certificate is not valid yet (notBefore ", formatUnixTime(not_before), ")"));
  }
  if (now > not_after) {
    return absl::FailedPreconditionError(
        str::cat(label, ": the CA certificate expired on ", formatUnixTime(not_after)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const CertificateAuthority>> CertificateAuthority::create(bssl::UniquePtr<X509> cert,
                                                                                         bssl::UniquePtr<EVP_PKEY> key,
                                                                                         std::string_view cert_label,
                                                                                         std::string_view key_label,
                                                                                         int64_t now) {
  if (auto status = checkCaCertificate(cert.get(), cert_label, now); !status.ok()) return status;
  if (!X509_check_private_key(cert.get(), key.get())) {
    takeSslError();
    return absl::InvalidArgumentError(str::cat(key_label, ": the key does not match the certificate ", cert_label));
  }
  std::shared_ptr<CertificateAuthority> ca(new CertificateAuthority());
  std::string der = toDer(cert.get());
  ca->der_.reset(CRYPTO_BUFFER_new(reinterpret_cast<const uint8_t*>(der.data()), der.size(), nullptr));
  if (der.empty() || !ca->der_) return absl::InternalError(withSslError(str::cat(cert_label, ": cannot encode")));
  if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(cert.get())) {
    ca->key_id_.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)), ASN1_STRING_length(ski));
  } else {
    ca->key_id_ = keyIdentifier(cert.get());
  }
  asn1TimeToUnix(X509_get0_notBefore(cert.get()), ca->not_before_);
  asn1TimeToUnix(X509_get0_notAfter(cert.get()), ca->not_after_);
  ca->cert_ = std::move(cert);
  ca->key_ = std::move(key);
  return std::shared_ptr<const CertificateAuthority>(std::move(ca));
}

}  // namespace interpose::tls
