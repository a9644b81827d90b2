#pragma once

// `interpose passthrough list|forget`: the hosts a running interpose learned to pass through
// (their clients refused our certificate), read and forgotten through its admin server.

namespace interpose {

// `argc`/`argv` are the arguments after `passthrough`. Returns the exit code: 0 on success, 1
// on failure (no admin server, nothing to forget, ...), 2 on a usage error.
int runPassthroughCommand(int argc, char** argv);

}  // namespace interpose
