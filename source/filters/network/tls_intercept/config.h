#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "api/interpose/cert_provider.h"
#include "api/interpose/config_node.h"
#include "api/interpose/factory_context.h"
#include "source/network/rejection_memory.h"

namespace interpose::tls_intercept {

struct TlsInterceptConfig {
  std::shared_ptr<CertProvider> provider;
  std::vector<std::string> alpn = {"h2", "http/1.1"};  // offered to clients, in preference order
  std::string alpn_wire;                               // the same, length-prefixed
  std::string default_server_name;                     // when neither SNI nor CONNECT host is usable
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds remember_rejections{0};  // 0: don't learn pinned hosts
  bssl::UniquePtr<SSL_CTX> ctx;                      // shared by every connection of this config
  // Hosts whose clients refused our certificate: shared with the chain matcher
  // (interception_rejected) and with every other tls_intercept config.
  std::shared_ptr<network::RejectionMemory> rejections;
};

// Parses the filter config and builds its SSL_CTX (throws ConfigError).
std::shared_ptr<TlsInterceptConfig> parseTlsInterceptConfig(const ConfigNode& config, FactoryContext& context);

}  // namespace interpose::tls_intercept
