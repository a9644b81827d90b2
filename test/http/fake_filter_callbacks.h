#pragma once

// Test doubles for HTTP filter unit tests: the callbacks a filter gets from the filter
// manager (both directions, one stream), a route with per-filter configs, a worker, and
// small helpers to build configs and requests.

#include <yaml-cpp/yaml.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/interpose/config_node.h"
#include "api/interpose/http_filter.h"
#include "api/interpose/route.h"

namespace interpose::testing {

// A ConfigNode for `yaml`, placed where a filter's config sits in a real config file.
inline ConfigNode configNode(const std::string& yaml) {
  return ConfigNode(YAML::Load(yaml), "http_filters[0].config", std::make_shared<const std::string>("test.yaml"));
}

// A worker with its own io_context; tests run it (worker().ioContext().run_for(...)) to
// fire the timers a filter armed.
class FakeWorker : public Worker {
 public:
  boost::asio::io_context& ioContext() override { return io_; }
  uint32_t index() const override { return 0; }
  bool draining() const override { return false; }

 private:
  boost::asio::io_context io_;
};

// A route with per-filter configs, as the connection manager's route table would match.
class FakeRoute : public Route {
 public:
  explicit FakeRoute(std::string name = "vh/route") : name_(std::move(name)) {}
  const std::string& name() const override { return name_; }
  const RouteSpecificFilterConfig* perFilterConfig(std::string_view filter_name) const override {
    auto it = configs_.find(std::string(filter_name));
    return it == configs_.end() ? nullptr : it->second.get();
  }
  void setConfig(const std::string& filter, std::shared_ptr<const RouteSpecificFilterConfig> config) {
    configs_[filter] = std::move(config);
  }

 private:
  std::string name_;
  std::map<std::string, std::shared_ptr<const RouteSpecificFilterConfig>> configs_;
};

// Both directions' callbacks of one filter in one stream, recording what the filter asks
// for. The stream's StreamInfo points at `connection`, and at `request` and the response
// once they exist (through decode() and encode()), as the filter manager's does. The
// filters under test are not terminal: encoding a response of their own aborts.
class FakeFilterCallbacks : public DecoderFilterCallbacks, public EncoderFilterCallbacks {
 public:
  struct LocalReply {
    int status = 0;
    std::string body;
    HeaderMap headers;
    std::string details;
  };

  explicit FakeFilterCallbacks(std::string name = "filter") : filter_name(std::move(name)) {
    connection.remote_address = "192.0.2.7:40000";
    connection.local_address = "127.0.0.1:8080";
    connection.listener_name = "proxy";
    connection.id = 7;
    info.connection = &connection;
    info.protocol = "HTTP/1.1";
    info.start_time = std::chrono::system_clock::now();
    info.start = StreamInfo::Clock::now();
  }
  FakeFilterCallbacks(const FakeFilterCallbacks&) = delete;
  FakeFilterCallbacks& operator=(const FakeFilterCallbacks&) = delete;

  // StreamFilterCallbacks.
  const ConnectionInfo& connectionInfo() const override { return connection; }
  StreamInfo& streamInfo() override { return info; }
  Worker& worker() override { return worker_; }
  void sendLocalReply(int status, std::string_view body, const HeaderMap& headers,
                      std::string_view details) override {
    ++local_replies;
    last_reply = LocalReply{status, std::string(body), headers, std::string(details)};
  }
  void resetStream(std::string_view reason) override { resets.emplace_back(reason); }
  uint32_t bufferLimit() const override { return 1 << 20; }
  const Route* route() override { return current_route; }
  void clearRouteCache() override {
    ++route_cache_clears;
    // What the route table would now match: tests say so through `rematch`.
    if (rematch) current_route = rematch(request);
    info.route_name = current_route ? current_route->name() : "";
  }
  const std::string& filterName() const override { return filter_name; }

  // DecoderFilterCallbacks.
  void continueDecoding() override { ++continue_decoding_calls; }
  HeaderMap& requestHeaders() override { return request; }
  void encodeHeaders(std::unique_ptr<HeaderMap>, bool) override { std::abort(); }  // not a terminal filter
  void encodeData(Buffer&, bool) override { std::abort(); }
  void encodeTrailers(std::unique_ptr<HeaderMap>) override { std::abort(); }
  void addDownstreamWatermarkCallbacks(WatermarkCallbacks&) override {}
  void removeDownstreamWatermarkCallbacks(WatermarkCallbacks&) override {}
  void readDisableDownstream(bool) override {}

  // EncoderFilterCallbacks.
  void continueEncoding() override { ++continue_encoding_calls; }
  HeaderMap* responseHeaders() override { return response.get(); }

  // Drives `filter` through this stream: sets the callbacks once, then the headers.
  void attach(HttpFilter& filter) {
    filter.setDecoderFilterCallbacks(*this);
    filter.setEncoderFilterCallbacks(*this);
  }
  FilterHeadersStatus decode(HttpFilter& filter, HeaderMap headers, bool end_stream = true) {
    request = std::move(headers);
    info.request_headers = &request;
    return filter.decodeHeaders(request, end_stream);
  }
  FilterHeadersStatus encode(HttpFilter& filter, HeaderMap headers, bool end_stream = true) {
    response = std::make_unique<HeaderMap>(std::move(headers));
    info.response_headers = response.get();
    return filter.encodeHeaders(*response, end_stream);
  }

  ConnectionInfo connection;
  StreamInfo info;
  HeaderMap request;
  std::unique_ptr<HeaderMap> response;
  std::string filter_name;
  const Route* current_route = nullptr;
  std::function<const Route*(const HeaderMap&)> rematch;
  int route_cache_clears = 0;
  int continue_decoding_calls = 0;
  int continue_encoding_calls = 0;
  int local_replies = 0;   // sendLocalReply() calls
  LocalReply last_reply;   // the latest of them
  std::vector<std::string> resets;

 private:
  FakeWorker worker_;
};

// A request as the connection manager hands it to the filters.
inline HeaderMap request(std::string_view method, std::string_view scheme, std::string_view authority,
                         std::string_view path, std::vector<std::pair<std::string, std::string>> fields = {}) {
  HeaderMap headers;
  headers.add(":method", method);
  headers.add(":scheme", scheme);
  headers.add(":authority", authority);
  headers.add(":path", path);
  for (auto& [name, value] : fields) headers.add(name, value);
  return headers;
}

// The fields as "name: value" lines, pseudo-headers included, in order.
inline std::string dump(const HeaderMap& headers) {
  std::string out;
  for (const auto& [name, value] : headers) out.append(name).append(": ").append(value).append("\n");
  return out;
}

}  // namespace interpose::testing
