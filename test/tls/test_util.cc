#include "test/tls/test_util.h"

#include <openssl/ec_key.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace interpose::tls::testing {
namespace {

bssl::UniquePtr<EVP_PKEY> makeKey(bool rsa) {
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  if (rsa) {
    bssl::UniquePtr<RSA> r(RSA_new());
    bssl::UniquePtr<BIGNUM> e(BN_new());
    BN_set_word(e.get(), RSA_F4);
    if (!RSA_generate_key_ex(r.get(), 2048, e.get(), nullptr)) throw std::runtime_error("RSA keygen");
    EVP_PKEY_assign_RSA(key.get(), r.release());
  } else {
    bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
    if (!EC_KEY_generate_key(ec.get())) throw std::runtime_error("EC keygen");
    EVP_PKEY_assign_EC_KEY(key.get(), ec.release());
  }
  return key;
}

std::string bioString(BIO* bio) {
  const uint8_t* data = nullptr;
  size_t len = 0;
  BIO_mem_contents(bio, &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

}  // namespace

int64_t nowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

KeyAndCert makeCert(const CertSpec& spec) {
  KeyAndCert out;
  out.key = makeKey(spec.rsa);
  out.cert.reset(X509_new());
  X509* x = out.cert.get();
  X509_set_version(x, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const uint8_t*>("Test CA"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  ASN1_TIME_adj(X509_getm_notBefore(x), nowUnix(), 0, spec.not_before_offset);
  ASN1_TIME_adj(X509_getm_notAfter(x), nowUnix(), 0, spec.not_after_offset);
  X509_set_pubkey(x, out.key.get());

  bssl::UniquePtr<BASIC_CONSTRAINTS> bc(BASIC_CONSTRAINTS_new());
  bc->ca = spec.ca ? 1 : 0;
  X509_add1_ext_i2d(x, NID_basic_constraints, bc.get(), 1, X509V3_ADD_DEFAULT);
  if (spec.key_usage) {
    bssl::UniquePtr<ASN1_BIT_STRING> ku(ASN1_BIT_STRING_new());
    ASN1_BIT_STRING_set_bit(ku.get(), 0, 1);                          // digitalSignature
    if (spec.key_cert_sign) ASN1_BIT_STRING_set_bit(ku.get(), 5, 1);  // keyCertSign
    X509_add1_ext_i2d(x, NID_key_usage, ku.get(), 1, X509V3_ADD_DEFAULT);
  }
  if (spec.subject_key_id) {
    uint8_t md[20];
    unsigned len = 0;
    X509_pubkey_digest(x, EVP_sha1(), md, &len);
    bssl::UniquePtr<ASN1_OCTET_STRING> ski(ASN1_OCTET_STRING_new());
    ASN1_OCTET_STRING_set(ski.get(), md, static_cast<int>(len));
    X509_add1_ext_i2d(x, NID_subject_key_identifier, ski.get(), 0, X509V3_ADD_DEFAULT);
  }
  if (!X509_sign(x, out.key.get(), EVP_sha256())) throw std::runtime_error("X509_sign");
  return out;
}

std::string makeTempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string templ = std::string(base ? base : "/tmp") + "/ca_test.XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp");
  return templ;
}

void writeFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

std::string certPem(X509* cert) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return bioString(bio.get());
}

std::string keyPem(EVP_PKEY* key) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return bioString(bio.get());
}

bssl::UniquePtr<X509> parse(const CRYPTO_BUFFER* buffer) {
  const uint8_t* p = CRYPTO_BUFFER_data(buffer);
  return bssl::UniquePtr<X509>(d2i_X509(nullptr, &p, static_cast<long>(CRYPTO_BUFFER_len(buffer))));
}

}  // namespace interpose::tls::testing
