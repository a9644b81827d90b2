#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/interpose/cert_provider.h"
#include "api/interpose/destination_policy.h"
#include "source/config/admin_config.h"
#include "source/network/connection.h"
#include "source/network/filter_chain.h"

namespace interpose::config {

struct ListenerConfig {
  std::string name;
  std::string address_text;
  boost::asio::ip::tcp::endpoint address;
  uint32_t buffer_limit = 1024 * 1024;                          // per connection and direction: the high watermark
  bool allow_open_proxy = false;                                // a non-loopback address was asked for on purpose
  bool inspect_tls = false;                                     // listener_filters: [tls_inspector]
  std::shared_ptr<const DestinationPolicy> destination_policy;  // null: everything allowed
  std::vector<network::FilterChain> filter_chains;
};

struct ServerConfig {
  std::string source;  // file name, or "<embedded default>"
  std::string text;    // the YAML it was parsed from (the admin server dumps and hashes it)
  AdminConfig admin;
  std::vector<std::shared_ptr<CertProvider>> cert_providers;
  std::vector<ListenerConfig> listeners;
  std::chrono::milliseconds drain_timeout{5000};
  // State the filters share and that may outlive this config (see FactoryContext).
  std::shared_ptr<std::map<std::string, std::shared_ptr<void>, std::less<>>> shared_state;
};

// Parses and validates a whole config, running every filter factory on its own `config`.
// Errors read "FILE:LINE:COLUMN: KEY.PATH: what was expected".
// With `validate_only`, nothing is created on disk (a CA that would be generated is not).
absl::StatusOr<std::shared_ptr<const ServerConfig>> parseConfig(std::string_view yaml, const std::string& file,
                                                                bool validate_only = false);
absl::StatusOr<std::shared_ptr<const ServerConfig>> loadConfigFile(const std::string& path, bool validate_only = false);

// The config used when no -c is given: a forward proxy on 127.0.0.1:8080 that intercepts
// every CONNECT with a CA generated on first run, and logs every request to stdout; its
// admin server listens on 127.0.0.1:9901.
extern const std::string_view kDefaultConfig;

}  // namespace interpose::config
