#pragma once

// `interpose ca install|uninstall`: make the OS, the browsers' NSS databases or a Java
// keystore trust the interception CA (or stop trusting it), one command per machine
// instead of a page of instructions per client. Only stores that can be changed without a
// GUI are offered; each run prints what it changed.

#include <string>
#include <vector>

namespace interpose {

struct TrustTargets {
  bool system = false;                      // --system
  bool nss_defaults = false;                // --nss: Chromium's database and Firefox profiles
  std::vector<std::string> nss_dirs;        // --nss DIR (repeatable)
  std::vector<std::string> java_keystores;  // --java KEYSTORE (repeatable)
  std::string storepass = "changeit";       // --storepass: the JDK's default for cacerts

  bool empty() const { return !system && !nss_defaults && nss_dirs.empty() && java_keystores.empty(); }
};

// The CA directory `ca install|uninstall` uses when no --dir is given: the default one, but
// under sudo (root, $SUDO_USER set) the invoking user's, since it is their proxy's CA that
// `sudo interpose ca install --system` means and sudo has pointed $HOME at root's.
std::string caDirForTrustCommands();

// Installs (or with `install` false removes) the CA in `ca_dir`/ca.pem in every target.
// Everything that can be checked before a change (tools on PATH, root) is checked first.
// Returns 0 when every target ended in the wanted state (also when nothing had to change),
// else 1 after printing each error.
int runTrustCommand(bool install, const std::string& ca_dir, const TrustTargets& targets);

}  // namespace interpose
