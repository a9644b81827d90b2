// The interpose command line: serve or validate a config.

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>

#include "api/interpose/strings.h"
#include "source/common/logger.h"
#include "source/common/version.h"
#include "source/config/server_config.h"
#include "source/exe/args.h"
#include "source/exe/ca_command.h"
#include "source/exe/passthrough_command.h"
#include "source/server/server.h"

namespace {

constexpr const char* kUsage = R"(Usage: interpose [options]
       interpose ca init|export|show|install|uninstall [options]   (see 'interpose ca --help')
       interpose passthrough list|forget [HOST[:PORT]|--all] [options]
                                                 (see 'interpose passthrough --help')

An HTTP(S) forward proxy configured in YAML, built from filter chains.

Options:
  -c, --config FILE      YAML config. Without it, the embedded default runs: a forward
                         proxy on 127.0.0.1:8080 that intercepts HTTPS (CONNECT) with a
                         CA it creates on first run in $XDG_DATA_HOME/interpose (else
                         ~/.local/share/interpose; trust its ca.pem), logs one line
                         per request (method, URL, status, bytes, time, flags) to stdout,
                         and serves its admin pages on http://127.0.0.1:9901/
  --mode serve|validate  serve (default), or check the config, print OK or the errors,
                         and exit 0 or 1
  --concurrency N        worker threads (default: one per core)
  --log-level LEVEL      debug, info (default), warn or error
  --print-default-config print the embedded default config and exit
  --version              print the version and exit
  -h, --help             this help

Stop with SIGINT or SIGTERM (or POST /quitquitquit on the admin server): listeners close,
requests in flight finish (up to the config's drain_timeout), and the process exits 0.

Commands:
  ca init|export|show    create, print or describe the interception CA
  passthrough list       hosts the running instance passes through because their clients
                         refused its certificate; 'passthrough forget HOST' intercepts one
                         again (both talk to its admin server)
)";

int usageError(const std::string& message) {
  std::fprintf(stderr, "interpose: %s\nTry 'interpose --help'.\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace interpose;
  // `interpose ca ...` manages the interception CA and has its own options.
  if (argc >= 2 && std::string_view(argv[1]) == "ca") return runCaCommand(argc - 2, argv + 2);
  // `interpose passthrough ...` asks a running instance, through its admin server.
  if (argc >= 2 && std::string_view(argv[1]) == "passthrough") return runPassthroughCommand(argc - 2, argv + 2);
  std::string config_path;
  std::string mode = "serve";
  unsigned concurrency = std::max(1u, std::thread::hardware_concurrency());
  for (ArgReader options(argc, argv, 1); options.next();) {
    const std::string arg = options.name();
    auto next = [&](std::string& out) { return options.value(out); };
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--version") {
      std::printf("interpose %s\n", kVersion);
      return 0;
    } else if (arg == "--print-default-config") {
      std::fwrite(config::kDefaultConfig.data(), 1, config::kDefaultConfig.size(), stdout);
      return 0;
    } else if (arg == "-c" || arg == "--config") {
      if (!next(config_path)) return usageError(arg + " needs a file name");
    } else if (arg == "--mode") {
      if (!next(mode)) return usageError("--mode needs serve or validate");
      if (mode != "serve" && mode != "validate")
        return usageError("--mode must be serve or validate, got '" + mode + "'");
    } else if (arg == "--concurrency") {
      std::string n;
      if (!next(n) || !str::parseInt(n, concurrency) || concurrency < 1 || concurrency > 256) {
        return usageError("--concurrency needs a number from 1 to 256");
      }
    } else if (arg == "--log-level") {
      std::string level;
      log::Level parsed;
      if (!next(level) || !log::parseLevel(level, parsed)) {
        return usageError("--log-level must be debug, info, warn or error");
      }
      log::setLevel(parsed);
    } else {
      return usageError("unknown option '" + arg + "'");
    }
  }

  bool validate_only = mode == "validate";
  auto config = config_path.empty()
                    ? config::parseConfig(config::kDefaultConfig, "<embedded default config>", validate_only)
                    : config::loadConfigFile(config_path, validate_only);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  if (mode == "validate") {
    std::printf("OK\n");
    return 0;
  }
  log::info("interpose ", kVersion, " starting: config ", (*config)->source);
  server::Server server(*config, concurrency);
  auto status = server.run();
  if (!status.ok()) {
    log::error(std::string(status.message()));
    return 1;
  }
  return 0;
}
