#include "source/exe/ca_install.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "api/interpose/strings.h"
#include "source/exe/trust_store.h"
#include "source/tls/ca_files.h"
#include "source/tls/openssl_util.h"

namespace interpose {
namespace trust {

std::vector<std::string> pemCertificatesDer(std::string_view pem) {
  std::vector<std::string> out;
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<ssize_t>(pem.size())));
  while (bio) {
    bssl::UniquePtr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    out.push_back(tls::toDer(cert.get()));
  }
  tls::takeSslError();  // the end of the input reads as an error
  return out;
}

bool containsCertificate(std::string_view pem, const std::string& der) {
  for (const std::string& each : pemCertificatesDer(pem)) {
    if (each == der) return true;
  }
  return false;
}

void Reporter::say(std::string_view message) const {
  std::printf("%s: %.*s\n", label_.c_str(), static_cast<int>(message.size()), message.data());
  std::fflush(stdout);
}

bool Reporter::fail(std::string_view message) const {
  std::fflush(stdout);
  std::fprintf(stderr, "interpose ca: %s: %.*s\n", label_.c_str(), static_cast<int>(message.size()), message.data());
  return false;
}

bool readWholeFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream data;
  data << in.rdbuf();
  out = data.str();
  return !in.bad();
}

bool isDirectory(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace trust

namespace {

int failure(const std::string& message) {
  std::fprintf(stderr, "interpose ca: %s\n", message.c_str());
  return 1;
}

std::string commonName(X509* cert) {
  X509_NAME* name = X509_get_subject_name(cert);
  int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return tls::nameToString(name);
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)), ASN1_STRING_length(value));
}

}  // namespace

std::string caDirForTrustCommands() {
  const char* sudo_user = std::getenv("SUDO_USER");
  if (geteuid() == 0 && sudo_user != nullptr && sudo_user[0] != '\0' && std::string_view(sudo_user) != "root" &&
      std::getenv("XDG_DATA_HOME") == nullptr) {
    if (const passwd* pw = getpwnam(sudo_user); pw != nullptr && pw->pw_dir != nullptr && pw->pw_dir[0] == '/') {
      return str::cat(pw->pw_dir, "/.local/share/interpose");
    }
  }
  return tls::defaultCaDir();
}

int runTrustCommand(bool install, const std::string& ca_dir, const TrustTargets& targets) {
  tls::CaPaths paths = tls::caPathsIn(ca_dir);
  auto cert = tls::readCertificateFile(paths.cert);
  if (!cert.ok()) {
    std::string hint = tls::pathExists(paths.cert) ? "" : " (create the CA with `interpose ca init`, or give --dir)";
    return failure(str::cat(std::string(cert.status().message()), hint));
  }
  trust::CaCert ca;
  ca.path = paths.cert;
  ca.der = tls::toDer(cert->get());
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(ca.der.data()), ca.der.size(), digest);
  ca.sha256 = str::toLower(tls::hex(digest, sizeof(digest)));
  ca.common_name = commonName(cert->get());
  bssl::UniquePtr<BIO> pem(BIO_new(BIO_s_mem()));
  const uint8_t* pem_data = nullptr;
  size_t pem_len = 0;
  if (!pem || !PEM_write_bio_X509(pem.get(), cert->get()) || !BIO_mem_contents(pem.get(), &pem_data, &pem_len)) {
    return failure(tls::withSslError("cannot PEM-encode the CA certificate"));
  }
  ca.pem.assign(reinterpret_cast<const char*>(pem_data), pem_len);

  std::vector<std::unique_ptr<trust::TrustTarget>> stores;
  if (targets.system) {
    // The whole command, --dir included: sudo resets HOME, and root's PATH may lack ours.
    stores.push_back(trust::systemStore(str::cat("sudo ", tls::runningExecutable(), " ca ",
                                                 install ? "install" : "uninstall", " --system --dir ", ca_dir)));
  }
  if (targets.nss_defaults || !targets.nss_dirs.empty()) {
    stores.push_back(trust::nssDatabases(targets.nss_defaults, targets.nss_dirs));
  }
  for (const std::string& keystore : targets.java_keystores) {
    stores.push_back(trust::javaKeystore(keystore, targets.storepass));
  }
  bool ready = true;
  for (auto& store : stores) {
    if (std::string problem = store->check(); !problem.empty()) {
      failure(problem);
      ready = false;
    }
  }
  if (!ready) return failure("nothing was changed");

  std::printf("CA: %s (%s, SHA-256 %s)\n", ca.path.c_str(), ca.common_name.c_str(), ca.sha256.c_str());
  bool ok = true;
  for (auto& store : stores) ok = store->apply(ca, install) && ok;
  return ok ? 0 : 1;
}

}  // namespace interpose
