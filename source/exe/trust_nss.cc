// --nss: the NSS databases Chromium ($HOME/.pki/nssdb) and Firefox (one per profile) read
// their user-added trust from, changed with NSS's own certutil.

#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "api/interpose/strings.h"
#include "source/exe/trust_store.h"
#include "source/tls/ca_files.h"

namespace interpose::trust {
namespace {

// "C,,": a trusted CA for TLS servers, nothing for S/MIME or code signing.
constexpr const char* kTrust = "C,,";

struct Database {
  std::string dir;    // holds cert9.db; certutil gets "sql:" + dir
  std::string label;  // which program reads it, for messages; "" for one given as --nss DIR
  bool may_create;    // install may create it (Chromium's, or a directory the user named)
};

struct Entry {
  std::string nickname;
  std::string trust;  // "SSL,S/MIME,JAR" flags, e.g. "C,,"
};

// Our nickname carries the CA's fingerprint rather than being fixed: NSS refuses a second
// certificate with another subject under a nickname in use, so a regenerated CA could not
// be added under the old name, and two CAs (two --dir) can be trusted side by side.
std::string nicknameFor(const CaCert& ca) { return str::cat("Interpose CA (", ca.sha256.substr(0, 16), ")"); }

bool looksLikeTrust(std::string_view token) {
  size_t commas = 0;
  for (char c : token) {
    if (c == ',') {
      ++commas;
    } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
      return false;
    }
  }
  return commas == 2;
}

// `certutil -L` prints a header, then one "NICKNAME<spaces>TRUST" line per certificate.
std::vector<Entry> parseListing(std::string_view listing) {
  std::vector<Entry> out;
  for (std::string_view line : str::split(listing, '\n')) {
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
    size_t space = line.find_last_of(" \t");
    if (space == std::string_view::npos || !looksLikeTrust(line.substr(space + 1))) continue;
    std::string_view nickname = str::trim(line.substr(0, space));
    if (nickname.empty()) continue;
    bool seen = false;
    for (const Entry& e : out) seen = seen || e.nickname == nickname;
    if (!seen) out.push_back({std::string(nickname), std::string(line.substr(space + 1))});
  }
  return out;
}

bool makeDirs(const std::string& dir) {
  if (dir.empty() || isDirectory(dir)) return true;
  size_t slash = dir.rfind('/');
  if (slash != std::string::npos && slash > 0 && !makeDirs(dir.substr(0, slash))) return false;
  return mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST;
}

class NssDatabases : public TrustTarget {
 public:
  NssDatabases(bool defaults, std::vector<std::string> dirs) : defaults_(defaults), dirs_(std::move(dirs)) {}

  std::string check() override {
    certutil_ = findExecutable("certutil");
    if (certutil_.empty()) {
      return "--nss: certutil not found on PATH: install libnss3-tools (Debian, Ubuntu) or nss-tools (Fedora, RHEL)";
    }
    for (const std::string& given : dirs_) {
      std::string dir = tls::expandHome(std::string_view(given).starts_with("sql:") ? given.substr(4) : given);
      if (!isDirectory(dir)) return str::cat("--nss ", given, ": not a directory");
      databases_.push_back({dir, "", true});
    }
    if (!defaults_) return "";
    const char* sudo_user = std::getenv("SUDO_USER");
    if (geteuid() == 0 && sudo_user != nullptr && sudo_user[0] != '\0' && std::string_view(sudo_user) != "root") {
      // Under sudo these would be root's databases, or root-owned files in the user's that
      // their browser can no longer write.
      return "--nss: run it without sudo: it changes your own browsers' databases (or give --nss DIR)";
    }
    const char* home = std::getenv("HOME");
    if (home == nullptr || home[0] != '/') return "--nss: HOME is unset; give --nss DIR";
    databases_.push_back({str::cat(home, "/.pki/nssdb"), "Chromium", true});
    // Firefox keeps one database per profile; the snap's profiles live under ~/snap.
    for (const char* pattern : {"/.mozilla/firefox/*/cert9.db", "/snap/firefox/common/.mozilla/firefox/*/cert9.db"}) {
      glob_t found{};
      if (glob(str::cat(home, pattern).c_str(), 0, nullptr, &found) == 0) {
        for (size_t i = 0; i < found.gl_pathc; ++i) {
          std::string dir(found.gl_pathv[i]);
          dir.resize(dir.rfind('/'));
          databases_.push_back({dir, str::cat("Firefox profile ", dir.substr(dir.rfind('/') + 1)), false});
        }
      }
      globfree(&found);
    }
    firefox_found_ = databases_.size() > dirs_.size() + 1;
    return "";
  }

  bool apply(const CaCert& ca, bool install) override {
    bool ok = true;
    for (const Database& db : databases_) ok = applyTo(db, ca, install) && ok;
    if (defaults_ && !firefox_found_) {
      Reporter("nss").say("no Firefox profile (no ~/.mozilla/firefox/*/cert9.db); Firefox not changed");
    }
    return ok;
  }

 private:
  CommandResult certutil(const Database& db, std::vector<std::string> args,
                         std::vector<std::string>* argv_out = nullptr) const {
    std::vector<std::string> argv{certutil_, "-d", str::cat("sql:", db.dir)};
    argv.insert(argv.end(), args.begin(), args.end());
    if (argv_out != nullptr) *argv_out = argv;
    return runCommand(argv);
  }

  // Runs certutil; on failure reports it (with certutil's stderr) and returns false.
  bool certutilOk(const Database& db, std::vector<std::string> args, const Reporter& report) const {
    std::vector<std::string> argv;
    CommandResult result = certutil(db, std::move(args), &argv);
    if (result.ok()) return true;
    std::string hint;
    if (result.err.find("SEC_ERROR_BAD_PASSWORD") != std::string::npos) {
      hint = " (the database has a password, which interpose never asks for: run certutil yourself)";
    }
    return report.fail(str::cat(result.describeFailure(argv), hint));
  }

  // Which entry holds our certificate, whatever its nickname (one imported by hand keeps
  // the nickname it was given, and NSS will not add it again under ours).
  bool find(const Database& db, const CaCert& ca, const Reporter& report, std::optional<Entry>& ours,
            std::vector<std::string>& other_interpose) const {
    std::vector<std::string> argv;
    CommandResult listing = certutil(db, {"-L"}, &argv);
    if (!listing.ok()) return report.fail(listing.describeFailure(argv));
    ours.reset();
    other_interpose.clear();
    for (const Entry& entry : parseListing(listing.out)) {
      CommandResult pem = certutil(db, {"-L", "-n", entry.nickname, "-a"});
      if (pem.ok() && containsCertificate(pem.out, ca.der)) {
        ours = entry;
      } else if (entry.nickname.starts_with("Interpose CA (")) {
        other_interpose.push_back(entry.nickname);
      }
    }
    return true;
  }

  bool applyTo(const Database& db, const CaCert& ca, bool install) const {
    Reporter report(str::cat("nss sql:", db.dir, db.label.empty() ? "" : str::cat(" (", db.label, ")")));
    if (!tls::pathExists(str::cat(db.dir, "/cert9.db"))) {
      if (!install || !db.may_create) {
        report.say("no NSS database (cert9.db) here; nothing to remove");
        return true;
      }
      if (!makeDirs(db.dir)) return report.fail(str::cat("cannot create the directory: ", std::strerror(errno)));
      // Chromium creates this database on first start too, without a password; so do we.
      if (!certutilOk(db, {"-N", "--empty-password"}, report)) return false;
      report.say("created the NSS database (no password, as Chromium makes it)");
    }
    std::optional<Entry> ours;
    std::vector<std::string> others;
    if (!find(db, ca, report, ours, others)) return false;
    bool ok = install ? add(db, ca, report, ours) : remove(db, ca, report, ours);
    for (const std::string& nickname : others) {
      report.say(str::cat("note: \"", nickname, "\" is another Interpose CA (not ", ca.path,
                          "); remove it with: certutil -D -d sql:", db.dir, " -n '", nickname, "'"));
    }
    return ok;
  }

  bool add(const Database& db, const CaCert& ca, const Reporter& report, const std::optional<Entry>& ours) const {
    if (ours && ours->trust.substr(0, ours->trust.find(',')).find('C') != std::string::npos) {
      report.say(str::cat("already trusted (as \"", ours->nickname, "\", trust ", ours->trust, ")"));
      return true;
    }
    if (ours) {
      // Present but not trusted for TLS: set the SSL flags, keep S/MIME and code signing.
      std::string trust = str::cat("C", ours->trust.substr(ours->trust.find(',')));
      if (!certutilOk(db, {"-M", "-n", ours->nickname, "-t", trust}, report)) return false;
      report.say(str::cat("trust of \"", ours->nickname, "\" set to ", trust, " (a CA for TLS servers)"));
      return true;
    }
    std::string nickname = nicknameFor(ca);
    if (!certutilOk(db, {"-A", "-n", nickname, "-t", kTrust, "-i", ca.path}, report)) {
      // A failed trust change can leave the certificate behind without trust (certutil adds
      // it before it authenticates to a password-protected database): take it out again.
      certutil(db, {"-D", "-n", nickname});
      return false;
    }
    std::optional<Entry> added;
    std::vector<std::string> ignored;
    if (!find(db, ca, report, added, ignored)) return false;
    if (!added) return report.fail(str::cat("certutil -A succeeded, but the CA is not listed"));
    report.say(str::cat("added \"", added->nickname, "\" with trust ", added->trust, " (a CA for TLS servers)"));
    return true;
  }

  bool remove(const Database& db, const CaCert& ca, const Reporter& report, const std::optional<Entry>& ours) const {
    if (!ours) {
      report.say("not trusted here; nothing to remove");
      return true;
    }
    if (!certutilOk(db, {"-D", "-n", ours->nickname}, report)) return false;
    std::optional<Entry> left;
    std::vector<std::string> ignored;
    if (!find(db, ca, report, left, ignored)) return false;
    if (left) return report.fail(str::cat("certutil -D succeeded, but \"", left->nickname, "\" is still listed"));
    report.say(str::cat("removed \"", ours->nickname, "\""));
    return true;
  }

  bool defaults_;
  std::vector<std::string> dirs_;
  std::vector<Database> databases_;
  std::string certutil_;
  bool firefox_found_ = false;
};

}  // namespace

std::unique_ptr<TrustTarget> nssDatabases(bool defaults, std::vector<std::string> dirs) {
  return std::make_unique<NssDatabases>(defaults, std::move(dirs));
}

}  // namespace interpose::trust
