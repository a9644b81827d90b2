#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/interpose/http_filter.h"
#include "examples/record_exchange/config.h"
#include "source/filters/http/access_log/log_sink.h"

namespace record_exchange {

// Records each request/response exchange as one JSON line, the way a handler-hook user of
// asyncio-https-proxy would: the request when it arrives (on_request_received), the response
// when it starts (on_response_received), its bytes as they pass (on_response_chunk), and the
// record itself once the exchange is over (on_response_complete), also after errors.
//
// The filter only observes: every callback returns Continue and nothing is modified. The
// line is formatted on the worker (microseconds) and handed to a LogSink, whose own thread
// does the disk I/O, so a slow disk never stalls the proxy (lines are dropped and counted
// instead, with a warning on stderr).
//
// Place it first in http_filters to record what the client sent and received: the request
// is copied before later filters change it, and the response is seen after they did.
class RecordExchangeFilter : public interpose::HttpFilter {
 public:
  RecordExchangeFilter(std::shared_ptr<const RecordExchangeConfig> config,
                       std::shared_ptr<interpose::access_log::LogSink> sink)
      : config_(std::move(config)), sink_(std::move(sink)) {}

  interpose::FilterHeadersStatus decodeHeaders(interpose::HeaderMap& headers, bool end_stream) override;
  interpose::FilterDataStatus decodeData(interpose::Buffer& data, bool end_stream) override;
  interpose::FilterHeadersStatus encodeHeaders(interpose::HeaderMap& headers, bool end_stream) override;
  interpose::FilterDataStatus encodeData(interpose::Buffer& data, bool end_stream) override;
  void onStreamComplete(const interpose::StreamInfo& info) override;

  // The JSON line (with '\n') for an exchange; public for tests.
  std::string format(const interpose::StreamInfo& info) const;

 private:
  using Headers = std::vector<std::pair<std::string, std::string>>;

  // Appends the first bytes of a body to `preview`, up to max_body_bytes.
  void capture(std::string& preview, const interpose::Buffer& data) const;
  void appendHeaders(std::string& out, const Headers& headers) const;
  static Headers copyHeaders(const interpose::HeaderMap& headers);

  std::shared_ptr<const RecordExchangeConfig> config_;
  std::shared_ptr<interpose::access_log::LogSink> sink_;

  // What this filter saw of the exchange.
  bool have_request_ = false;
  std::string method_;
  std::string url_;
  Headers request_headers_;
  bool have_response_ = false;
  int status_ = 0;
  Headers response_headers_;
  std::string request_body_;   // first max_body_bytes bytes
  std::string response_body_;  // first max_body_bytes bytes
};

}  // namespace record_exchange
