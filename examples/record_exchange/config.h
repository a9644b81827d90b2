#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "api/interpose/config_node.h"

namespace record_exchange {

// The record_exchange filter's configuration:
//
//   path: /tmp/exchanges.jsonl   # required: a file (appended), /dev/stdout or /dev/stderr
//   max_body_bytes: 1KiB         # default 0: body sizes only; else the first N bytes too
//   redact_headers: [authorization, cookie]   # values written as "[redacted]"
struct RecordExchangeConfig {
  std::string path;
  uint64_t max_body_bytes = 0;
  // Lower-case names. Recordings end up in files that are easy to share, so credentials
  // are left out unless the config says otherwise (redact_headers: []).
  std::vector<std::string> redact_headers = {"authorization", "proxy-authorization", "cookie", "set-cookie"};

  bool redacted(std::string_view name) const;
};

// Body previews are held in memory until the exchange completes.
inline constexpr uint64_t kMaxBodyPreviewBytes = 1024 * 1024;

// Throws interpose::ConfigError (file:line:col, key path) on unknown keys, a missing path
// and sizes out of range.
RecordExchangeConfig parseConfig(const interpose::ConfigNode& node);

}  // namespace record_exchange
