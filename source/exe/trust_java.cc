// --java KEYSTORE: a Java keystore (the JDK's cacerts, or a truststore given to a JVM with
// -Djavax.net.ssl.trustStore), changed with the JDK's keytool.

#include "api/interpose/strings.h"
#include "source/exe/trust_store.h"
#include "source/tls/ca_files.h"

namespace interpose::trust {
namespace {

// keytool reads the store password from this variable of its own environment
// (-storepass:env), so the password never appears in keytool's command line.
constexpr const char* kPassVar = "INTERPOSE_KEYTOOL_STOREPASS";

class JavaKeystore : public TrustTarget {
 public:
  JavaKeystore(std::string keystore, std::string storepass, std::string alias)
      : keystore_(tls::expandHome(keystore)), storepass_(std::move(storepass)), alias_(std::move(alias)) {}

  std::string check() override {
    keytool_ = findExecutable("keytool");
    if (keytool_.empty()) {
      return "--java: keytool not found on PATH: install a Java runtime (Debian: openjdk-17-jre-headless)";
    }
    return "";
  }

  bool apply(const CaCert& ca, bool install) override {
    Reporter report(str::cat("java ", keystore_));
    bool exists = tls::pathExists(keystore_);
    if (!exists && !install) {
      report.say("no such keystore; nothing to remove");
      return true;
    }
    std::string current;  // the certificate under our alias, PEM; "" when there is none
    if (exists && !exportAlias(current, report)) return false;
    bool ours = !current.empty() && containsCertificate(current, ca.der);
    if (install && ours) {
      report.say(str::cat("already trusted (alias ", alias_, ")"));
      return true;
    }
    if (!install && current.empty()) {
      report.say(str::cat("not trusted here (no alias ", alias_, "); nothing to remove"));
      return true;
    }
    if (!install && !ours) {
      // Only this CA comes out: another one under our alias stays until its own uninstall.
      report.say(str::cat("left alias ", alias_, " alone: it holds another certificate, not this CA"));
      return true;
    }
    if (!current.empty()) {
      if (!keytool({"-delete", "-alias", alias_}, report)) return false;
      if (!install) {
        report.say(str::cat("removed alias ", alias_));
        return true;
      }
    }
    if (!keytool({"-importcert", "-noprompt", "-alias", alias_, "-file", ca.path}, report)) return false;
    std::string now;
    if (!exportAlias(now, report)) return false;
    if (!containsCertificate(now, ca.der))
      return report.fail(str::cat("keytool imported, but alias ", alias_, " differs"));
    report.say(str::cat(!exists           ? "created the keystore and imported the CA as alias "
                        : current.empty() ? "imported the CA as alias "
                                          : "replaced the certificate under alias ",
                        alias_));
    return true;
  }

 private:
  CommandResult run(std::vector<std::string> args, std::vector<std::string>& argv) const {
    // English messages whatever the locale: a missing alias is recognised by its text.
    argv = {keytool_, "-J-Duser.language=en"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"-keystore", keystore_, "-storepass:env", kPassVar});
    return runCommand(argv, {str::cat(kPassVar, "=", storepass_)});
  }

  bool keytool(std::vector<std::string> args, const Reporter& report) const {
    std::vector<std::string> argv;
    CommandResult result = run(std::move(args), argv);
    return result.ok() || report.fail(result.describeFailure(argv));
  }

  // The PEM under our alias, "" when the alias does not exist; false on other errors (a wrong
  // password, a file that is not a keystore).
  bool exportAlias(std::string& pem, const Reporter& report) const {
    std::vector<std::string> argv;
    CommandResult result = run({"-exportcert", "-rfc", "-alias", alias_}, argv);
    pem.clear();
    if (result.ok()) {
      pem = result.out;
      return true;
    }
    // keytool has no exit code of its own for a missing alias; its message is the only sign.
    if (result.out.find(str::cat("Alias <", alias_, "> does not exist")) != std::string::npos) return true;
    return report.fail(result.describeFailure(argv));
  }

  std::string keystore_;
  std::string storepass_;
  std::string alias_;
  std::string keytool_;
};

}  // namespace

std::unique_ptr<TrustTarget> javaKeystore(std::string keystore, std::string storepass, std::string alias) {
  return std::make_unique<JavaKeystore>(std::move(keystore), std::move(storepass), std::move(alias));
}

}  // namespace interpose::trust
