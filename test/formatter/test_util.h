#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <memory>
#include <string>

#include "api/interpose/config_node.h"
#include "api/interpose/header_map.h"
#include "api/interpose/stream_info.h"

namespace interpose::formatter::testing {

// A ConfigNode for `yaml`, placed where a filter's config sits in a real config file.
inline ConfigNode configNode(const std::string& yaml) {
  return ConfigNode(YAML::Load(yaml), "http_filters[0].config", std::make_shared<const std::string>("test.yaml"));
}

// A finished stream with every field set (route_name too), and the headers and connection it points at.
struct SampleStream {
  SampleStream() {
    using namespace std::chrono;
    connection.remote_address = "10.0.0.1:5555";
    connection.local_address = "10.0.0.2:8080";
    connection.listener_name = "main";
    connection.server_name = "example.com";
    connection.id = 42;

    request.add(":method", "GET");
    request.add(":scheme", "http");
    request.add(":authority", "example.com");
    request.add(":path", "/index.html");
    request.add("user-agent", "curl/8.0");
    request.add("x-forwarded-for", "192.0.2.1");
    response.add(":status", "200");
    response.add("content-type", "text/html");

    // 2026-11-29T04:31:55.123456789Z
    info.start_time = system_clock::time_point(
        duration_cast<system_clock::duration>(sys_days(year(2026) / 11 / 29).time_since_epoch() + hours(4) +
                                              minutes(31) + seconds(55) + nanoseconds(123456789)));
    info.start = StreamInfo::Clock::now();
    info.end = info.start + microseconds(1234567);
    info.connection = &connection;
    info.protocol = "HTTP/1.1";
    info.upstream_protocol = "HTTP/1.0";
    info.upstream_host = "192.0.2.10:80";
    info.route_name = "api/users";
    info.response_code = 200;
    info.bytes_received = 17;
    info.bytes_sent = 1024;
    info.request_headers = &request;
    info.response_headers = &response;
  }
  SampleStream(const SampleStream&) = delete;

  ConnectionInfo connection;
  HeaderMap request;
  HeaderMap response;
  StreamInfo info;
};

}  // namespace interpose::formatter::testing
