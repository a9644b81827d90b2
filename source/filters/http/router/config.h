#pragma once

#include "api/interpose/config_node.h"
#include "api/interpose/factory_context.h"
#include "source/http/upstream_pool.h"
#include "source/http/upstream_tls.h"

namespace interpose::router {

struct RouterConfig {
  http::UpstreamPool::Options pool;
  std::chrono::milliseconds response_timeout{30000};  // request sent to response headers: 504
  std::shared_ptr<const http::UpstreamTls> tls;       // for https:// requests
  WorkerSlot<http::UpstreamPool> pools;               // each worker's pool for this config
  // Requests that came through a CONNECT tunnel pool apart: a destination_policy may treat
  // them differently (`connect:` rules), and a pooled connection is not checked again.
  WorkerSlot<http::UpstreamPool> tunnel_pools;
};

RouterConfig parseRouterConfig(const ConfigNode& config);

}  // namespace interpose::router
