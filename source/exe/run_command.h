#pragma once

// Runs an external program (certutil, keytool, update-ca-certificates) to completion and
// keeps what it printed, so that a failure can be reported with the program's own words.

#include <string>
#include <utility>
#include <vector>

namespace interpose {

struct CommandResult {
  // The exit status; -1 when the program could not be started, was killed by a signal or
  // ran past the timeout (`error` then says which).
  int exit_code = -1;
  std::string out;
  std::string err;
  std::string error;

  bool ok() const { return exit_code == 0; }
  // "`certutil -A ...` failed (exit 255): <stderr, else stdout>", for messages.
  std::string describeFailure(const std::vector<std::string>& argv) const;
};

// The program's full path from a search of $PATH (the usual default when unset); "" when it
// is not there. `name` with a slash is returned as it is if it is executable.
std::string findExecutable(const std::string& name);

// Runs argv[0] (a full path, see findExecutable) with stdin from /dev/null, so that a program
// that wants to prompt (certutil for a database password) fails instead of waiting forever.
// `env` entries ("NAME=value") are added to, or replace, this process's environment: that is
// how a secret reaches a child without appearing in its command line.
CommandResult runCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                         int timeout_seconds = 120);

}  // namespace interpose
