#pragma once

#include <memory>
#include <vector>

#include "api/interpose/http_filter.h"
#include "source/http/route_table.h"
#include "source/http/stream_encoder.h"

namespace interpose::http {

// Runs one stream's HTTP filters: the request through decode callbacks in order, the response
// through encode callbacks in reverse order. A filter that stops iteration holds the stream
// at its position; body chunks and trailers arriving meanwhile are buffered (within the
// buffer limit) and follow when it continues. Implements the callbacks each filter sees.
class FilterManager {
 public:
  // The chain's filters, by name and factory, in order.
  struct FilterSpec {
    std::string name;
    HttpFilterFactoryCb factory;
  };
  // With a route table, the request's route decides which filters run (per_filter_config:
  // disabled) and what per-route config they see; no matching route gives a 404.
  FilterManager(StreamEncoder& encoder, Worker& worker, const ConnectionInfo& connection,
                const std::vector<FilterSpec>& filters, const RouteTable* routes);
  ~FilterManager();

  // From the codec: the request.
  void decodeHeaders(std::unique_ptr<HeaderMap> headers, bool end_stream);
  void decodeData(Buffer& data, bool end_stream);
  void decodeTrailers(std::unique_ptr<HeaderMap> trailers);

  // From the codec: a response it makes itself (CONNECT's 200), through the encoder filters.
  void encodeHeadersFromCodec(std::unique_ptr<HeaderMap> headers, bool end_stream) {
    encodeHeaders(std::move(headers), end_stream);
  }
  // Answers without the filters after the caller (also used by the codec for its own errors).
  void sendLocalReply(int status, std::string_view body, const HeaderMap& headers, std::string_view details);
  // Ends the stream: onStreamComplete() then onDestroy() of every filter, once.
  void complete();

  StreamInfo& info() { return info_; }
  bool responseStarted() const { return response_headers_ != nullptr; }
  bool responseComplete() const { return response_complete_; }
  HeaderMap* requestHeaders() { return request_headers_.get(); }

 private:
  class ActiveFilter;
  // Creates the stream's filters, leaving out those the route disables.
  void createFilters();
  enum class Stop { None, Headers, Data };
  struct Direction {
    size_t pos = 0;  // decode: next filter index; encode: filters left (counts down)
    Stop stop = Stop::None;
    bool headers_end = false;
    Buffer buffered;
    bool buffered_end = false;
    bool has_buffered = false;
    std::unique_ptr<HeaderMap> trailers;
    bool done = false;
  };

  void runDecodeHeaders(size_t from);
  void runDecodeData(size_t from, Buffer& data, bool end_stream);
  void runDecodeTrailers();
  void checkDecodeBufferLimit();  // 413 once a held request body is over the limit
  void continueDecoding(size_t index);

  void encodeHeaders(std::unique_ptr<HeaderMap> headers, bool end_stream);
  void encodeData(Buffer& data, bool end_stream);
  void encodeTrailers(std::unique_ptr<HeaderMap> trailers);
  void runEncodeHeaders(size_t from);
  void runEncodeData(size_t from, Buffer& data, bool end_stream);
  void runEncodeTrailers();
  void checkEncodeBufferLimit();  // 500 (or a reset) once a held response body is over it
  void continueEncoding(size_t index);

  StreamEncoder& encoder_;
  Worker& worker_;
  const ConnectionInfo& connection_;
  StreamInfo info_;
  const std::vector<FilterSpec>& specs_;
  const RouteTable* routes_;
  const RouteEntry* route_ = nullptr;
  bool filters_created_ = false;
  std::vector<std::unique_ptr<ActiveFilter>> filters_;
  std::unique_ptr<HeaderMap> request_headers_;
  std::unique_ptr<HeaderMap> response_headers_;
  Direction decode_;
  Direction encode_;  // encode_.pos counts filters already passed, from the last one
  bool local_reply_sent_ = false;
  bool replaced_oversized_response_ = false;
  bool response_complete_ = false;
  bool completed_ = false;
  bool reset_ = false;
};

}  // namespace interpose::http
