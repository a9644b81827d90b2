#include "source/tls/ca_generator.h"

#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include "api/interpose/strings.h"
#include "source/tls/openssl_util.h"

namespace interpose::tls {
namespace {

constexpr int64_t kCaValidityDays = 3650;
// X.520 caps commonName at 64 characters; "Interpose CA (" + ") " + 8 hex leaves 40 for the host.
constexpr size_t kMaxHostInName = 40;

bool addNameEntry(X509_NAME* name, int nid, const std::string& value) {
  return X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, reinterpret_cast<const uint8_t*>(value.data()),
                                    static_cast<int>(value.size()), -1, 0) == 1;
}

bool addCaExtensions(X509* cert) {
  bssl::UniquePtr<BASIC_CONSTRAINTS> bc(BASIC_CONSTRAINTS_new());
  bssl::UniquePtr<ASN1_INTEGER> pathlen(ASN1_INTEGER_new());
  if (!bc || !pathlen || !ASN1_INTEGER_set(pathlen.get(), 0)) return false;
  bc->ca = 1;
  bc->pathlen = pathlen.release();
  if (!addExtension(cert, NID_basic_constraints, bc.get(), true)) return false;

  bssl::UniquePtr<ASN1_BIT_STRING> usage(ASN1_BIT_STRING_new());
  if (!usage || !ASN1_BIT_STRING_set_bit(usage.get(), 5, 1) ||  // keyCertSign
      !ASN1_BIT_STRING_set_bit(usage.get(), 6, 1) ||            // cRLSign
      !addExtension(cert, NID_key_usage, usage.get(), true)) {
    return false;
  }

  std::string key_id = keyIdentifier(cert);
  bssl::UniquePtr<ASN1_OCTET_STRING> ski(ASN1_OCTET_STRING_new());
  return !key_id.empty() && ski &&
         ASN1_OCTET_STRING_set(ski.get(), reinterpret_cast<const uint8_t*>(key_id.data()),
                               static_cast<int>(key_id.size())) &&
         addExtension(cert, NID_subject_key_identifier, ski.get(), false);
}

}  // namespace

std::string localHostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

absl::StatusOr<GeneratedCa> generateCa(int64_t now) {
  GeneratedCa out;
  out.key = generateP256Key();
  out.cert.reset(X509_new());
  if (!out.key || !out.cert) return absl::InternalError(withSslError("cannot create the CA key"));
  X509* cert = out.cert.get();

  uint8_t tag[4];
  RAND_bytes(tag, sizeof(tag));
  std::string host = localHostName().substr(0, kMaxHostInName);
  std::string common_name = str::cat("Interpose CA (", host, ") ", str::toLower(hex(tag, sizeof(tag))));
  bssl::UniquePtr<X509_NAME> name(X509_NAME_new());
  if (!name || !addNameEntry(name.get(), NID_organizationName, "Interpose") ||
      !addNameEntry(name.get(), NID_commonName, common_name)) {
    return absl::InternalError(withSslError("cannot build the CA name"));
  }

  bool ok = X509_set_version(cert, X509_VERSION_3) && setRandomSerial(cert) &&
            X509_set_subject_name(cert, name.get()) && X509_set_issuer_name(cert, name.get()) &&
            ASN1_TIME_adj(X509_getm_notBefore(cert), static_cast<time_t>(now), -1, 0) &&
            ASN1_TIME_adj(X509_getm_notAfter(cert), static_cast<time_t>(now), kCaValidityDays, 0) &&
            X509_set_pubkey(cert, out.key.get()) && addCaExtensions(cert) &&
            X509_sign(cert, out.key.get(), EVP_sha256()) > 0;
  if (!ok) return absl::InternalError(withSslError("cannot build the CA certificate"));
  return out;
}

}  // namespace interpose::tls
