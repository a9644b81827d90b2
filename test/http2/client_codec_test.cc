// The client side HTTP/2 codec (Http2ClientConnection) over a real network::Connection on
// a loopback socket pair. The accepted end is driven by the test with an in-process
// nghttp2 server session (non-blocking reads and writes between polls of the event loop).

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/interpose/header_map.h"
#include "source/http/http2_client.h"
#include "source/network/connection.h"
#include "test/http2/h2_test_util.h"

namespace interpose::http2_test {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// What one request stream heard from the codec.
class RecordingCallbacks : public http::Http2ClientConnection::StreamCallbacks {
 public:
  void onResponseHeaders(std::unique_ptr<HeaderMap> h, bool end_stream) override {
    headers = std::move(h);
    headers_end_stream = end_stream;
    ended = ended || end_stream;
  }
  void onResponseData(Buffer& data, bool end_stream) override {
    body.append(data.view());
    data.clear();
    ended = ended || end_stream;
  }
  void onResponseTrailers(std::unique_ptr<HeaderMap> t) override {
    trailers = std::move(t);
    ended = true;
  }
  void onStreamReset(const std::string& why) override { resets.push_back(why); }
  void onRequestBufferAbove() override { ++above; }
  void onRequestBufferBelow() override { ++below; }

  std::unique_ptr<HeaderMap> headers;
  bool headers_end_stream = false;
  std::string body;
  std::unique_ptr<HeaderMap> trailers;
  bool ended = false;
  std::vector<std::string> resets;
  int above = 0;
  int below = 0;
};

// An nghttp2 server session on the accepted socket. Responses are queued by the test.
class NgServer {
 public:
  struct Request {
    Fields headers;
    bool ended = false;
    bool reset_received = false;
    uint32_t reset_code = 0;
    int stream_window_updates = 0;  // WINDOW_UPDATE frames for this stream
    bool closed = false;
  };

  explicit NgServer(tcp::socket socket) : socket_(std::move(socket)) {
    socket_.non_blocking(true);
    socket_.set_option(tcp::no_delay(true));  // no Nagle delay between small frames
    nghttp2_session_callbacks* cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &NgServer::onBeginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(cbs, &NgServer::onHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &NgServer::onFrameRecv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &NgServer::onStreamClose);
    nghttp2_session_server_new(&session_, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  }
  ~NgServer() { nghttp2_session_del(session_); }
  NgServer(const NgServer&) = delete;
  NgServer& operator=(const NgServer&) = delete;

  // Queues a response: headers, then `body`, then `trailers` (if any).
  void respond(int32_t id, const Fields& headers, std::string body, const Fields& trailers = {}) {
    auto& out = bodies_[id];
    out.data = std::move(body);
    out.trailers = trailers;
    auto nva = makeNva(headers);
    nghttp2_data_provider provider;
    provider.source.ptr = this;
    provider.read_callback = &NgServer::readBody;
    nghttp2_submit_response(session_, id, nva.data(), nva.size(), &provider);
  }
  void goaway(int32_t last_stream_id, uint32_t code = NGHTTP2_NO_ERROR) {
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, last_stream_id, code, nullptr, 0);
  }
  void reset(int32_t id, uint32_t code) { nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, code); }
  // Bytes of `id`'s body not yet sent (held back by the client's window).
  size_t unsent(int32_t id) { return bodies_[id].data.size() - bodies_[id].offset; }
  int32_t remoteWindow(int32_t id) { return nghttp2_session_get_stream_remote_window_size(session_, id); }

  // One round: read what the socket has, answer, write what the socket takes.
  // Returns true when any byte moved.
  bool step() {
    bool progress = false;
    char buf[64 * 1024];
    for (int i = 0; i < 1000; ++i) {
      boost::system::error_code ec;
      size_t n = socket_.read_some(asio::buffer(buf), ec);
      if (ec || n == 0) {
        if (ec && ec != asio::error::would_block) peer_closed = true;
        break;
      }
      progress = true;
      ssize_t r = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(buf), n);
      if (r < 0) recv_error = static_cast<int>(r);
    }
    for (int i = 0; i < 100000; ++i) {
      if (pending_.empty()) {
        const uint8_t* bytes = nullptr;
        ssize_t n = nghttp2_session_mem_send(session_, &bytes);
        if (n <= 0) break;
        pending_.assign(reinterpret_cast<const char*>(bytes), static_cast<size_t>(n));
      }
      boost::system::error_code ec;
      size_t n = socket_.write_some(asio::buffer(pending_), ec);
      if (ec) break;  // the socket is full: the rest goes next round
      pending_.erase(0, n);
      progress = progress || n > 0;
    }
    return progress;
  }

  std::map<int32_t, Request> requests;
  std::vector<int32_t> order;  // stream ids as the requests began
  bool peer_closed = false;
  int recv_error = 0;

 private:
  struct Body {
    std::string data;
    size_t offset = 0;
    Fields trailers;
  };
  static NgServer* self(void* user) { return static_cast<NgServer*>(user); }
  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      self(user)->requests[frame->hd.stream_id];
      self(user)->order.push_back(frame->hd.stream_id);
    }
    return 0;
  }
  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                      const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    self(user)->requests[frame->hd.stream_id].headers.emplace_back(
        std::string(reinterpret_cast<const char*>(name), namelen),
        std::string(reinterpret_cast<const char*>(value), valuelen));
    return 0;
  }
  static int onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto it = self(user)->requests.find(frame->hd.stream_id);
    if (it == self(user)->requests.end()) return 0;
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) it->second.ended = true;
    if (frame->hd.type == NGHTTP2_RST_STREAM) {
      it->second.reset_received = true;
      it->second.reset_code = frame->rst_stream.error_code;
    }
    if (frame->hd.type == NGHTTP2_WINDOW_UPDATE) ++it->second.stream_window_updates;
    return 0;
  }
  static int onStreamClose(nghttp2_session*, int32_t stream_id, uint32_t, void* user) {
    auto it = self(user)->requests.find(stream_id);
    if (it != self(user)->requests.end()) it->second.closed = true;
    return 0;
  }
  static ssize_t readBody(nghttp2_session* session, int32_t id, uint8_t* buf, size_t length, uint32_t* flags,
                          nghttp2_data_source*, void* user) {
    Body& b = self(user)->bodies_[id];
    size_t n = std::min(length, b.data.size() - b.offset);
    std::memcpy(buf, b.data.data() + b.offset, n);
    b.offset += n;
    if (b.offset == b.data.size()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!b.trailers.empty()) {
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        auto nva = makeNva(b.trailers);
        nghttp2_submit_trailer(session, id, nva.data(), nva.size());
      }
    }
    return static_cast<ssize_t>(n);
  }

  tcp::socket socket_;
  nghttp2_session* session_ = nullptr;
  std::string pending_;
  std::map<int32_t, Body> bodies_;
};

class Http2ClientCodecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket client(io_);
    client.connect(acceptor.local_endpoint());
    tcp::socket accepted = acceptor.accept();
    server_ = std::make_unique<NgServer>(std::move(accepted));
    auto connection = std::make_shared<network::Connection>(std::move(client), 1 << 20);
    codec_ = std::make_unique<http::Http2ClientConnection>(connection,
                                                           [this](http::Http2ClientConnection*) { ++closed_calls_; });
    connection->startReading();
    pump();
  }
  void TearDown() override {
    codec_.reset();
    io_.restart();
    io_.poll();
  }

  // Runs the event loop (in 2 ms slices, so that socket readiness is waited for, not
  // just polled) and the server, until nothing moves for a few rounds (bounded).
  void pump() {
    int idle = 0;
    for (int i = 0; i < 5000 && idle < 5; ++i) {
      io_.restart();
      bool progress = io_.run_for(std::chrono::milliseconds(2)) > 0;
      progress = server_->step() || progress;
      idle = progress ? 0 : idle + 1;
    }
  }

  static HeaderMap get(const std::string& path) {
    HeaderMap h;
    h.add(":method", "GET");
    h.add(":scheme", "https");
    h.add(":authority", "origin.test");
    h.add(":path", path);
    return h;
  }

  asio::io_context io_;
  std::unique_ptr<NgServer> server_;
  std::unique_ptr<http::Http2ClientConnection> codec_;
  int closed_calls_ = 0;
};

TEST_F(Http2ClientCodecTest, ResponseHeadersDataAndTrailers) {
  ASSERT_TRUE(codec_->canStartStream());
  RecordingCallbacks cb;
  HeaderMap request = get("/grpc");
  request.add("host", "origin.test");  // HTTP/2 has :authority instead
  request.add("connection", "keep-alive");
  request.add("te", "trailers");
  request.add("x-request", "1");
  int32_t id = codec_->startStream(request, true, cb);
  ASSERT_GT(id, 0);
  pump();
  ASSERT_EQ(server_->requests.count(id), 1u);
  const auto& req = server_->requests[id];
  EXPECT_TRUE(req.ended);
  EXPECT_EQ(*findField(req.headers, ":path"), "/grpc");
  EXPECT_EQ(*findField(req.headers, ":authority"), "origin.test");
  EXPECT_EQ(*findField(req.headers, "te"), "trailers");
  EXPECT_EQ(*findField(req.headers, "x-request"), "1");
  EXPECT_EQ(findField(req.headers, "host"), nullptr);
  EXPECT_EQ(findField(req.headers, "connection"), nullptr);

  std::string body = patternBody(100 * 1000);
  server_->respond(id, {{":status", "200"}, {"content-type", "application/grpc"}}, body,
                   {{"grpc-status", "0"}, {"grpc-message", "ok"}});
  pump();
  ASSERT_NE(cb.headers, nullptr);
  EXPECT_EQ(cb.headers->status(), 200);
  EXPECT_EQ(cb.headers->getOr("content-type"), "application/grpc");
  EXPECT_FALSE(cb.headers_end_stream);
  EXPECT_EQ(cb.body.size(), body.size());
  EXPECT_TRUE(cb.body == body);
  ASSERT_NE(cb.trailers, nullptr);
  EXPECT_EQ(cb.trailers->getOr("grpc-status"), "0");
  EXPECT_EQ(cb.trailers->getOr("grpc-message"), "ok");
  EXPECT_TRUE(cb.ended);
  EXPECT_TRUE(cb.resets.empty()) << cb.resets.front();
  EXPECT_EQ(codec_->activeStreams(), 0u);
  EXPECT_TRUE(codec_->canStartStream());
}

TEST_F(Http2ClientCodecTest, ResponseWithoutTrailersEndsWithData) {
  RecordingCallbacks cb;
  int32_t id = codec_->startStream(get("/plain"), true, cb);
  pump();
  server_->respond(id, {{":status", "404"}}, "not here\n");
  pump();
  ASSERT_NE(cb.headers, nullptr);
  EXPECT_EQ(cb.headers->status(), 404);
  EXPECT_EQ(cb.body, "not here\n");
  EXPECT_TRUE(cb.ended);
  EXPECT_EQ(cb.trailers, nullptr);
  EXPECT_TRUE(cb.resets.empty());
}

TEST_F(Http2ClientCodecTest, ReadDisableWithholdsWindowUpdates) {
  constexpr size_t kStreamWindow = 1 << 20;  // what the codec announces
  constexpr size_t kBody = 3 * kStreamWindow;
  RecordingCallbacks cb;
  int32_t id = codec_->startStream(get("/big"), true, cb);
  pump();
  codec_->readDisable(id, true);
  server_->respond(id, {{":status", "200"}}, patternBody(kBody));
  pump();
  EXPECT_EQ(cb.body.size(), kStreamWindow) << "the origin sent past the stream window";
  EXPECT_EQ(server_->remoteWindow(id), 0);
  EXPECT_EQ(server_->unsent(id), kBody - kStreamWindow);
  EXPECT_EQ(server_->requests[id].stream_window_updates, 0) << "window updates while read-disabled";
  EXPECT_FALSE(cb.ended);

  // Counted: two disables need two enables.
  codec_->readDisable(id, true);
  codec_->readDisable(id, false);
  pump();
  EXPECT_EQ(cb.body.size(), kStreamWindow);
  EXPECT_EQ(server_->requests[id].stream_window_updates, 0);

  codec_->readDisable(id, false);
  pump();
  EXPECT_GE(server_->requests[id].stream_window_updates, 1);
  EXPECT_EQ(cb.body.size(), kBody);
  EXPECT_TRUE(cb.body == patternBody(kBody));
  EXPECT_TRUE(cb.ended);
  EXPECT_TRUE(cb.resets.empty());
}

TEST_F(Http2ClientCodecTest, DetachSendsRstStreamCancel) {
  RecordingCallbacks cb;
  int32_t id = codec_->startStream(get("/slow"), true, cb);
  pump();
  ASSERT_EQ(server_->requests.count(id), 1u);
  codec_->detach(id);
  pump();
  EXPECT_TRUE(server_->requests[id].reset_received);
  EXPECT_EQ(server_->requests[id].reset_code, NGHTTP2_CANCEL);
  // No callbacks after detach, even if the origin answers anyway.
  server_->respond(id, {{":status", "200"}}, "late");
  pump();
  EXPECT_EQ(cb.headers, nullptr);
  EXPECT_TRUE(cb.body.empty());
  EXPECT_TRUE(cb.resets.empty());
  EXPECT_EQ(codec_->activeStreams(), 0u);
  EXPECT_TRUE(codec_->canStartStream());
}

TEST_F(Http2ClientCodecTest, DetachAfterCompleteResponseSendsNoReset) {
  RecordingCallbacks cb;
  int32_t id = codec_->startStream(get("/done"), true, cb);
  pump();
  server_->respond(id, {{":status", "200"}}, "ok");
  pump();
  ASSERT_TRUE(cb.ended);
  codec_->detach(id);
  pump();
  EXPECT_FALSE(server_->requests[id].reset_received);
}

TEST_F(Http2ClientCodecTest, GoawayStopsNewStreams) {
  RecordingCallbacks done;
  int32_t id = codec_->startStream(get("/before"), true, done);
  pump();
  ASSERT_TRUE(codec_->canStartStream());
  server_->goaway(id);
  server_->respond(id, {{":status", "200"}}, "still answered");
  pump();
  EXPECT_FALSE(codec_->canStartStream());
  // The stream the GOAWAY covers still completes.
  EXPECT_TRUE(done.ended);
  EXPECT_EQ(done.body, "still answered");
  EXPECT_TRUE(done.resets.empty());
  EXPECT_EQ(closed_calls_, 1) << "a GOAWAY'd connection without streams should report itself closed";
}

TEST_F(Http2ClientCodecTest, GoawayResetsStreamsPastLastStreamId) {
  RecordingCallbacks first;
  RecordingCallbacks second;
  int32_t a = codec_->startStream(get("/a"), true, first);
  int32_t b = codec_->startStream(get("/b"), true, second);
  pump();
  ASSERT_LT(a, b);
  server_->goaway(a);
  pump();
  EXPECT_FALSE(codec_->canStartStream());
  EXPECT_EQ(second.resets.size(), 1u) << "a stream the origin never processed must be reset";
  EXPECT_TRUE(first.resets.empty());
  server_->respond(a, {{":status", "200"}}, "a");
  pump();
  EXPECT_TRUE(first.ended);
  EXPECT_EQ(closed_calls_, 1);
}

TEST_F(Http2ClientCodecTest, OriginResetReportsStreamReset) {
  RecordingCallbacks cb;
  int32_t id = codec_->startStream(get("/reset"), true, cb);
  pump();
  server_->reset(id, NGHTTP2_INTERNAL_ERROR);
  pump();
  ASSERT_EQ(cb.resets.size(), 1u);
  EXPECT_NE(cb.resets[0].find("INTERNAL_ERROR"), std::string::npos) << cb.resets[0];
  EXPECT_TRUE(codec_->canStartStream());
}

}  // namespace
}  // namespace interpose::http2_test
