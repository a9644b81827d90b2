#include "source/tls/leaf_minter.h"

#include <openssl/mem.h>
#include <openssl/pool.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "api/interpose/strings.h"
#include "source/tls/openssl_util.h"

namespace interpose::tls {
namespace {

constexpr int64_t kDay = 86400;
// X.520 ub-common-name: a longer host goes only in the SAN.
constexpr size_t kMaxCommonName = 64;

bssl::UniquePtr<X509_EXTENSION> encodeExtension(int nid, bool critical, void* value) {
  return bssl::UniquePtr<X509_EXTENSION>(X509V3_EXT_i2d(nid, critical ? 1 : 0, value));
}

bssl::UniquePtr<X509_EXTENSION> keyIdExtension(const std::string& key_id) {
  bssl::UniquePtr<ASN1_OCTET_STRING> ski(ASN1_OCTET_STRING_new());
  if (!ski || !ASN1_OCTET_STRING_set(ski.get(), reinterpret_cast<const uint8_t*>(key_id.data()),
                                     static_cast<int>(key_id.size()))) {
    return nullptr;
  }
  return encodeExtension(NID_subject_key_identifier, false, ski.get());
}

// The subjectKeyIdentifier for `key`, via a scratch certificate (X509_pubkey_digest needs one).
std::string keyIdOf(EVP_PKEY* key) {
  bssl::UniquePtr<X509> scratch(X509_new());
  if (!scratch || !X509_set_pubkey(scratch.get(), key)) return "";
  return keyIdentifier(scratch.get());
}

bool addSubjectAltName(X509* cert, const CertHost& host, bool critical) {
  bssl::UniquePtr<GENERAL_NAMES> names(sk_GENERAL_NAME_new_null());
  bssl::UniquePtr<GENERAL_NAME> name(GENERAL_NAME_new());
  if (!names || !name) return false;
  const std::string& value = host.is_ip ? host.ip : host.name;
  ASN1_STRING* str = host.is_ip ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
  if (str == nullptr) return false;
  name->type = host.is_ip ? GEN_IPADD : GEN_DNS;
  if (host.is_ip) {
    name->d.iPAddress = str;
  } else {
    name->d.dNSName = str;
  }
  if (!ASN1_STRING_set(str, value.data(), static_cast<int>(value.size())) ||
      !bssl::PushToStack(names.get(), std::move(name))) {
    return false;
  }
  return addExtension(cert, NID_subject_alt_name, names.get(), critical);
}

}  // namespace

LeafMinter::LeafMinter(std::shared_ptr<const CertificateAuthority> ca, LeafOptions options)
    : ca_(std::move(ca)), options_(options) {}

absl::StatusOr<std::unique_ptr<LeafMinter>> LeafMinter::create(std::shared_ptr<const CertificateAuthority> ca,
                                                               LeafOptions options) {
  if (options.validity_seconds <= 0 || options.validity_seconds > kMaxLeafValiditySeconds) {
    return absl::InvalidArgumentError("leaf validity must be more than 0 and at most 397 days");
  }
  std::unique_ptr<LeafMinter> minter(new LeafMinter(std::move(ca), options));

  bssl::UniquePtr<BASIC_CONSTRAINTS> bc(BASIC_CONSTRAINTS_new());
  bssl::UniquePtr<ASN1_BIT_STRING> usage(ASN1_BIT_STRING_new());
  bssl::UniquePtr<EXTENDED_KEY_USAGE> eku(sk_ASN1_OBJECT_new_null());
  bssl::UniquePtr<AUTHORITY_KEYID> akid(AUTHORITY_KEYID_new());
  bssl::UniquePtr<ASN1_OCTET_STRING> akid_value(ASN1_OCTET_STRING_new());
  const std::string& ca_key_id = minter->ca_->keyId();
  if (!bc || !usage || !eku || !akid || !akid_value ||
      !ASN1_BIT_STRING_set_bit(usage.get(), 0, 1) ||  // digitalSignature: all an ECDHE P-256 server key does
      !sk_ASN1_OBJECT_push(eku.get(), OBJ_nid2obj(NID_server_auth)) ||
      !ASN1_OCTET_STRING_set(akid_value.get(), reinterpret_cast<const uint8_t*>(ca_key_id.data()),
                             static_cast<int>(ca_key_id.size()))) {
    return absl::InternalError(withSslError("cannot prepare leaf extensions"));
  }
  bc->ca = 0;
  akid->keyid = akid_value.release();
  minter->basic_constraints_ = encodeExtension(NID_basic_constraints, true, bc.get());
  minter->key_usage_ = encodeExtension(NID_key_usage, true, usage.get());
  minter->ext_key_usage_ = encodeExtension(NID_ext_key_usage, false, eku.get());
  minter->authority_key_id_ = encodeExtension(NID_authority_key_identifier, false, akid.get());
  if (!minter->basic_constraints_ || !minter->key_usage_ || !minter->ext_key_usage_ || !minter->authority_key_id_) {
    return absl::InternalError(withSslError("cannot encode leaf extensions"));
  }
  if (!options.per_host_keys) {
    minter->shared_key_ = generateP256Key();
    if (minter->shared_key_) minter->shared_subject_key_id_ = keyIdExtension(keyIdOf(minter->shared_key_.get()));
    if (!minter->shared_subject_key_id_) return absl::InternalError(withSslError("cannot create the leaf key"));
  }
  return minter;
}

bool LeafMinter::addConstantExtensions(X509* cert) const {
  return X509_add_ext(cert, basic_constraints_.get(), -1) && X509_add_ext(cert, key_usage_.get(), -1) &&
         X509_add_ext(cert, ext_key_usage_.get(), -1) && X509_add_ext(cert, authority_key_id_.get(), -1);
}

absl::StatusOr<MintedLeaf> LeafMinter::mint(const CertHost& host, int64_t now) const {
  // A day back absorbs clients with slow clocks; never before the CA itself became valid.
  const int64_t not_before = std::max(now - kDay, ca_->notBefore());
  const int64_t not_after = std::min(now + options_.validity_seconds, ca_->notAfter());
  if (not_after <= now) return absl::FailedPreconditionError("the CA certificate has expired");

  bssl::UniquePtr<EVP_PKEY> key;
  if (shared_key_) {
    EVP_PKEY_up_ref(shared_key_.get());
    key.reset(shared_key_.get());
  } else {
    key = generateP256Key();
    if (!key) return absl::InternalError(withSslError("cannot create a leaf key"));
  }

  bssl::UniquePtr<X509> cert(X509_new());
  bssl::UniquePtr<X509_NAME> subject(X509_NAME_new());
  if (!cert || !subject) return absl::ResourceExhaustedError("out of memory");
  const bool has_common_name = host.name.size() <= kMaxCommonName;
  if (has_common_name && !X509_NAME_add_entry_by_NID(subject.get(), NID_commonName, MBSTRING_UTF8,
                                                     reinterpret_cast<const uint8_t*>(host.name.data()),
                                                     static_cast<int>(host.name.size()), -1, 0)) {
    return absl::InternalError(withSslError("cannot build the leaf subject"));
  }
  X509* x = cert.get();
  bool ok = X509_set_version(x, X509_VERSION_3) && setRandomSerial(x) &&
            X509_set_issuer_name(x, X509_get_subject_name(ca_->cert())) && X509_set_subject_name(x, subject.get()) &&
            ASN1_TIME_adj(X509_getm_notBefore(x), static_cast<time_t>(not_before), 0, 0) &&
            ASN1_TIME_adj(X509_getm_notAfter(x), static_cast<time_t>(not_after), 0, 0) &&
            X509_set_pubkey(x, key.get()) && addConstantExtensions(x) &&
            // An empty subject requires a critical SAN (RFC 5280 4.2.1.6).
            addSubjectAltName(x, host, !has_common_name);
  if (ok && shared_subject_key_id_) {
    ok = X509_add_ext(x, shared_subject_key_id_.get(), -1);
  } else if (ok) {
    bssl::UniquePtr<X509_EXTENSION> ski = keyIdExtension(keyIdentifier(x));
    ok = ski && X509_add_ext(x, ski.get(), -1);
  }
  ok = ok && X509_sign(x, ca_->key(), EVP_sha256()) > 0;
  if (!ok) return absl::InternalError(withSslError(str::cat("cannot mint a certificate for ", host.name)));

  uint8_t* der = nullptr;
  int der_len = i2d_X509(x, &der);
  if (der_len <= 0) return absl::InternalError(withSslError("cannot encode the leaf certificate"));
  CRYPTO_BUFFER* leaf = CRYPTO_BUFFER_new(der, static_cast<size_t>(der_len), nullptr);
  OPENSSL_free(der);
  if (leaf == nullptr) return absl::ResourceExhaustedError("out of memory");
  CRYPTO_BUFFER_up_ref(ca_->der());
  MintedLeaf out;
  out.certificate =
      std::make_shared<const ServerCertificate>(std::vector<CRYPTO_BUFFER*>{leaf, ca_->der()}, key.release());
  out.not_after = not_after;
  return out;
}

}  // namespace interpose::tls
