#include "source/tls/openssl_util.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bytestring.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "api/interpose/strings.h"

namespace interpose::tls {

std::string takeSslError() {
  uint32_t code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

std::string withSslError(std::string_view what) {
  std::string err = takeSslError();
  return err.empty() ? std::string(what) : str::cat(what, ": ", err);
}

bool asn1TimeToUnix(const ASN1_TIME* t, int64_t& out) {
  // No ASN1_TIME_to_posix in this BoringSSL, so measure the distance from the epoch.
  bssl::UniquePtr<ASN1_TIME> epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0;
  int seconds = 0;
  if (!epoch || !ASN1_TIME_diff(&days, &seconds, epoch.get(), t)) return false;
  out = int64_t{days} * 86400 + seconds;
  return true;
}

std::string formatUnixTime(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  if (!gmtime_r(&tt, &tm)) return str::cat("@", t);
  char buf[64];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string hex(const uint8_t* data, size_t len, char sep) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(len * 3);
  for (size_t i = 0; i < len; ++i) {
    if (i > 0 && sep != '\0') out.push_back(sep);
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

std::string nameToString(const X509_NAME* name) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "";
  const uint8_t* data = nullptr;
  size_t len = 0;
  BIO_mem_contents(bio.get(), &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

bssl::UniquePtr<EVP_PKEY> generateP256Key() {
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  if (!ec || !key || !EC_KEY_generate_key(ec.get()) || !EVP_PKEY_assign_EC_KEY(key.get(), ec.release())) {
    return nullptr;
  }
  return key;
}

std::string describeKey(const EVP_PKEY* key) {
  switch (EVP_PKEY_id(key)) {
    case EVP_PKEY_EC: {
      const EC_GROUP* group = EC_KEY_get0_group(EVP_PKEY_get0_EC_KEY(key));
      switch (group ? EC_GROUP_get_curve_name(group) : NID_undef) {
        case NID_X9_62_prime256v1:
          return "EC P-256";
        case NID_secp384r1:
          return "EC P-384";
        case NID_secp521r1:
          return "EC P-521";
        default:
          return "EC";
      }
    }
    case EVP_PKEY_RSA:
      return str::cat("RSA ", EVP_PKEY_bits(key));
    case EVP_PKEY_ED25519:
      return "Ed25519";
    default:
      return str::cat("key type ", EVP_PKEY_id(key));
  }
}

bool setRandomSerial(X509* cert) {
  uint8_t bytes[16];
  RAND_bytes(bytes, sizeof(bytes));
  bytes[0] = (bytes[0] & 0x7f) | 0x40;
  bssl::UniquePtr<ASN1_INTEGER> serial(ASN1_INTEGER_new());
  return serial && ASN1_STRING_set(serial.get(), bytes, sizeof(bytes)) && X509_set_serialNumber(cert, serial.get());
}

std::string keyIdentifier(X509* cert) {
  uint8_t md[SHA_DIGEST_LENGTH];
  unsigned len = 0;
  if (!X509_pubkey_digest(cert, EVP_sha1(), md, &len)) return "";
  return std::string(reinterpret_cast<const char*>(md), len);
}

bool addExtension(X509* cert, int nid, void* value, bool critical) {
  return X509_add1_ext_i2d(cert, nid, value, critical ? 1 : 0, X509V3_ADD_DEFAULT) == 1;
}

std::string toDer(X509* cert) {
  uint8_t* der = nullptr;
  int len = i2d_X509(cert, &der);
  if (len <= 0) return "";
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string toPem(X509* cert) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  const uint8_t* pem = nullptr;
  size_t len = 0;
  if (!bio || !PEM_write_bio_X509(bio.get(), cert) || !BIO_mem_contents(bio.get(), &pem, &len)) return "";
  return std::string(reinterpret_cast<const char*>(pem), len);
}

}  // namespace interpose::tls
