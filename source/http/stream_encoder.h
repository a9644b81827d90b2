#pragma once

#include <string_view>

#include "api/interpose/buffer.h"
#include "api/interpose/header_map.h"
#include "api/interpose/network_filter.h"

namespace interpose::http {

// The codec side of a stream: where a finished response goes (the client connection), and
// the connection-level controls that HTTP filters reach through their callbacks.
class StreamEncoder {
 public:
  virtual ~StreamEncoder() = default;
  virtual void encodeHeaders(HeaderMap& headers, bool end_stream) = 0;
  virtual void encodeData(Buffer& data, bool end_stream) = 0;
  virtual void encodeTrailers(HeaderMap& trailers) = 0;
  // Aborts the stream; on HTTP/1.1 that closes the client connection.
  virtual void resetStream(std::string_view reason) = 0;
  virtual void addDownstreamWatermarkCallbacks(WatermarkCallbacks& cb) = 0;
  virtual void removeDownstreamWatermarkCallbacks(WatermarkCallbacks& cb) = 0;
  virtual void readDisableDownstream(bool disable) = 0;
  virtual uint32_t bufferLimit() const = 0;
  // The request headers went through every filter (none stopped them, or all resumed).
  virtual void onRequestHeadersDone() {}
};

}  // namespace interpose::http
