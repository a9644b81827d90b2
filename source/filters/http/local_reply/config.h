#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "api/interpose/config_node.h"
#include "api/interpose/header_map.h"
#include "api/interpose/route.h"

namespace interpose::local_reply {

// What the local_reply filter answers with, parsed once at config load. The same type is
// the filter's chain-level config and its per-route config (per_filter_config), so a route
// can replace the chain's reply, or switch it off with `{}`.
//
//   status: 403                                   # 100-599, not 1xx; required unless {}
//   headers: { content-type: application/json }   # replaces the default text/plain
//   body: '{"blocked": true}'                     # or body_file: /path (read at load)
//   details: blocked_tracker                      # %RESPONSE_CODE_DETAILS%; default local_reply
struct LocalReplyConfig : public RouteSpecificFilterConfig {
  // False for an absent or empty config: the filter lets requests through.
  bool replies = false;
  int status = 0;
  HeaderMap headers;
  std::string body;
  std::string details = "local_reply";
};

// body_file larger than this is a config error: the body is held in memory for the
// lifetime of the config, once per route that names it.
inline constexpr size_t kMaxBodyFileBytes = 16 * 1024 * 1024;

// Throws ConfigError (file:line:col and key path) on unknown keys, a status outside
// 200-599 (1xx is interim), invalid header names or values, headers the proxy owns (framing and
// connection management), both body and body_file, an unreadable or oversized body_file,
// and a body on a status that cannot carry one (204, 304).
std::shared_ptr<const LocalReplyConfig> parseConfig(const ConfigNode& node);

}  // namespace interpose::local_reply
