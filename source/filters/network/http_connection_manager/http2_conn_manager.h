#pragma once

#include <nghttp2/nghttp2.h>

#include <chrono>
#include <map>
#include <memory>
#include <vector>

#include "api/interpose/network_filter.h"
#include "source/common/timer.h"
#include "source/filters/network/http_connection_manager/config.h"
#include "source/http/filter_manager.h"

namespace interpose::hcm {

// The HTTP/2 connection manager (server side, on nghttp2): each stream of the client's
// connection becomes one filter-chain stream with the same header map and callbacks as
// HTTP/1.1. Flow control follows the bounded buffers: request DATA is acknowledged (window
// updates) only as the next hop takes it, and a stream whose client reads slowly pauses
// its own producer without stalling the others. Stream state is freed when the stream ends.
class Http2ConnectionManager : public NetworkFilter, public WatermarkCallbacks {
 public:
  explicit Http2ConnectionManager(std::shared_ptr<const HcmConfig> config);
  ~Http2ConnectionManager() override;

  FilterStatus onNewConnection() override;
  FilterStatus onData(Buffer& data, bool end_stream) override;
  void onEvent(ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

 private:
  class Stream;
  friend class Stream;
  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                      const uint8_t* value, size_t valuelen, uint8_t flags, void* user);
  static int onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int onDataChunk(nghttp2_session*, uint8_t flags, int32_t stream_id, const uint8_t* data, size_t len,
                         void* user);
  static int onStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user);

  Stream* stream(int32_t id);
  void flush();
  void fail(uint32_t error_code, std::string_view why);
  void onTick();
  void armTick();
  void releaseClosedStreams();
  // Response bytes held by streams for the client, against the connection's budget.
  void holdBuffered(size_t bytes);
  void releaseBuffered(size_t bytes);

  std::shared_ptr<const HcmConfig> config_;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, std::unique_ptr<Stream>> streams_;
  std::vector<std::unique_ptr<Stream>> closed_;  // freed on a fresh stack
  std::unique_ptr<Timer> tick_;
  std::chrono::steady_clock::time_point idle_since_;  // when the last stream ended
  std::shared_ptr<char> life_ = std::make_shared<char>();
  bool above_high_watermark_ = false;
  size_t buffered_ = 0;       // response bytes all streams hold
  bool over_budget_ = false;  // ... more than the connection may: every stream is paused
  bool closed_connection_ = false;
  bool goaway_sent_ = false;
  bool flushing_ = false;
  bool receiving_ = false;
  bool fail_pending_ = false;
  // Rapid-reset guard: streams the client reset within the current second.
  std::chrono::steady_clock::time_point reset_window_;
  uint32_t resets_in_window_ = 0;
};

// Picks the codec of a connection for `codec: auto`: HTTP/2 when TLS negotiated "h2" or
// the client opens with the HTTP/2 preface (h2c with prior knowledge), else HTTP/1.1.
// Until it has decided, the same clocks as HTTP/1.1 hold: a connection that sends nothing
// is closed after timeouts.idle (at once when draining), one that sent a few bytes but not
// enough to tell after timeouts.request_headers.
class CodecSelector : public NetworkFilter {
 public:
  explicit CodecSelector(std::shared_ptr<const HcmConfig> config) : config_(std::move(config)) {}
  void initialize(NetworkFilterCallbacks& callbacks) override;
  FilterStatus onNewConnection() override;
  FilterStatus onData(Buffer& data, bool end_stream) override;
  FilterStatus onWrite(Buffer& data, bool end_stream) override;
  void onEvent(ConnectionEvent event) override;

 private:
  void choose(bool http2);
  void onWaitTick();

  std::shared_ptr<const HcmConfig> config_;
  std::unique_ptr<NetworkFilter> impl_;
  Buffer early_;
  std::unique_ptr<Timer> wait_;  // runs until the codec is chosen
  std::chrono::steady_clock::time_point connected_;
  std::chrono::steady_clock::time_point first_byte_;
};

}  // namespace interpose::hcm
