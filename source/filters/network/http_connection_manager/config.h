#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "api/interpose/http_filter.h"
#include "source/http/filter_manager.h"
#include "source/http/route_table.h"

namespace interpose::hcm {

struct HcmConfig {
  std::string codec = "auto";  // auto (ALPN h2 or the HTTP/2 preface -> HTTP/2, else HTTP/1.1) | http1 | http2
  size_t max_request_headers = 64 * 1024;
  std::chrono::milliseconds request_headers_timeout{10000};  // first byte to end of headers: 408
  std::chrono::milliseconds idle_timeout{300000};            // no stream active: close quietly
  std::string via;                                           // empty: no Via header
  // Upgrade tokens (lower-case) forwarded to origins; any other Upgrade is dropped and the
  // request goes on as plain HTTP (as a server that does not take the upgrade would).
  std::vector<std::string> upgrade_types = {"websocket"};
  std::chrono::milliseconds upgrade_idle_timeout{3600000};  // an upgraded stream with no bytes
  std::vector<http::FilterManager::FilterSpec> filters;
  std::shared_ptr<const http::RouteTable> routes;  // null: no route table, every request goes on
};

// Parses `config` (throws ConfigError): unknown filters, a chain without a terminal filter
// last, or a terminal filter elsewhere are errors.
HcmConfig parseHcmConfig(const ConfigNode& config, FactoryContext& context);

}  // namespace interpose::hcm
