#pragma once

#include <nghttp2/nghttp2.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "api/interpose/buffer.h"
#include "api/interpose/header_map.h"
#include "source/network/connection.h"

namespace interpose::http {

// One multiplexed HTTP/2 connection to an origin (client side, on nghttp2), shared by the
// requests of one worker. Each request is a stream; response DATA is acknowledged only as
// the requester takes it, so a slow client slows its own stream and nothing else.
class Http2ClientConnection : public network::Connection::Callbacks {
 public:
  class StreamCallbacks {
   public:
    virtual ~StreamCallbacks() = default;
    virtual void onResponseHeaders(std::unique_ptr<HeaderMap> headers, bool end_stream) = 0;
    virtual void onResponseData(Buffer& data, bool end_stream) = 0;
    virtual void onResponseTrailers(std::unique_ptr<HeaderMap> trailers) = 0;
    // The stream ended without a complete response (reset, GOAWAY, connection lost).
    virtual void onStreamReset(const std::string& reason) = 0;
    // The request body queued for the origin crossed the high / low watermark.
    virtual void onRequestBufferAbove() = 0;
    virtual void onRequestBufferBelow() = 0;
  };

  // `on_closed` is called once when the connection can take no more streams and has none.
  Http2ClientConnection(network::ConnectionPtr connection, std::function<void(Http2ClientConnection*)> on_closed);
  ~Http2ClientConnection() override;

  bool canStartStream() const;
  size_t activeStreams() const { return streams_.size(); }
  const std::string& endpoint() const { return endpoint_; }
  // `request` carries :method :scheme :authority :path and the fields. Returns the stream id.
  int32_t startStream(const HeaderMap& request, bool end_stream, StreamCallbacks& callbacks);
  void sendData(int32_t id, Buffer& data, bool end_stream);
  void sendTrailers(int32_t id, const HeaderMap& trailers);
  // The requester is gone: cancel the stream if it is still open; no more callbacks.
  void detach(int32_t id);
  // Flow control from the requester's client: stop (or resume) acknowledging response DATA.
  void readDisable(int32_t id, bool disable);

  // network::Connection::Callbacks
  void onRead(Buffer& data, bool end_stream) override;
  void onEvent(ConnectionEvent event) override;

 private:
  struct Stream;
  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                      const uint8_t* value, size_t valuelen, uint8_t flags, void* user);
  static int onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int onDataChunk(nghttp2_session*, uint8_t flags, int32_t stream_id, const uint8_t* data, size_t len,
                         void* user);
  static int onStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user);
  static ssize_t readBody(nghttp2_session*, int32_t stream_id, uint8_t* buf, size_t length, uint32_t* flags,
                          nghttp2_data_source* source, void* user);
  void flush();
  void failAll(const std::string& reason);
  void maybeClosed();

  network::ConnectionPtr connection_;
  std::function<void(Http2ClientConnection*)> on_closed_;
  std::string endpoint_;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, std::unique_ptr<Stream>> streams_;
  bool goaway_ = false;
  bool closed_ = false;
  bool flushing_ = false;
  bool receiving_ = false;
  uint32_t max_streams_ = 100;
};

}  // namespace interpose::http
