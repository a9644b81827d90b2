#include "source/config/server_config.h"

namespace interpose::config {

const std::string_view kDefaultConfig = R"(# Interpose's embedded default: an intercepting forward proxy on loopback.
cert_providers:
  # A CA made on first run in $XDG_DATA_HOME/interpose (else ~/.local/share/interpose);
  # trust its ca.pem to see your HTTPS traffic.
  - name: local_ca
    ca: { generate_if_missing: true }
# The admin server (loopback only): http://127.0.0.1:9901/ lists its endpoints, and
# `interpose passthrough list` talks to it.
admin:
  address: 127.0.0.1:9901
listeners:
  - name: proxy
    address: 127.0.0.1:8080
    filter_chains:
      # Every CONNECT: terminate TLS with a minted certificate and proxy the requests.
      # (No learned passthrough here: a first request made before the CA is trusted would
      # switch interception off for that host. configs/intercept_with_passthrough.yaml has it.)
      - name: intercept
        match: { tunneled: true }
        filters:
          - name: tls_intercept
            config: { cert_provider: local_ca }
          - name: http_connection_manager
            config:
              http_filters:
                - name: access_log
                - name: router
      # Plain HTTP proxy requests.
      - name: http
        filters:
          - name: http_connection_manager
            config:
              http_filters:
                - name: access_log
                - name: router
)";

}  // namespace interpose::config
