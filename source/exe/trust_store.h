#pragma once

// What the `ca install|uninstall` targets share: the CA being trusted, the target
// interface, and the way each reports what it did. Internal to source/exe.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "source/exe/run_command.h"

namespace interpose::trust {

struct CaCert {
  std::string path;         // the ca.pem being installed
  std::string der;          // its certificate, to recognise it in a store whatever the encoding
  std::string pem;          // the same, PEM-encoded: what is copied into stores
  std::string sha256;       // lowercase hex, no separators
  std::string common_name;  // for messages
};

// The DER of every PEM certificate in `pem` (bundles, certutil -a and keytool -rfc output).
std::vector<std::string> pemCertificatesDer(std::string_view pem);
bool containsCertificate(std::string_view pem, const std::string& der);

// Prints "LABEL: message" lines: what changed on stdout, errors on stderr. Every line names
// its store, so a run over several stores reads as a list of changes.
class Reporter {
 public:
  explicit Reporter(std::string label) : label_(std::move(label)) {}
  void say(std::string_view message) const;
  // Prints the error and returns false, for `return report.fail(...)`.
  bool fail(std::string_view message) const;
  const std::string& label() const { return label_; }

 private:
  std::string label_;
};

class TrustTarget {
 public:
  virtual ~TrustTarget() = default;
  // What must hold before anything changes (a tool on PATH, root); "" when ready. Checked
  // for every target first, so a missing tool never leaves the stores half changed.
  virtual std::string check() = 0;
  // Puts the CA in the store (or takes it out), printing what changed; false after an error.
  virtual bool apply(const CaCert& ca, bool install) = 0;
};

// `rerun_as_root`: the command to suggest when not root.
std::unique_ptr<TrustTarget> systemStore(std::string rerun_as_root);
std::unique_ptr<TrustTarget> nssDatabases(bool defaults, std::vector<std::string> dirs);
// A fixed alias: a regenerated CA replaces the old one under it.
inline constexpr const char* kJavaAlias = "interpose-ca";
std::unique_ptr<TrustTarget> javaKeystore(std::string keystore, std::string storepass, std::string alias = kJavaAlias);

// Reads a whole file; false when it cannot be read (missing included).
bool readWholeFile(const std::string& path, std::string& out);
bool isDirectory(const std::string& path);

}  // namespace interpose::trust
