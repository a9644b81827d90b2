#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/interpose/network_filter.h"
#include "source/common/timer.h"
#include "source/filters/network/http_connection_manager/active_stream.h"
#include "source/filters/network/http_connection_manager/config.h"
#include "source/http/http1/parser.h"

namespace interpose::hcm {

// The HTTP/1.1 connection manager: parses requests with llhttp, runs each through the HTTP
// filters (one stream at a time, so pipelined requests are answered in order), frames the
// responses, and turns CONNECT into an inner connection for the listener's chain selection.
class ConnectionManager : public NetworkFilter,
                          public http1::Parser::Handler,
                          public StreamCodec,
                          public WatermarkCallbacks,
                          public NetworkFilterCallbacks::InnerConnectionCallbacks {
 public:
  explicit ConnectionManager(std::shared_ptr<const HcmConfig> config);
  ~ConnectionManager() override;

  // NetworkFilter
  FilterStatus onNewConnection() override;
  FilterStatus onData(Buffer& data, bool end_stream) override;
  void onEvent(ConnectionEvent event) override;

  // http1::Parser::Handler
  int onHeaders(http1::MessageHead& head) override;
  void onBody(std::string_view data) override;
  void onMessageComplete(std::unique_ptr<HeaderMap> trailers) override;

  // StreamCodec: the current stream's response, in HTTP/1.1 framing.
  void encodeHeaders(HeaderMap& headers, bool end_stream) override;
  void encodeData(Buffer& data, bool end_stream) override;
  void encodeTrailers(HeaderMap& trailers) override;
  void resetStream(std::string_view reason) override;
  void readDisable(bool disable) override;
  uint32_t bufferLimit() const override { return callbacks_->bufferLimit(); }
  void sendContinue() override;
  void onRequestHeadersDone() override;

  // InnerConnectionCallbacks (the CONNECT tunnel)
  void onInnerConnectionReady() override;
  void onInnerConnectionFailed(std::string_view details, const ConnectionInfo& inner) override;

  // WatermarkCallbacks (the client connection's write buffer)
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

 private:
  enum class Framing { None, Length, Chunked, Close, Switched };
  void dispatch();
  void beginExchange();  // resets the per-request state
  void protocolError(int status, std::string_view reason, uint32_t flag);
  void onResponseComplete();
  void finishStream();
  void startStream(std::string_view protocol);  // stream_, told if the client is behind
  void switchProtocols(HeaderMap& headers);     // a 101: the stream becomes a byte stream
  void onMessageParsed();                       // a request ended (llhttp paused after it)
  void touchUpgrade();                          // bytes moved: the upgrade idle clock restarts
  // Tells the CONNECT's filters where its tunnel would go (StreamInfo::tunnel).
  void previewTunnel(std::string_view authority);
  void startTunnel();
  void establishTunnel();
  void closeConnection(CloseType type);
  void armIdleTimer();
  void onIdleTick();
  template <typename F>
  void post(F&& f);

  std::shared_ptr<const HcmConfig> config_;
  std::unique_ptr<http1::Parser> parser_;
  std::unique_ptr<ActiveStream> stream_;
  std::unique_ptr<NetworkFilterCallbacks::InnerConnection> tunnel_;
  std::unique_ptr<Timer> header_timer_;
  std::unique_ptr<Timer> idle_timer_;
  std::chrono::steady_clock::time_point idle_since_;
  void flushOut();
  void flushOutSoon();

  static constexpr size_t kOutBatchBytes = 64 * 1024;
  Buffer input_;
  Buffer out_;  // response bytes not yet handed to the connection
  bool flush_posted_ = false;
  std::shared_ptr<char> life_ = std::make_shared<char>();

  // Current exchange.
  bool request_complete_ = false;
  bool response_complete_ = false;
  bool head_request_ = false;
  bool connect_request_ = false;
  bool client_http10_ = false;
  bool client_keep_alive_ = true;
  bool close_after_response_ = false;
  Framing framing_ = Framing::None;
  std::optional<std::pair<int, std::string>> header_error_;  // set by onHeaders to abort

  // An Upgrade request we forward (WebSocket): Requested until it is parsed, then held
  // until the origin answers; Switched after a 101 (both ways are then raw bytes).
  enum class Upgrade { None, Requested, AwaitingResponse, Switched };
  Upgrade upgrade_ = Upgrade::None;
  std::unique_ptr<Timer> upgrade_idle_timer_;

  enum class Tunnel { None, Connecting, Ready, Failed };
  Tunnel tunnel_state_ = Tunnel::None;
  bool client_eof_ = false;
  // CONNECT: the tunnel starts once the request headers went through the filters (one may
  // hold them, e.g. a rate limit that delays) and the parser reached the tunnel bytes.
  bool connect_headers_done_ = false;
  bool connect_parsed_ = false;
  bool closed_ = false;
  bool above_high_watermark_ = false;
  bool paused_for_pipeline_ = false;
  int read_disabled_by_stream_ = 0;
  // The response went out before the request's body was all in: the rest is read and
  // dropped (up to kDiscardLimit bytes) so the connection can serve the next request.
  static constexpr size_t kDiscardLimit = 64 * 1024;
  bool discarding_ = false;
  size_t discarded_ = 0;
};

}  // namespace interpose::hcm
