#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace interpose::tls {

struct GeneratedCa {
  bssl::UniquePtr<X509> cert;
  bssl::UniquePtr<EVP_PKEY> key;
};

// A new self-signed CA: P-256 key, valid from a day before `now` for ten years, subject
// "CN=Interpose CA (<hostname>) <8 random hex>, O=Interpose" so that CAs of different machines
// and runs are told apart in trust stores, basicConstraints critical CA:TRUE pathlen 0 (it only
// signs leaves), keyUsage critical keyCertSign+cRLSign, and a subject key identifier.
absl::StatusOr<GeneratedCa> generateCa(int64_t now);

// The machine's host name for the CA subject ("localhost" when unknown).
std::string localHostName();

}  // namespace interpose::tls
