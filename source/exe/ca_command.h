#pragma once

// `interpose ca init|export|show|install|uninstall`: manage the local CA the `ca` cert provider
// mints from, and the stores that trust it.

namespace interpose {

// `argc`/`argv` are the arguments after `ca`. Returns the process exit code: 0 on success,
// 1 on failure, 2 on a usage error.
int runCaCommand(int argc, char** argv);

}  // namespace interpose
