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

The directory defaults to $XDG_DATA_HOME/interpose, else ~/.local/share/interpose.
)";

struct CaArgs {
  std::string command;
  std::string dir;
  std::string format = "pem";
  std::string out;
  bool force = false;
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
  for (ArgReader options(argc, argv, 1); options.next();) {
    const std::string& arg = options.name();
    auto next = [&](std::string& out) { return options.value(out, /*non_empty=*/true); };
    const bool init = args.command == "init";
    const bool exporting = args.command == "export";
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
    } else {
      return usageError(str::cat("unknown option '", arg, "' for 'ca ", args.command, "'"));
    }
  }
  if (args.dir.empty()) {
    args.dir = tls::defaultCaDir();
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
  if (argc < 1) return usageError("missing command: init, export or show");
  CaArgs args;
  args.command = argv[0];
  if (args.command == "-h" || args.command == "--help" || args.command == "help") {
    std::fputs(kCaUsage, stdout);
    return 0;
  }
  if (args.command != "init" && args.command != "export" && args.command != "show") {
    return usageError(str::cat("unknown command '", args.command, "'; expected init, export or show"));
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
  return show(args);
}

}  // namespace interpose
