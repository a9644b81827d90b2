#include "source/config/server_config.h"

namespace interpose::config {

const std::string_view kDefaultConfig = R"(# Interpose's embedded default: a forward proxy on loopback.
listeners:
  - name: proxy
    address: 127.0.0.1:8080
    filter_chains:
      # Inside CONNECT tunnels: pass the bytes through to the CONNECT target.
      - name: tunnels
        match: { tunneled: true }
        filters:
          - name: tcp_proxy
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
