#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "api/interpose/config_node.h"

namespace interpose::config {

// The `admin:` block: where the admin server listens and the bearer token it asks for.
struct AdminConfig {
  bool enabled = false;  // `admin.address` is set
  std::string address_text;
  boost::asio::ip::tcp::endpoint address;
  // Empty: no token asked for (only allowed on a loopback address). From `token`, or read from
  // `token_file` when the config loads.
  std::string token;
};

// Parses the `admin:` map (absent: admin off). Throws ConfigError ("FILE:LINE:COL: admin.KEY:
// ..."). A non-loopback address without a token is refused: the admin server can stop the
// proxy and read its config.
AdminConfig parseAdminConfig(const ConfigNode& admin);

// The admin block of the config file at `path` alone (for `interpose passthrough`, which talks
// to the instance running with that config); errors as loadConfigFile's.
absl::StatusOr<AdminConfig> loadAdminConfig(const std::string& path);

// A token as `token` or `token_file` would give it: the file's text without trailing newlines.
// Errors name the file.
absl::StatusOr<std::string> readTokenFile(const std::string& path);

}  // namespace interpose::config
