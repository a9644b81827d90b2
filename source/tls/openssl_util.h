#pragma once

// Small helpers over BoringSSL's C API shared by the CA code: error text, times, digests,
// names, and the X.509 pieces both the CA and the leaves are built from.

#include <openssl/base.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace interpose::tls {

// The oldest error on BoringSSL's thread-local queue as text ("" when empty); clears the queue
// so a later failure does not report a stale error.
std::string takeSslError();

// `what`, plus ": " and the BoringSSL error when there is one.
std::string withSslError(std::string_view what);

// Seconds since the epoch for an ASN1_TIME; false when the time cannot be represented.
bool asn1TimeToUnix(const ASN1_TIME* t, int64_t& out);

// "2025-01-31 12:00:00 UTC".
std::string formatUnixTime(int64_t t);

// Uppercase hex of `data`, bytes separated by `sep` when it is not '\0'.
std::string hex(const uint8_t* data, size_t len, char sep = '\0');

// RFC 2253 text of a name ("CN=Interpose CA (host) 1a2b3c4d,O=Interpose").
std::string nameToString(const X509_NAME* name);

// A fresh P-256 key.
bssl::UniquePtr<EVP_PKEY> generateP256Key();

// "EC P-256", "RSA 2048", ...
std::string describeKey(const EVP_PKEY* key);

// 16 random bytes as a positive serial whose top bit is clear and next bit set, so it always
// encodes as exactly 16 octets (RFC 5280 allows up to 20; CA/B Forum wants >= 64 random bits).
bool setRandomSerial(X509* cert);

// SHA-1 of the subjectPublicKey bits: the usual key identifier (RFC 5280 4.2.1.2, method 1).
std::string keyIdentifier(X509* cert);

// Adds a DER-encoded extension value to `cert`. Takes ownership of nothing.
bool addExtension(X509* cert, int nid, void* value, bool critical);

// DER of a certificate.
std::string toDer(X509* cert);
// PEM of a certificate ("" on failure): what `interpose ca export` writes and the admin
// server serves, byte for byte.
std::string toPem(X509* cert);

}  // namespace interpose::tls
