#include "source/tls/ca_files.h"

#include <fcntl.h>
#include <openssl/mem.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "api/interpose/strings.h"
#include "source/tls/openssl_util.h"

namespace interpose::tls {
namespace {

constexpr size_t kMaxPemFile = 1 << 20;

std::string parentDir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

absl::StatusOr<std::string> readFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return absl::NotFoundError(str::cat(path, ": no such file"));
    if (err == EACCES) return absl::PermissionDeniedError(str::cat(path, ": cannot read it (permission denied)"));
    return absl::UnavailableError(str::cat(path, ": cannot open it: ", std::strerror(err)));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(str::cat(path, ": not a regular file"));
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxPemFile) {
    close(fd);
    return absl::InvalidArgumentError(str::cat(path, ": too large for a PEM file (", st.st_size, " bytes)"));
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = read(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return absl::UnavailableError(str::cat(path, ": cannot read it: ", std::strerror(err)));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  close(fd);
  data.resize(done);
  return data;
}

// Never prompt for a passphrase: an encrypted key is an error the user has to fix.
int noPassword(char*, int, int, void*) { return 0; }

absl::Status makeDirs(const std::string& dir) {
  if (dir.empty() || pathExists(dir)) return absl::OkStatus();
  if (auto status = makeDirs(parentDir(dir)); !status.ok()) return status;
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::UnavailableError(str::cat(dir, ": cannot create the directory: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

bool writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Writes to a private temporary file (O_EXCL, 0600 from the first byte), sets the final mode,
// then moves it into place: rename when replacing, link when not (link fails if the file
// appeared meanwhile, e.g. a second proxy generating at the same moment).
absl::Status writeFileAtomically(const std::string& path, std::string_view data, mode_t mode, bool replace) {
  uint8_t rnd[6];
  RAND_bytes(rnd, sizeof(rnd));
  std::string tmp = str::cat(path, ".tmp-", getpid(), "-", hex(rnd, sizeof(rnd)));
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return absl::UnavailableError(str::cat(path, ": cannot create it: ", std::strerror(errno)));
  bool ok = fchmod(fd, mode) == 0 && writeAll(fd, data) && fsync(fd) == 0;
  int err = errno;
  ok = close(fd) == 0 && ok;
  if (ok) {
    if (replace) {
      ok = rename(tmp.c_str(), path.c_str()) == 0;
    } else {
      ok = link(tmp.c_str(), path.c_str()) == 0;
      if (!ok && errno == EEXIST) {
        unlink(tmp.c_str());
        return absl::AlreadyExistsError(str::cat(path, ": already exists"));
      }
      // Some file systems have no hard links; fall back to rename after a last check.
      if (!ok && !pathExists(path)) ok = rename(tmp.c_str(), path.c_str()) == 0;
    }
    err = errno;
  }
  unlink(tmp.c_str());  // after link(); harmless (ENOENT) after rename()
  if (!ok) return absl::UnavailableError(str::cat(path, ": cannot write it: ", std::strerror(err)));
  return absl::OkStatus();
}

std::string bioContents(BIO* bio) {
  const uint8_t* data = nullptr;
  size_t len = 0;
  BIO_mem_contents(bio, &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

}  // namespace

std::string defaultCaDir() {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  if (xdg != nullptr && xdg[0] == '/') return str::cat(xdg, "/interpose");
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] != '\0') return str::cat(home, "/.local/share/interpose");
  return "";
}

CaPaths caPathsIn(const std::string& dir) {
  std::string base = dir.ends_with('/') ? dir : str::cat(dir, "/");
  return CaPaths{str::cat(base, "ca.pem"), str::cat(base, "ca.key")};
}

std::string expandHome(std::string_view path) {
  if (path != "~" && !path.starts_with("~/")) return std::string(path);
  const char* home = std::getenv("HOME");
  if (home == nullptr) return std::string(path);
  return str::cat(home, path.substr(1));
}

bool pathExists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

absl::StatusOr<bssl::UniquePtr<X509>> readCertificateFile(const std::string& path) {
  auto data = readFile(path);
  if (!data.ok()) return data.status();
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(data->data(), static_cast<ssize_t>(data->size())));
  bssl::UniquePtr<X509> cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, noPassword, nullptr) : nullptr);
  if (!cert) {
    takeSslError();
    return absl::InvalidArgumentError(
        str::cat(path, ": not a PEM certificate (expected a -----BEGIN CERTIFICATE----- block)"));
  }
  return cert;
}

absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> readPrivateKeyFile(const std::string& path) {
  auto data = readFile(path);
  if (!data.ok()) return data.status();
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(data->data(), static_cast<ssize_t>(data->size())));
  bssl::UniquePtr<EVP_PKEY> key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassword, nullptr) : nullptr);
  bool encrypted = data->find("ENCRYPTED") != std::string::npos;
  OPENSSL_cleanse(data->data(), data->size());
  if (!key) {
    takeSslError();
    if (encrypted)
      return absl::InvalidArgumentError(str::cat(path, ": the private key is encrypted; use an unencrypted key"));
    return absl::InvalidArgumentError(str::cat(
        path, ": not a PEM private key (expected a -----BEGIN PRIVATE KEY----- block, or EC/RSA PRIVATE KEY)"));
  }
  if (EVP_PKEY_id(key.get()) != EVP_PKEY_RSA && EVP_PKEY_id(key.get()) != EVP_PKEY_EC) {
    return absl::InvalidArgumentError(
        str::cat(path, ": unsupported key type (", describeKey(key.get()), "); the CA key must be RSA or EC"));
  }
  return key;
}

absl::StatusOr<std::shared_ptr<const CertificateAuthority>> loadCa(const CaPaths& paths, int64_t now) {
  auto cert = readCertificateFile(paths.cert);
  if (!cert.ok()) return cert.status();
  auto key = readPrivateKeyFile(paths.key);
  if (!key.ok()) return key.status();
  return CertificateAuthority::create(std::move(*cert), std::move(*key), paths.cert, paths.key, now);
}

absl::Status writeCa(const CaPaths& paths, X509* cert, EVP_PKEY* key, bool replace) {
  if (!replace) {
    for (const std::string* path : {&paths.key, &paths.cert}) {
      if (pathExists(*path)) return absl::AlreadyExistsError(str::cat(*path, ": already exists"));
    }
  }
  for (const std::string* path : {&paths.key, &paths.cert}) {
    if (auto status = makeDirs(parentDir(*path)); !status.ok()) return status;
  }
  bssl::UniquePtr<BIO> key_bio(BIO_new(BIO_s_mem()));
  bssl::UniquePtr<BIO> cert_bio(BIO_new(BIO_s_mem()));
  if (!key_bio || !cert_bio || !PEM_write_bio_PrivateKey(key_bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) ||
      !PEM_write_bio_X509(cert_bio.get(), cert)) {
    return absl::InternalError(withSslError("cannot PEM-encode the CA"));
  }
  std::string key_pem = bioContents(key_bio.get());
  auto status = writeFileAtomically(paths.key, key_pem, 0600, replace);
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  if (!status.ok()) return status;
  return writeFileAtomically(paths.cert, bioContents(cert_bio.get()), 0644, replace);
}

std::string runningExecutable() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "interpose";
}

std::string trustInstructions(const CaPaths& paths) {
  std::string text = str::cat("The CA certificate is ", paths.cert, "\n",                       //
                              "(its private key is ", paths.key, ", readable only by you).\n",  //
                              "Clients must trust the certificate for interception to work, for example:\n",
                              "  curl:    curl --cacert ", paths.cert,
                              " -x http://127.0.0.1:8080 https://example.com/\n",  //
                              "  OpenSSL-based clients: export SSL_CERT_FILE=", paths.cert, "\n");
  // `ca install` finds DIR/ca.pem: name the directory unless it is the default one.
  std::string dir = parentDir(paths.cert);
  if (!paths.cert.ends_with("/ca.pem")) {
    return str::cat(text, "  Debian/Ubuntu system store:\n    sudo cp ", paths.cert,
                    " /usr/local/share/ca-certificates/interpose-ca.crt && sudo update-ca-certificates\n");
  }
  // sudo resets HOME and XDG_DATA_HOME, so the system store's command always names it.
  std::string dir_option = caPathsIn(defaultCaDir()).cert == paths.cert ? "" : str::cat(" --dir ", dir);
  return str::cat(text, "  Chromium and Firefox:  interpose ca install --nss", dir_option, "\n",
                  "  the system store:      sudo ", runningExecutable(), " ca install --system --dir ", dir, "\n");
}

}  // namespace interpose::tls
