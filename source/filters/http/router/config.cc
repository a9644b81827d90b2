#include "source/filters/http/router/config.h"

namespace interpose::router {

RouterConfig parseRouterConfig(const ConfigNode& config) {
  config.expectMap({"connect_timeout", "response_timeout", "upstream_idle_timeout", "dns_cache_ttl",
                    "max_idle_connections_per_origin", "max_connections_per_origin", "max_pending_requests_per_origin",
                    "buffer_limit", "upstream_tls"});
  RouterConfig out;
  out.pool.connect_timeout = config.duration("connect_timeout", out.pool.connect_timeout);
  out.response_timeout = config.duration("response_timeout", out.response_timeout);
  out.pool.idle_timeout = config.duration("upstream_idle_timeout", out.pool.idle_timeout);
  out.pool.dns_ttl = config.duration("dns_cache_ttl", out.pool.dns_ttl);
  out.pool.max_idle_per_origin = static_cast<size_t>(
      config.integer("max_idle_connections_per_origin", static_cast<int64_t>(out.pool.max_idle_per_origin), 0, 100000));
  out.pool.max_connections_per_origin = static_cast<size_t>(config.integer(
      "max_connections_per_origin", static_cast<int64_t>(out.pool.max_connections_per_origin), 1, 100000));
  out.pool.max_pending_per_origin = static_cast<size_t>(config.integer(
      "max_pending_requests_per_origin", static_cast<int64_t>(out.pool.max_pending_per_origin), 0, 1000000));
  out.pool.buffer_limit = static_cast<uint32_t>(config.bytes("buffer_limit", out.pool.buffer_limit));
  if (out.pool.buffer_limit < 16 * 1024 || out.pool.buffer_limit > 64 * 1024 * 1024) {
    config.child("buffer_limit").fail("expected a size between 16KiB and 64MiB");
  }
  if (out.pool.connect_timeout.count() == 0) config.child("connect_timeout").fail("must be greater than 0");
  if (out.response_timeout.count() == 0) config.child("response_timeout").fail("must be greater than 0");
  out.tls = http::UpstreamTls::parse(config.child("upstream_tls"));
  return out;
}

}  // namespace interpose::router
