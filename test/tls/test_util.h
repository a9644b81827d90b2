#pragma once

// Certificates and files for the CA tests, built with BoringSSL directly so the tests do not
// depend on the code under test to create their fixtures.

#include <openssl/evp.h>
#include <openssl/pool.h>
#include <openssl/x509.h>

#include <cstdint>
#include <string>

namespace interpose::tls::testing {

struct KeyAndCert {
  bssl::UniquePtr<EVP_PKEY> key;
  bssl::UniquePtr<X509> cert;
};

struct CertSpec {
  bool rsa = false;                    // RSA 2048 instead of EC P-256
  bool ca = true;                      // basicConstraints CA:TRUE (else CA:FALSE)
  bool key_usage = true;               // add a keyUsage extension
  bool key_cert_sign = true;           // ... that includes keyCertSign
  int64_t not_before_offset = -86400;  // seconds from now
  int64_t not_after_offset = 10 * 86400;
  bool subject_key_id = true;
};

int64_t nowUnix();
KeyAndCert makeCert(const CertSpec& spec);

// A fresh empty directory under $TEST_TMPDIR.
std::string makeTempDir();
void writeFile(const std::string& path, const std::string& data);
std::string certPem(X509* cert);
std::string keyPem(EVP_PKEY* key);

// Parses a chain element back into an X509.
bssl::UniquePtr<X509> parse(const CRYPTO_BUFFER* buffer);

}  // namespace interpose::tls::testing
