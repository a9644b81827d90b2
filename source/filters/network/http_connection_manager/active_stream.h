#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/interpose/http_filter.h"
#include "source/filters/network/http_connection_manager/config.h"
#include "source/http/filter_manager.h"
#include "source/http/stream_encoder.h"

namespace interpose::hcm {

// What a codec does for one stream: put a response on the wire in its own framing, and the
// per-stream flow controls. Implemented by the HTTP/1.1 connection manager (one stream at
// a time) and by each HTTP/2 stream.
class StreamCodec {
 public:
  virtual ~StreamCodec() = default;
  virtual void encodeHeaders(HeaderMap& headers, bool end_stream) = 0;
  virtual void encodeData(Buffer& data, bool end_stream) = 0;
  virtual void encodeTrailers(HeaderMap& trailers) = 0;
  virtual void resetStream(std::string_view reason) = 0;
  virtual void readDisable(bool disable) = 0;
  virtual uint32_t bufferLimit() const = 0;
  // `Expect: 100-continue` with a body to come: tell the client to send it.
  virtual void sendContinue() = 0;
  // The request headers went through every filter (HTTP/1.1 starts a CONNECT tunnel then).
  virtual void onRequestHeadersDone() {}
};

// One request/response exchange, whatever the codec: the per-stream policies that HTTP/1.1
// and HTTP/2 share live here once (hop-by-hop fields, Host, Expect, Via, cookies, flow
// control fan-out), around the stream's HTTP filters. Codecs turn bytes into the calls
// below and the StreamCodec calls back into bytes.
class ActiveStream : public http::StreamEncoder {
 public:
  // `protocol` as the access log shows it: "HTTP/1.1", "HTTP/1.0", "HTTP/2".
  ActiveStream(StreamCodec& codec, Worker& worker, const ConnectionInfo& connection, const HcmConfig& config,
               std::string_view protocol);
  ~ActiveStream() override;

  // The protocol an HTTP/1.1 request asks to switch to (the first Upgrade token, lower-case)
  // when it asks properly (Connection: upgrade) and the config lets it; else empty.
  static std::string upgradeType(const HeaderMap& request, const HcmConfig& config);
  // This stream's request is such an upgrade: its Upgrade and Connection fields go to the
  // origin, and a 101 back makes the stream a two-way byte stream.
  bool upgrading() const { return !upgrade_.empty(); }

  enum class Expectation { None, Continue, Unsupported };
  // What the request's Expect field asks for (only 100-continue is supported, RFC 9110 10.1.1).
  static Expectation expectation(const HeaderMap& request);

  // The request, with its pseudo-headers (:authority may still be missing if a Host field
  // names the origin). Applies the request policies, then runs the filters. `upgrade`: the
  // codec takes this request's upgrade (see upgradeType); any other Upgrade is dropped.
  void decodeHeaders(std::unique_ptr<HeaderMap> headers, bool end_stream, bool upgrade = false);
  void decodeData(Buffer& data, bool end_stream) { filters_.decodeData(data, end_stream); }
  void decodeTrailers(std::unique_ptr<HeaderMap> trailers) { filters_.decodeTrailers(std::move(trailers)); }

  // The client is behind (or caught up) on this stream: producers pause (or resume).
  // Counted, so a stream above for two reasons (its own buffer, the connection) waits for both.
  void onAboveWriteBufferHighWatermark();
  void onBelowWriteBufferLowWatermark();

  // From the codec: its own answer (CONNECT's 200) or error, through the filters.
  void encodeHeadersFromCodec(std::unique_ptr<HeaderMap> headers, bool end_stream) {
    filters_.encodeHeadersFromCodec(std::move(headers), end_stream);
  }
  void sendLocalReply(int status, std::string_view body, const HeaderMap& headers, std::string_view details) {
    filters_.sendLocalReply(status, body, headers, details);
  }
  StreamInfo& info() { return filters_.info(); }
  bool responseStarted() const { return filters_.responseStarted(); }
  bool responseComplete() const { return filters_.responseComplete(); }
  HeaderMap* requestHeaders() { return filters_.requestHeaders(); }

  // http::StreamEncoder: the response from the filters, policies applied, to the codec.
  void encodeHeaders(HeaderMap& headers, bool end_stream) override;
  void encodeData(Buffer& data, bool end_stream) override { codec_.encodeData(data, end_stream); }
  void encodeTrailers(HeaderMap& trailers) override { codec_.encodeTrailers(trailers); }
  void resetStream(std::string_view reason) override { codec_.resetStream(reason); }
  void addDownstreamWatermarkCallbacks(WatermarkCallbacks& cb) override;
  void removeDownstreamWatermarkCallbacks(WatermarkCallbacks& cb) override;
  void readDisableDownstream(bool disable) override { codec_.readDisable(disable); }
  uint32_t bufferLimit() const override { return codec_.bufferLimit(); }
  void onRequestHeadersDone() override { codec_.onRequestHeadersDone(); }

 private:
  std::string viaValue(bool response) const;  // "1.1 name", "2 name"; empty without `via`

  StreamCodec& codec_;
  const HcmConfig& config_;
  std::string version_;  // "1.0", "1.1" or "2", for Via
  std::string upgrade_;  // the protocol of an accepted upgrade request ("websocket")
  std::vector<WatermarkCallbacks*> watermark_callbacks_;
  int above_high_watermark_ = 0;
  http::FilterManager filters_;  // last: its filters may call back into the members above
};

}  // namespace interpose::hcm
