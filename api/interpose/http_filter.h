#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "api/interpose/buffer.h"
#include "api/interpose/config_node.h"
#include "api/interpose/factory_context.h"
#include "api/interpose/header_map.h"
#include "api/interpose/route.h"
#include "api/interpose/stream_info.h"
#include "api/interpose/strings.h"
#include "api/interpose/worker.h"

namespace interpose {

enum class FilterHeadersStatus { Continue, StopIteration };
enum class FilterDataStatus {
  Continue,
  // Hold this chunk and the ones after it at this filter until continueDecoding() /
  // continueEncoding(); the stream's buffer limit applies (413 / 500 when exceeded).
  StopIterationAndBuffer,
};
enum class FilterTrailersStatus { Continue, StopIteration };

// What both directions of an HTTP filter can do with their stream.
class StreamFilterCallbacks {
 public:
  virtual ~StreamFilterCallbacks() = default;
  virtual const ConnectionInfo& connectionInfo() const = 0;
  virtual StreamInfo& streamInfo() = 0;
  virtual Worker& worker() = 0;
  // Answers the client without (further) involving the origin: status, body, extra headers.
  // `details` goes to the access log's error field. The encoder filters see the reply.
  virtual void sendLocalReply(int status, std::string_view body, const HeaderMap& headers = {},
                              std::string_view details = {}) = 0;
  // Aborts the stream (and, on HTTP/1.1, the client connection) with `reason`.
  virtual void resetStream(std::string_view reason) = 0;
  // Bytes this stream may buffer in one direction before flow control or errors kick in.
  virtual uint32_t bufferLimit() const = 0;
  // The route the request matched, or nullptr (no route table, or no route matched).
  virtual const Route* route() = 0;
  // Matches the route again, for filters that changed :authority, :path or headers the
  // route table looks at (e.g. a "map remote" rewrite).
  virtual void clearRouteCache() = 0;
  // This filter's per-route config (per_filter_config in the matched route), or nullptr.
  template <typename T>
  const T* perRouteConfig() {
    const Route* r = route();
    return r ? dynamic_cast<const T*>(r->perFilterConfig(filterName())) : nullptr;
  }
  // The name this filter has in http_filters.
  virtual const std::string& filterName() const = 0;
};

class DecoderFilterCallbacks : public StreamFilterCallbacks {
 public:
  virtual void continueDecoding() = 0;
  virtual HeaderMap& requestHeaders() = 0;

  // For the terminal filter (the router): the response, handed to the encoder filters.
  virtual void encodeHeaders(std::unique_ptr<HeaderMap> headers, bool end_stream) = 0;
  virtual void encodeData(Buffer& data, bool end_stream) = 0;
  virtual void encodeTrailers(std::unique_ptr<HeaderMap> trailers) = 0;

  // Flow control towards the client: told when the response bytes queued for the client
  // cross the connection's watermarks, so the producer (the upstream read) can pause.
  virtual void addDownstreamWatermarkCallbacks(WatermarkCallbacks& cb) = 0;
  virtual void removeDownstreamWatermarkCallbacks(WatermarkCallbacks& cb) = 0;
  // Flow control from the client: a filter that cannot take request body as fast as it
  // comes (the router, while the origin reads slowly) pauses and resumes the client read.
  virtual void readDisableDownstream(bool disable) = 0;
};

class EncoderFilterCallbacks : public StreamFilterCallbacks {
 public:
  virtual void continueEncoding() = 0;
  virtual HeaderMap* responseHeaders() = 0;
};

// One instance per stream (request/response exchange). Decode callbacks run in filter order
// for the request, encode callbacks in reverse order for the response. Every stream ends
// with onStreamComplete (also after errors and resets), then the filter is destroyed.
class HttpFilter {
 public:
  virtual ~HttpFilter() = default;
  virtual void setDecoderFilterCallbacks(DecoderFilterCallbacks& cb) { decoder_callbacks_ = &cb; }
  virtual void setEncoderFilterCallbacks(EncoderFilterCallbacks& cb) { encoder_callbacks_ = &cb; }

  // on_request_received: may change the headers, or answer with sendLocalReply().
  virtual FilterHeadersStatus decodeHeaders(HeaderMap& headers, bool end_stream) {
    return FilterHeadersStatus::Continue;
  }
  virtual FilterDataStatus decodeData(Buffer& data, bool end_stream) { return FilterDataStatus::Continue; }
  virtual FilterTrailersStatus decodeTrailers(HeaderMap& trailers) { return FilterTrailersStatus::Continue; }
  // on_response_received: may change the status and headers.
  virtual FilterHeadersStatus encodeHeaders(HeaderMap& headers, bool end_stream) {
    return FilterHeadersStatus::Continue;
  }
  // on_response_chunk: may change the chunk in place, or drain it to drop it.
  virtual FilterDataStatus encodeData(Buffer& data, bool end_stream) { return FilterDataStatus::Continue; }
  virtual FilterTrailersStatus encodeTrailers(HeaderMap& trailers) { return FilterTrailersStatus::Continue; }
  // on_response_complete / on_error: always called once, last. info.error says why a
  // stream failed; info.response_flags classify it.
  virtual void onStreamComplete(const StreamInfo& info) {}
  // The stream is going away: cancel timers and outstanding work. Called before destruction.
  virtual void onDestroy() {}

 protected:
  DecoderFilterCallbacks* decoder_callbacks_ = nullptr;
  EncoderFilterCallbacks* encoder_callbacks_ = nullptr;
};

// Per-stream filter factory, made once per config load by an HttpFilterFactory.
using HttpFilterFactoryCb = std::function<std::unique_ptr<HttpFilter>()>;

class HttpFilterFactory {
 public:
  virtual ~HttpFilterFactory() = default;
  virtual std::string name() const = 0;
  // True for the filter that ends a chain by producing the response (the router).
  virtual bool terminal() const { return false; }
  // Parses and validates `config` (throwing ConfigError), returning the per-stream maker.
  // `context`: the server's shared parts (cert providers, worker slots, shared state).
  virtual HttpFilterFactoryCb create(const ConfigNode& config, FactoryContext& context) const = 0;
  // Parses this filter's per_filter_config of one route (throwing ConfigError). Filters
  // that take no per-route config keep the default, which rejects it.
  virtual std::shared_ptr<const RouteSpecificFilterConfig> createRouteConfig(const ConfigNode& config) const {
    config.fail(str::cat("the '", name(), "' filter takes no per-route config (only 'disabled: true')"));
  }
};

}  // namespace interpose
