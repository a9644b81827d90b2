#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "api/interpose/config_node.h"

namespace interpose::http {

// How the router talks TLS to https origins: whom it trusts, whether it checks, and which
// client certificate it shows. One SSL_CTX per config, shared by every worker.
class UpstreamTls {
 public:
  static constexpr const char* kSystemTrustStore = "/etc/ssl/certs/ca-certificates.crt";

  // Parses `upstream_tls:` (absent: verify against the system trust store). Throws ConfigError.
  static std::shared_ptr<const UpstreamTls> parse(const ConfigNode& node);

  // A client session for `host` (a DNS name or IP literal): SNI for names, and the peer's
  // certificate checked against the trust store and the name or address.
  bssl::UniquePtr<SSL> newSession(const std::string& host) const;
  bool verify() const { return verify_; }

 private:
  bssl::UniquePtr<SSL_CTX> ctx_;
  bool verify_ = true;
};

}  // namespace interpose::http
