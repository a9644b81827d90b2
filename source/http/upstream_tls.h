#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>

#include "api/interpose/config_node.h"
#include "source/http/tls_session_cache.h"

namespace interpose::http {

// How the router talks TLS to https origins: whom it trusts, whether it checks, which client
// certificate it shows, and which sessions it can resume. One SSL_CTX and one session cache
// per config, shared by every worker.
class UpstreamTls {
 public:
  static constexpr const char* kSystemTrustStore = "/etc/ssl/certs/ca-certificates.crt";

  // Parses `upstream_tls:` (absent: verify against the system trust store). Throws ConfigError.
  static std::shared_ptr<const UpstreamTls> parse(const ConfigNode& node);

  static constexpr int64_t kDefaultSessionCacheSize = 1024;

  // A TLS client for `host` (a DNS name or IP literal) at `port`: SNI for names, the peer's
  // certificate checked against the trust store and the name or address, and a session of
  // an earlier connection to the same origin offered for resumption when there is one.
  bssl::UniquePtr<SSL> newClient(const std::string& host, uint16_t port) const;
  bool verify() const { return verify_; }
  // This config offering only HTTP/1.1 by ALPN (same trust, same sessions), for requests
  // that must not go over HTTP/2 (protocol upgrades).
  const UpstreamTls* http1Only() const { return http1_view_ ? http1_view_.get() : this; }
  bool isHttp1Only() const { return http1_only_; }
  // Null when session resumption is off (session_cache_size: 0).
  const std::shared_ptr<TlsSessionCache>& sessions() const { return sessions_; }
  // How sessions() names an origin.
  static std::string originKey(const std::string& host, uint16_t port);

 private:
  bssl::UniquePtr<SSL_CTX> ctx_;
  bool verify_ = true;
  // Shared with every SSL this config made, through its ex_data: a pooled connection can
  // receive a new ticket after the config that made it is gone.
  std::shared_ptr<TlsSessionCache> sessions_;
  bool http1_only_ = false;
  std::unique_ptr<UpstreamTls> http1_view_;
};

}  // namespace interpose::http
