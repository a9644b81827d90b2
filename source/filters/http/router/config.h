#pragma once

#include "api/interpose/config_node.h"
#include "source/http/upstream_pool.h"

namespace interpose::router {

struct RouterConfig {
  http::UpstreamPool::Options pool;
  std::chrono::milliseconds response_timeout{30000};  // request sent to response headers: 504
};

RouterConfig parseRouterConfig(const ConfigNode& config);

}  // namespace interpose::router
