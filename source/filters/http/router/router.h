#pragma once

#include <memory>
#include <string>

#include "api/interpose/http_filter.h"
#include "source/common/timer.h"
#include "source/filters/http/router/config.h"
#include "source/http/http1/parser.h"
#include "source/http/http2_client.h"
#include "source/http/upstream_pool.h"

namespace interpose::router {

// The terminal HTTP filter: sends the request to its origin over a pooled HTTP/1.1
// connection and streams the response back through the encoder filters. Bodies flow in
// both directions without being held whole: each side's write buffer pauses the other
// side's reads at its high watermark (HTTPSForwardProxyHandler, in handler-hook terms).
class Router : public HttpFilter,
               public network::Connection::Callbacks,
               public http1::Parser::Handler,
               public http::Http2ClientConnection::StreamCallbacks {
 public:
  explicit Router(std::shared_ptr<const RouterConfig> config);
  ~Router() override;

  FilterHeadersStatus decodeHeaders(HeaderMap& headers, bool end_stream) override;
  FilterDataStatus decodeData(Buffer& data, bool end_stream) override;
  FilterTrailersStatus decodeTrailers(HeaderMap& trailers) override;
  void onDestroy() override;

  // Upstream connection.
  void onRead(Buffer& data, bool end_stream) override;
  void onEvent(ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

  // HTTP/2 upstream stream.
  void onResponseHeaders(std::unique_ptr<HeaderMap> headers, bool end_stream) override;
  void onResponseData(Buffer& data, bool end_stream) override;
  void onResponseTrailers(std::unique_ptr<HeaderMap> trailers) override;
  void onStreamReset(const std::string& reason) override;
  void onRequestBufferAbove() override;
  void onRequestBufferBelow() override;

  // Upstream response parser.
  int onHeaders(http1::MessageHead& head) override;
  void onBody(std::string_view data) override;
  void onMessageComplete(std::unique_ptr<HeaderMap> trailers) override;

 private:
  // The client's write buffer: when it fills, stop reading the origin.
  struct DownstreamWatermarks : WatermarkCallbacks {
    explicit DownstreamWatermarks(Router& r) : router(r) {}
    void onAboveWriteBufferHighWatermark() override;
    void onBelowWriteBufferLowWatermark() override;
    Router& router;
    bool above = false;
  };
  void applyDownstreamPressure();

  void connect();
  void onPoolResult(http::UpstreamPool::Result result);
  void startHttp2(std::shared_ptr<http::Http2ClientConnection> connection);
  Buffer encodeHttp1Body(Buffer& raw, bool end_stream, const HeaderMap* trailers);
  void requestFinished();
  void forwardSwitched(Buffer& data, bool end_stream);  // origin bytes after a 101
  void upstreamFailed(int status, std::string_view message, uint32_t flag);
  void releaseUpstream(bool reusable);
  void pauseDownstream(bool pause);
  http::UpstreamPool& pool();

  std::shared_ptr<const RouterConfig> config_;
  std::shared_ptr<char> life_ = std::make_shared<char>();
  std::unique_ptr<Timer> response_timer_;
  DownstreamWatermarks downstream_watermarks_{*this};
  bool watching_downstream_ = false;

  std::string host_;
  uint16_t port_ = 0;
  Buffer request_head_;  // kept until the origin answers, for one retry on a stale connection
  Buffer pending_body_;  // body that arrived before the connection was ready, as sent
  bool pending_end_ = false;
  std::unique_ptr<HeaderMap> pending_trailers_;
  bool request_chunked_ = false;
  bool request_has_body_ = false;
  bool request_end_ = false;
  bool head_request_ = false;
  bool secure_ = false;  // https:// origin
  bool retried_ = false;
  bool upgrade_ = false;      // the request asks to switch protocols (WebSocket)
  bool switched_ = false;     // ... and the origin said 101
  bool parser_done_ = false;  // past the 101: no more HTTP from the origin

  network::ConnectionPtr upstream_;                  // HTTP/1.1
  std::shared_ptr<http::Http2ClientConnection> h2_;  // or HTTP/2: a stream on a shared connection
  int32_t h2_stream_ = -1;
  bool h2_paused_ = false;
  bool reused_ = false;
  std::unique_ptr<http1::Parser> parser_;
  bool response_started_ = false;
  bool response_end_sent_ = false;
  Buffer* reading_ = nullptr;        // the upstream read llhttp is parsing now
  bool whole_read_is_body_ = false;  // ... and all of it is body, to be passed on as it is
  bool body_length_known_ = false;   // the response has a Content-Length
  uint64_t body_left_ = 0;           // ... and this much of its body is still to come
  bool response_done_ = false;
  bool interim_ = false;
  bool upstream_keep_alive_ = false;
  bool leftover_bytes_ = false;
  int upstream_read_disabled_ = 0;
  bool downstream_paused_ = false;
};

}  // namespace interpose::router
