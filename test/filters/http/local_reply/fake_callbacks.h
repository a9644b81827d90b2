#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "api/interpose/http_filter.h"

namespace interpose::local_reply::testing {

// A route that carries per-filter configs, keyed by filter name.
class FakeRoute : public Route {
 public:
  const std::string& name() const override { return name_; }
  const RouteSpecificFilterConfig* perFilterConfig(std::string_view filter_name) const override {
    auto it = configs_.find(std::string(filter_name));
    return it == configs_.end() ? nullptr : it->second.get();
  }

  std::string name_ = "vh/route";
  std::map<std::string, std::shared_ptr<const RouteSpecificFilterConfig>> configs_;
};

// Decoder callbacks that record what the filter asked for. Only what local_reply touches
// does anything; the rest is inert.
class FakeDecoderCallbacks : public DecoderFilterCallbacks {
 public:
  struct Reply {
    int status = 0;
    std::string body;
    HeaderMap headers;
    std::string details;
  };

  const ConnectionInfo& connectionInfo() const override { return connection_; }
  StreamInfo& streamInfo() override { return info_; }
  Worker& worker() override { std::abort(); }
  void sendLocalReply(int status, std::string_view body, const HeaderMap& headers, std::string_view details) override {
    ++replies_;
    reply_ = Reply{status, std::string(body), headers, std::string(details)};
  }
  void resetStream(std::string_view) override {}
  uint32_t bufferLimit() const override { return 1024 * 1024; }
  const Route* route() override { return route_; }
  void clearRouteCache() override {}
  const std::string& filterName() const override { return filter_name_; }

  void continueDecoding() override {}
  HeaderMap& requestHeaders() override { return request_; }
  void encodeHeaders(std::unique_ptr<HeaderMap>, bool) override {}
  void encodeData(Buffer&, bool) override {}
  void encodeTrailers(std::unique_ptr<HeaderMap>) override {}
  void addDownstreamWatermarkCallbacks(WatermarkCallbacks&) override {}
  void removeDownstreamWatermarkCallbacks(WatermarkCallbacks&) override {}
  void readDisableDownstream(bool) override {}

  ConnectionInfo connection_;
  StreamInfo info_;
  HeaderMap request_;
  const Route* route_ = nullptr;
  std::string filter_name_ = "local_reply";
  int replies_ = 0;
  Reply reply_;
};

}  // namespace interpose::local_reply::testing
