#include "source/exe/ca_command.h"

#include <openssl/sha.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "api/interpose/strings.h"
#include "source/exe/args.h"
#include "source/exe/ca_install.h"
#include "source/tls/ca_files.h"
#include "source/tls/ca_generator.h"
#include "source/tls/openssl_util.h"

namespace interpose {
namespace {

constexpr const char* kCaUsage = R"(Usage: interpose ca COMMAND [options]

Manage the local certificate authority that signs intercepted hosts' certificates.

Commands:
  init [--dir D] [--force]     create a CA (ca.pem and ca.key); --force replaces an existing one
  export [--dir D] [--format pem|der] [--out FILE]
                               write the CA certificate (not the key) to FILE or stdout
  show [--dir D]               print the CA's subject, fingerprints, validity and files
  install [--dir D] TARGET...  make these stores trust the CA, printing what changed
  uninstall [--dir D] TARGET...
                               take the CA out of them again (only ours: nothing else)

Targets of install and uninstall (at least one; they combine):
  --system                     the OS store, for curl, OpenSSL, Go, Python, ... (needs root):
                               Debian/Ubuntu /usr/local/share/ca-certificates/interpose-ca.crt
                               and update-ca-certificates; Fedora/RHEL
                               /etc/pki/ca-trust/source/anchors/interpose-ca.pem and update-ca-trust
                               (on Debian, uninstall also takes out the copy ca-certificates-java
                               made in the JDK's /etc/ssl/certs/java/cacerts)
  --nss [DIR]                  the NSS databases of Chromium (~/.pki/nssdb, created if missing) and
                               of every Firefox profile, with certutil (libnss3-tools); with DIR
                               only that database. Restart the browser afterwards
  --java KEYSTORE              a Java keystore, with keytool, as alias interpose-ca
  --storepass P                KEYSTORE's password (default: changeit, the JDK's cacerts). It is
                               the one secret taken on the command line, so other local users can
                               see it in the process list while this runs; keytool gets it
                               through its environment, not its command line
Installing what is already trusted, or removing what is absent, changes nothing and exits 0.

The directory defaults to $XDG_DATA_HOME/interpose, else ~/.local/share/interpose (for
install and uninstall under sudo: the invoking user's ~/.local/share/interpose).
)";

struct CaArgs {
  std::string command;
  std::string dir;
  std::string format = "pem";
  std::string out;
  bool force = false;
  TrustTargets targets;  // install and uninstall
};

int usageError(const std::string& message) {
  std::fprintf(stderr, "interpose ca: %s\nTry 'interpose ca --help'.\n", message.c_str());
  return 2;
}

int failure(const std::string& message) {
  std::fprintf(stderr, "interpose ca: %s\n", message.c_str());
  return 1;
}

int failure(const absl::Status& status) { return failure(std::string(status.message())); }

int64_t nowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Parses options after the command; returns 0 to continue, else an exit code.
int parseArgs(int argc, char** argv, CaArgs& args) {
  bool storepass = false;
  for (ArgReader options(argc, argv, 1); options.next();) {
    const std::string& arg = options.name();
    auto next = [&](std::string& out) { return options.value(out, /*non_empty=*/true); };
    const bool init = args.command == "init";
    const bool exporting = args.command == "export";
    const bool trust = args.command == "install" || args.command == "uninstall";
    if (arg == "--dir") {
      if (!next(args.dir)) return usageError("--dir needs a directory");
    } else if (arg == "--force" && init) {
      args.force = true;
    } else if (arg == "--format" && exporting) {
      if (!next(args.format) || (args.format != "pem" && args.format != "der")) {
        return usageError("--format must be pem or der");
      }
    } else if (arg == "--out" && exporting) {
      if (!next(args.out)) return usageError("--out needs a file name");
    } else if (arg == "--system" && trust) {
      args.targets.system = true;
    } else if (arg == "--nss" && trust) {
      std::string dir;
      if (!options.optionalValue(dir)) {
        args.targets.nss_defaults = true;
      } else if (dir.empty()) {
        return usageError("--nss= needs a directory");
      } else {
        args.targets.nss_dirs.push_back(dir);
      }
    } else if (arg == "--java" && trust) {
      std::string keystore;
      if (!next(keystore)) return usageError("--java needs a keystore file");
      args.targets.java_keystores.push_back(keystore);
    } else if (arg == "--storepass" && trust) {
      if (!next(args.targets.storepass)) return usageError("--storepass needs the keystore password");
      storepass = true;
    } else {
      return usageError(str::cat("unknown option '", arg, "' for 'ca ", args.command, "'"));
    }
  }
  if (args.command == "install" || args.command == "uninstall") {
    // Explicit rather than a guess: each target changes what a different set of programs trusts.
    if (args.targets.empty()) {
      return usageError(str::cat("'ca ", args.command, "' needs a target: --system (the OS store), ",
                                 "--nss [DIR] (Chromium and Firefox) or --java KEYSTORE; they combine"));
    }
    if (storepass && args.targets.java_keystores.empty()) return usageError("--storepass only goes with --java");
  }
  if (args.dir.empty()) {
    args.dir = args.command == "install" || args.command == "uninstall" ? caDirForTrustCommands() : tls::defaultCaDir();
    if (args.dir.empty()) return usageError("HOME and XDG_DATA_HOME are unset; give --dir");
  }
  return 0;
}

int init(const CaArgs& args) {
  tls::CaPaths paths = tls::caPathsIn(args.dir);
  if (!args.force) {
    for (const std::string* path : {&paths.cert, &paths.key}) {
      if (tls::pathExists(*path)) {
        return failure(str::cat(*path, ": already exists; use --force to replace the CA ",
                                "(clients that trust the old one will then reject intercepted connections)"));
      }
    }
  }
  auto ca = tls::generateCa(nowUnix());
  if (!ca.ok()) return failure(ca.status());
  auto status = tls::writeCa(paths, ca->cert.get(), ca->key.get(), args.force);
  if (!status.ok()) return failure(status);
  std::printf("Created a new certificate authority: %s\n%s",
              tls::nameToString(X509_get_subject_name(ca->cert.get())).c_str(), tls::trustInstructions(paths).c_str());
  return 0;
}

int exportCert(const CaArgs& args) {
  tls::CaPaths paths = tls::caPathsIn(args.dir);
  auto cert = tls::readCertificateFile(paths.cert);
  if (!cert.ok()) return failure(cert.status());
  std::string data = args.format == "der" ? tls::toDer(cert->get()) : tls::toPem(cert->get());
  if (data.empty()) return failure(tls::withSslError("cannot encode the certificate"));
  FILE* out = args.out.empty() ? stdout : std::fopen(args.out.c_str(), "wb");
  if (out == nullptr) return failure(str::cat(args.out, ": cannot open it for writing"));
  bool ok = std::fwrite(data.data(), 1, data.size(), out) == data.size();
  ok = (out == stdout ? std::fflush(out) : std::fclose(out)) == 0 && ok;
  if (!ok) return failure(str::cat(args.out.empty() ? "stdout" : args.out, ": write failed"));
  return 0;
}

std::string fingerprint(X509* cert, const EVP_MD* md) {
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (!X509_digest(cert, md, digest, &len)) return "?";
  return tls::hex(digest, len, ':');
}

std::string fileMode(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return "missing";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "mode %04o", static_cast<unsigned>(st.st_mode & 07777));
  return buf;
}

int show(const CaArgs& args) {
  tls::CaPaths paths = tls::caPathsIn(args.dir);
  auto cert = tls::readCertificateFile(paths.cert);
  if (!cert.ok()) return failure(cert.status());
  X509* x = cert->get();
  const ASN1_INTEGER* serial = X509_get0_serialNumber(x);
  int64_t not_before = 0;
  int64_t not_after = 0;
  tls::asn1TimeToUnix(X509_get0_notBefore(x), not_before);
  tls::asn1TimeToUnix(X509_get0_notAfter(x), not_after);
  bssl::UniquePtr<EVP_PKEY> public_key(X509_get_pubkey(x));
  auto loaded = tls::loadCa(paths, nowUnix());

  std::printf("Certificate:  %s (%s)\n", paths.cert.c_str(), fileMode(paths.cert).c_str());
  std::printf("Private key:  %s (%s)\n", paths.key.c_str(), fileMode(paths.key).c_str());
  std::printf("Subject:      %s\n", tls::nameToString(X509_get_subject_name(x)).c_str());
  std::printf("Issuer:       %s\n", tls::nameToString(X509_get_issuer_name(x)).c_str());
  std::printf("Serial:       %s\n", tls::hex(ASN1_STRING_get0_data(serial), ASN1_STRING_length(serial), ':').c_str());
  std::printf("Not before:   %s\n", tls::formatUnixTime(not_before).c_str());
  std::printf("Not after:    %s\n", tls::formatUnixTime(not_after).c_str());
  std::printf("Key type:     %s\n", public_key ? tls::describeKey(public_key.get()).c_str() : "unknown");
  std::printf("SHA-256:      %s\n", fingerprint(x, EVP_sha256()).c_str());
  std::printf("SHA-1:        %s\n", fingerprint(x, EVP_sha1()).c_str());
  std::printf("Status:       %s\n",
              loaded.ok() ? "OK, usable as the interception CA" : std::string(loaded.status().message()).c_str());
  return loaded.ok() ? 0 : 1;
}

}  // namespace

int runCaCommand(int argc, char** argv) {
  if (argc < 1) return usageError("missing command: init, export, show, install or uninstall");
  CaArgs args;
  args.command = argv[0];
  if (args.command == "-h" || args.command == "--help" || args.command == "help") {
    std::fputs(kCaUsage, stdout);
    return 0;
  }
  if (args.command != "init" && args.command != "export" && args.command != "show" && args.command != "install" &&
      args.command != "uninstall") {
    return usageError(
        str::cat("unknown command '", args.command, "'; expected init, export, show, install or uninstall"));
  }
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "-h" || std::string_view(argv[i]) == "--help") {
      std::fputs(kCaUsage, stdout);
      return 0;
    }
  }
  if (int code = parseArgs(argc, argv, args); code != 0) return code;
  if (args.command == "init") return init(args);
  if (args.command == "export") return exportCert(args);
  if (args.command == "install" || args.command == "uninstall") {
    return runTrustCommand(args.command == "install", args.dir, args.targets);
  }
  return show(args);
}

}  // namespace interpose
