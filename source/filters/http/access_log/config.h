#pragma once

#include <memory>
#include <string>

#include "api/interpose/config_node.h"
#include "source/filters/http/access_log/formatter.h"

namespace interpose::access_log {

// The access_log filter's configuration:
//
//   path: /var/log/interpose/access.log   # default /dev/stdout; "-" is stdout too
//   format: text                          # text (default) or json
//   text_format: "%REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE%\n"
//   json_format:                          # format: json only; implies it when format is unset
//     method: "%REQ(:METHOD)%"
//     status: "%RESPONSE_CODE%"
struct AccessLogConfig {
  std::string path;
  // Compiled here, so a bad format string is a config error with its location.
  std::shared_ptr<const Formatter> formatter;
};

// Throws ConfigError (file:line:col and key path) on unknown keys, bad values, format
// strings that do not compile, and text options mixed with JSON ones.
AccessLogConfig parse(const ConfigNode& node);

}  // namespace interpose::access_log
