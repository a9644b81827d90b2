#include "source/config/server_config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "api/interpose/strings.h"

namespace interpose::config {
namespace {

constexpr const char* kValid = R"(drain_timeout: 3s
listeners:
  - name: proxy
    address: 127.0.0.1:18080
    buffer_limit: 256KiB
    filter_chains:
      - name: tunnels
        match: { tunneled: true, destination_port: 443, server_names: ["*.example.com"], source_cidrs: [127.0.0.0/8] }
        filters:
          - name: tcp_proxy
            config: { connect_timeout: 2s }
      - filters:
          - name: http_connection_manager
            config:
              max_request_headers: 32KiB
              timeouts: { request_headers: 5s, idle: 1m }
              via: interpose
              http_filters:
                - name: access_log
                  config: { format: json, path: /dev/null }
                - name: router
                  config: { connect_timeout: 1s, response_timeout: 10s }
)";

TEST(ServerConfigTest, ParsesAValidConfig) {
  auto config = parseConfig(kValid, "valid.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  const ServerConfig& c = **config;
  EXPECT_EQ(c.drain_timeout, std::chrono::seconds(3));
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].address.port(), 18080);
  EXPECT_EQ(c.listeners[0].buffer_limit, 256u * 1024);
  ASSERT_EQ(c.listeners[0].filter_chains.size(), 2u);
  const auto& m = c.listeners[0].filter_chains[0].match;
  EXPECT_EQ(*m.destination_port, 443);
  EXPECT_EQ(m.server_names[0], "*.example.com");
  EXPECT_TRUE(*m.tunneled);
  EXPECT_EQ(m.source_cidrs.size(), 1u);
}

TEST(ServerConfigTest, EmbeddedDefaultIsValid) {
  // The default CA lives under $XDG_DATA_HOME; validation must not create it.
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string data_home = std::string(tmp ? tmp : "/tmp") + "/xdg-default-test";
  setenv("XDG_DATA_HOME", data_home.c_str(), 1);
  auto config = parseConfig(kDefaultConfig, "<default>", /*validate_only=*/true);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ((*config)->listeners[0].address_text, "127.0.0.1:8080");  // loopback by default
  EXPECT_FALSE(std::filesystem::exists(data_home + "/interpose/ca.key"));
}

// No open proxy by accident: a listener other machines can reach needs allow_open_proxy.
TEST(ServerConfigTest, NonLoopbackListenerNeedsAllowOpenProxy) {
  auto config = [](const std::string& address, const std::string& extra) {
    return parseConfig(str::cat("listeners:\n  - name: p\n    address: ", address, "\n", extra,
                                "    filter_chains: [ { filters: [ { name: http_connection_manager } ] } ]\n"),
                       "open.yaml", /*validate_only=*/true);
  };
  auto refused = config("0.0.0.0:3128", "");
  ASSERT_FALSE(refused.ok());
  std::string message(refused.status().message());
  EXPECT_EQ(message.rfind("open.yaml:3:14: listeners[0].address: 0.0.0.0:3128 is reachable from other machines", 0), 0u)
      << message;
  EXPECT_NE(message.find("set allow_open_proxy: true"), std::string::npos) << message;
  auto v6 = config("\"[::]:3128\"", "");
  ASSERT_FALSE(v6.ok());
  EXPECT_NE(std::string(v6.status().message()).find("is reachable from other machines"), std::string::npos);
  EXPECT_FALSE(config("192.0.2.10:3128", "").ok());
  EXPECT_TRUE(config("0.0.0.0:3128", "    allow_open_proxy: true\n").ok());
  EXPECT_TRUE(config("127.0.0.2:3128", "").ok());  // all of 127/8 is loopback
  EXPECT_TRUE(config("\"[::ffff:127.0.0.1]:3128\"", "").ok());
  EXPECT_TRUE(config("\"[::1]:3128\"", "").ok());
}

TEST(ServerConfigTest, HttpFiltersDefaultToRouter) {
  auto config = parseConfig(R"(listeners:
  - name: p
    address: 127.0.0.1:1
    filter_chains:
      - filters: [ { name: http_connection_manager } ]
)",
                            "f.yaml");
  EXPECT_TRUE(config.ok()) << config.status();
}

struct BadConfig {
  const char* name;
  const char* yaml;
  const char* expected;  // substring of the error
};

class BadConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadConfigTest, ErrorNamesLocationKeyAndExpectation) {
  auto config = parseConfig(GetParam().yaml, "bad.yaml");
  ASSERT_FALSE(config.ok());
  std::string message(config.status().message());
  EXPECT_NE(message.find(GetParam().expected), std::string::npos) << message;
  EXPECT_EQ(message.rfind("bad.yaml:", 0), 0u) << message;
}

constexpr const char* kChain = R"(
    filter_chains:
      - filters: [ { name: http_connection_manager } ]
)";

std::string listener(const std::string& extra) {
  return "listeners:\n  - name: p\n    address: 127.0.0.1:1\n" + extra + kChain;
}

const std::string kUnknownTop = "listners: []\n";
const std::string kUnknownListenerKey = listener("    adress: x\n");
const std::string kBadAddress = "listeners:\n  - name: p\n    address: localhost:80\n" + std::string(kChain);
const std::string kDuplicateName = "listeners:\n  - name: p\n    address: 127.0.0.1:1\n" + std::string(kChain) +
                                   "  - name: p\n    address: 127.0.0.1:2\n" + std::string(kChain);
const std::string kDuplicateAddress = "listeners:\n  - name: a\n    address: 127.0.0.1:1\n" + std::string(kChain) +
                                      "  - name: b\n    address: 127.0.0.1:1\n" + std::string(kChain);

INSTANTIATE_TEST_SUITE_P(
    Errors, BadConfigTest,
    ::testing::Values(
        BadConfig{"invalid_yaml", "listeners: [ {", "invalid YAML"},
        BadConfig{"empty", "", "expected a map with 'listeners'"},
        BadConfig{"unknown_top_key", kUnknownTop.c_str(), "bad.yaml:1:1: listners: unknown key"},
        BadConfig{"unknown_listener_key", kUnknownListenerKey.c_str(),
                  "bad.yaml:4:5: listeners[0].adress: unknown key"},
        BadConfig{"bad_address", kBadAddress.c_str(), "bad.yaml:3:14: listeners[0].address: expected IP:PORT"},
        BadConfig{"duplicate_name", kDuplicateName.c_str(), "duplicate listener name 'p'"},
        BadConfig{"duplicate_address", kDuplicateAddress.c_str(), "another listener already uses 127.0.0.1:1"},
        BadConfig{"no_listeners", "listeners: []\n", "expected at least one listener"},
        BadConfig{"unknown_network_filter", R"(listeners:
  - name: p
    address: 127.0.0.1:1
    filter_chains:
      - filters: [ { name: magic } ]
)",
                  "bad.yaml:5:28: listeners[0].filter_chains[0].filters[0].name: unknown network filter 'magic'"},
        BadConfig{"unknown_http_filter", R"(listeners:
  - name: p
    address: 127.0.0.1:1
    filter_chains:
      - filters:
          - name: http_connection_manager
            config:
              http_filters: [ { name: nope }, { name: router } ]
)",
                  "http_filters[0].name: unknown HTTP filter 'nope'"},
        BadConfig{"router_not_last", R"(listeners:
  - name: p
    address: 127.0.0.1:1
    filter_chains:
      - filters:
          - name: http_connection_manager
            config:
              http_filters: [ { name: router }, { name: access_log } ]
)",
                  "'router' ends a chain and must be last"},
        BadConfig{"bad_duration", R"(listeners:
  - name: p
    address: 127.0.0.1:1
    filter_chains:
      - filters:
          - name: http_connection_manager
            config:
              timeouts: { request_headers: soon }
)",
                  "bad.yaml:8:44: listeners[0].filter_chains[0].filters[0].config.timeouts.request_headers: expected a "
                  "duration"},
        BadConfig{"bad_port_match", R"(listeners:
  - name: p
    address: 127.0.0.1:1
    filter_chains:
      - match: { destination_port: 70000 }
        filters: [ { name: tcp_proxy } ]
)",
                  "match.destination_port: expected an integer in [1, 65535], got 70000"},
        BadConfig{"bad_cidr", R"(listeners:
  - name: p
    address: 127.0.0.1:1
    filter_chains:
      - match: { source_cidrs: [ 10.0.0.0/99 ] }
        filters: [ { name: tcp_proxy } ]
)",
                  "source_cidrs[0]: prefix length 99 is more than 32 for an IPv4 address; expected an address range"},
        BadConfig{"bad_server_name", R"(listeners:
  - name: p
    address: 127.0.0.1:1
    filter_chains:
      - match: { server_names: [ "a.*.com" ] }
        filters: [ { name: tcp_proxy } ]
)",
                  "server_names[0]: expected a host name"},
        BadConfig{"via_injection", R"(listeners:
  - name: p
    address: 127.0.0.1:1
    filter_chains:
      - filters:
          - name: http_connection_manager
            config: { via: "a\r\nx-evil: 1" }
)",
                  "config.via: must not contain CR, LF or NUL"},
        BadConfig{"tcp_proxy_bad_destination", R"(listeners:
  - name: p
    address: 127.0.0.1:1
    filter_chains:
      - filters: [ { name: tcp_proxy, config: { destination: nowhere } } ]
)",
                  "config.destination: expected host:port"},
        BadConfig{"router_unknown_key", R"(listeners:
  - name: p
    address: 127.0.0.1:1
    filter_chains:
      - filters:
          - name: http_connection_manager
            config:
              http_filters: [ { name: router, config: { conect_timeout: 1s } } ]
)",
                  "config.conect_timeout: unknown key; expected one of: connect_timeout"},
        BadConfig{"router_negative_session_cache", R"(listeners:
  - name: p
    address: 127.0.0.1:1
    filter_chains:
      - filters:
          - name: http_connection_manager
            config:
              http_filters: [ { name: router, config: { upstream_tls: { session_cache_size: -1 } } } ]
)",
                  "upstream_tls.session_cache_size: expected an integer in [0, 1000000], got -1"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace interpose::config
