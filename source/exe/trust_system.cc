// --system: the OS trust store, through the distribution's own tool, so that every program
// reading the system bundle (curl, OpenSSL, Go, Python, wget, ...) trusts the CA.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "api/interpose/strings.h"
#include "source/exe/trust_store.h"
#include "source/tls/ca_files.h"

namespace interpose::trust {
namespace {

struct Flavour {
  const char* name;
  const char* tool;
  const char* anchor_dir;  // where administrators put extra CAs
  const char* anchor;      // our file in it: a fixed name, so a new CA replaces the old one
  const char* bundle;      // what the tool builds and clients read
  std::vector<std::string> install_args;
  std::vector<std::string> remove_args;
};

// Removing a file from /usr/local/share/ca-certificates is not enough for a plain
// update-ca-certificates run: it rebuilds the bundle but leaves the certificate's links in
// /etc/ssl/certs, which OpenSSL's CApath lookups still follow. --fresh drops every link
// into the certificate directories (and dangling ones) and adds back what remains.
const Flavour kDebian{"Debian",
                      "update-ca-certificates",
                      "/usr/local/share/ca-certificates",
                      "/usr/local/share/ca-certificates/interpose-ca.crt",  // the tool only reads *.crt
                      "/etc/ssl/certs/ca-certificates.crt",
                      {},
                      {"--fresh"}};
const Flavour kFedora{"Fedora",
                      "update-ca-trust",
                      "/etc/pki/ca-trust/source/anchors",
                      "/etc/pki/ca-trust/source/anchors/interpose-ca.pem",
                      "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
                      {"extract"},
                      {"extract"}};

// Debian's ca-certificates-java hook copies every CA update-ca-certificates adds into the
// JDK's store, under "debian:" and the link's name.
constexpr const char* kDebianJavaStore = "/etc/ssl/certs/java/cacerts";
constexpr const char* kDebianJavaAlias = "debian:interpose-ca.pem";

// ca-certificates-java's password for that store: changeit unless /etc/default/cacerts sets one.
std::string debianJavaStorepass() {
  std::string config;
  std::string pass = "changeit";
  if (!readWholeFile("/etc/default/cacerts", config)) return pass;
  for (std::string_view line : str::split(config, '\n')) {
    line = str::trim(line);
    if (!line.starts_with("storepass=")) continue;
    line.remove_prefix(10);
    if (line.size() >= 2 && (line.front() == '\'' || line.front() == '"') && line.back() == line.front()) {
      line = line.substr(1, line.size() - 2);
    }
    if (!line.empty()) pass = std::string(line);
  }
  return pass;
}

bool writeFileAtomically(const std::string& path, const std::string& data, std::string& error) {
  std::string tmp = str::cat(path, ".tmp-", getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = str::cat(path, ": cannot create it: ", std::strerror(errno));
    return false;
  }
  // The mode is set explicitly: root's umask may be stricter, and the tools' unprivileged
  // readers (and our own check) need to read the file.
  bool ok = fchmod(fd, 0644) == 0 && write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  int err = errno;
  ok = close(fd) == 0 && ok;
  if (ok && rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    unlink(tmp.c_str());
    error = str::cat(path, ": cannot write it: ", std::strerror(err));
  }
  return ok;
}

class SystemStore : public TrustTarget {
 public:
  explicit SystemStore(std::string rerun_as_root) : rerun_as_root_(std::move(rerun_as_root)) {}

  std::string check() override {
    for (const Flavour* flavour : {&kDebian, &kFedora}) {
      tool_ = findExecutable(flavour->tool);
      // update-ca-trust alone is not enough: Debian ships it (p11-kit) without the anchors tree.
      if (!tool_.empty() && (flavour == &kDebian || isDirectory(flavour->anchor_dir))) {
        flavour_ = flavour;
        break;
      }
    }
    if (flavour_ == nullptr) {
      return str::cat("--system: no supported system trust store: neither update-ca-certificates (Debian, Ubuntu) ",
                      "nor update-ca-trust with /etc/pki/ca-trust/source/anchors (Fedora, RHEL) was found on PATH; ",
                      "install the ca-certificates package, or trust ca.pem in each client");
    }
    if (geteuid() != 0) {
      return str::cat("--system: changing the system trust store needs root: rerun it with sudo: ", rerun_as_root_);
    }
    return "";
  }

  bool apply(const CaCert& ca, bool install) override {
    Reporter report(str::cat("system (", flavour_->name, ")"));
    return install ? add(ca, report) : remove(ca, report);
  }

 private:
  bool bundleTrusts(const CaCert& ca) const {
    std::string bundle;
    return readWholeFile(flavour_->bundle, bundle) && containsCertificate(bundle, ca.der);
  }

  std::vector<std::string> commandLine(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{flavour_->tool};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  // Runs the tool; on success says what it reported (Debian: "1 added, 0 removed; done.").
  bool runTool(const std::vector<std::string>& args, const Reporter& report) const {
    std::vector<std::string> argv = commandLine(args);
    argv[0] = tool_;
    CommandResult result = runCommand(argv, {}, 600);  // hooks (Java's keystore) can be slow
    if (!result.ok()) return report.fail(result.describeFailure(argv));
    std::string summary;
    for (std::string_view line : str::split(result.out, '\n')) {
      if (line.find(" added, ") != std::string_view::npos) summary = str::cat(": ", str::trim(line));
    }
    report.say(str::cat("ran ", str::join(commandLine(args), " "), summary));
    return true;
  }

  // Other files in the anchor directory that hold this CA (e.g. a copy made by hand), which
  // keep it trusted after ours is gone; they are not ours to delete.
  std::vector<std::string> otherCopies(const CaCert& ca) const {
    std::vector<std::string> out;
    DIR* dir = opendir(flavour_->anchor_dir);
    if (dir == nullptr) return out;
    while (dirent* entry = readdir(dir)) {
      std::string path = str::cat(flavour_->anchor_dir, "/", entry->d_name);
      std::string data;
      if (path != flavour_->anchor && entry->d_name[0] != '.' && readWholeFile(path, data) &&
          containsCertificate(data, ca.der)) {
        out.push_back(path);
      }
    }
    closedir(dir);
    return out;
  }

  // The hook is told of additions but never of a local CA's removal (update-ca-certificates
  // only reports removals it made itself), so the JDK would keep trusting the CA.
  bool removeFromDebianJavaStore(const CaCert& ca) const {
    if (flavour_ != &kDebian || !tls::pathExists(kDebianJavaStore)) return true;
    auto store = javaKeystore(kDebianJavaStore, debianJavaStorepass(), kDebianJavaAlias);
    if (std::string problem = store->check(); !problem.empty()) return true;  // no JDK, nothing to clean
    return store->apply(ca, false);
  }

  bool add(const CaCert& ca, const Reporter& report) const {
    std::string current;
    bool present = readWholeFile(flavour_->anchor, current);
    if (present && current == ca.pem && bundleTrusts(ca)) {
      report.say(str::cat("already trusted (", flavour_->anchor, ", in ", flavour_->bundle, ")"));
      return true;
    }
    if (present && current == ca.pem) {
      report.say(str::cat(flavour_->anchor, " is in place but ", flavour_->bundle, " lacks it; rebuilding"));
    } else {
      if (!isDirectory(flavour_->anchor_dir) && mkdir(flavour_->anchor_dir, 0755) != 0) {
        return report.fail(str::cat(flavour_->anchor_dir, ": cannot create it: ", std::strerror(errno)));
      }
      std::string error;
      if (!writeFileAtomically(flavour_->anchor, ca.pem, error)) return report.fail(error);
      report.say(present ? str::cat("replaced ", flavour_->anchor, " (it held another certificate)")
                         : str::cat("installed ", flavour_->anchor));
    }
    if (!runTool(flavour_->install_args, report)) return false;
    if (!bundleTrusts(ca)) {
      return report.fail(str::cat(flavour_->tool, " ran, but ", flavour_->bundle, " does not contain the CA"));
    }
    report.say(str::cat("trusted: ", flavour_->bundle, " contains the CA"));
    return true;
  }

  bool remove(const CaCert& ca, const Reporter& report) const {
    std::string current;
    if (!readWholeFile(flavour_->anchor, current)) {
      report.say(str::cat("not installed (no ", flavour_->anchor, "); nothing to remove"));
    } else if (!containsCertificate(current, ca.der)) {
      // Uninstall takes out only this CA: another one there (a regenerated CA, another
      // --dir) stays trusted until its own uninstall.
      report.say(str::cat("left ", flavour_->anchor, " alone: it holds another certificate, not this CA"));
    } else {
      if (unlink(flavour_->anchor) != 0) {
        return report.fail(str::cat(flavour_->anchor, ": cannot remove it: ", std::strerror(errno)));
      }
      report.say(str::cat("removed ", flavour_->anchor));
      if (!runTool(flavour_->remove_args, report)) return false;
    }
    if (!removeFromDebianJavaStore(ca)) return false;
    if (!bundleTrusts(ca)) return true;
    // Not trusted any more is what uninstall promises; another copy of the CA breaks that.
    std::vector<std::string> others = otherCopies(ca);
    std::string how = str::join(commandLine(flavour_->remove_args), " ");
    if (others.empty()) return report.fail(str::cat(flavour_->bundle, " still contains the CA; run ", how));
    return report.fail(str::cat("the CA stays trusted through ", str::join(others, ", "),
                                ", which interpose did not install; remove it and run ", how));
  }

  std::string rerun_as_root_;
  const Flavour* flavour_ = nullptr;
  std::string tool_;
};

}  // namespace

std::unique_ptr<TrustTarget> systemStore(std::string rerun_as_root) {
  return std::make_unique<SystemStore>(std::move(rerun_as_root));
}

}  // namespace interpose::trust
