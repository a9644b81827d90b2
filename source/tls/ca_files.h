#pragma once

// Where the CA lives on disk and how it is read and written.

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "source/tls/certificate_authority.h"

namespace interpose::tls {

struct CaPaths {
  std::string cert;  // PEM certificate, world-readable (it is what clients trust)
  std::string key;   // PEM private key, owner-only
};

// $XDG_DATA_HOME/interpose, else $HOME/.local/share/interpose; "" when neither is set.
std::string defaultCaDir();
// `dir`/ca.pem and `dir`/ca.key.
CaPaths caPathsIn(const std::string& dir);
// "~" and "~/..." become $HOME and $HOME/...; other paths are returned as they are.
std::string expandHome(std::string_view path);

bool pathExists(const std::string& path);

// Read a PEM file; errors start with the path and say why (missing, unreadable, not PEM).
absl::StatusOr<bssl::UniquePtr<X509>> readCertificateFile(const std::string& path);
absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> readPrivateKeyFile(const std::string& path);

// Reads both files and checks them as a CA at `now` (see CertificateAuthority::create).
absl::StatusOr<std::shared_ptr<const CertificateAuthority>> loadCa(const CaPaths& paths, int64_t now);

// Writes the key (mode 0600, never readable by others even briefly) and then the certificate
// (0644), creating the directories (0700) as needed. Without `replace`, existing files are an
// error and are left alone.
absl::Status writeCa(const CaPaths& paths, X509* cert, EVP_PKEY* key, bool replace);

// This binary's absolute path ("interpose" when unknown), for commands to run with sudo:
// root's PATH (sudo's secure_path) rarely has ~/.local/bin.
std::string runningExecutable();

// What to tell a user after generating a CA: where it is and how clients come to trust it.
std::string trustInstructions(const CaPaths& paths);

}  // namespace interpose::tls
