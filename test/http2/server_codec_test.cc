// The server side HTTP/2 codec (Http2ConnectionManager) driven by an in-process nghttp2
// client session: bytes go client -> onData() -> nghttp2 server -> filters -> write() ->
// client, with the worker's event loop run by hand between steps. No sockets.

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "api/interpose/http_filter.h"
#include "api/interpose/network_filter.h"
#include "source/filters/network/http_connection_manager/config.h"
#include "source/filters/network/http_connection_manager/http2_conn_manager.h"
#include "test/http2/h2_test_util.h"

namespace interpose::http2_test {
namespace {

constexpr uint32_t kBufferLimit = 64 * 1024;
constexpr size_t kChunk = 16 * 1024;
constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// ---------------------------------------------------------------- network side

class FakeNetworkCallbacks : public NetworkFilterCallbacks {
 public:
  explicit FakeNetworkCallbacks(Worker& worker) : worker_(worker) {
    info.remote_address = "127.0.0.1:40000";
    info.local_address = "127.0.0.1:8443";
    info.listener_name = "test";
    info.id = 42;
    info.secure = true;
    info.alpn = "h2";
  }

  const ConnectionInfo& connectionInfo() const override { return info; }
  ConnectionInfo& mutableConnectionInfo() override { return info; }
  Worker& worker() override { return worker_; }
  void continueReading() override { ++continue_reading_calls; }
  void injectReadDataToNextFilters(Buffer& data, bool) override { data.clear(); }
  void write(Buffer& data, bool end_stream) override {
    written.append(data.view());
    data.clear();
    write_end_stream = write_end_stream || end_stream;
  }
  void close(CloseType type, std::string_view) override {
    ++close_calls;
    close_type = type;
  }
  void readDisable(bool disable) override { read_disabled += disable ? 1 : -1; }
  void addWatermarkCallbacks(WatermarkCallbacks& cb) override { watermark_callbacks.push_back(&cb); }
  void removeWatermarkCallbacks(WatermarkCallbacks& cb) override { std::erase(watermark_callbacks, &cb); }
  uint32_t bufferLimit() const override { return kBufferLimit; }
  std::unique_ptr<InnerConnection> startInnerConnection(ConnectionInfo, InnerConnectionCallbacks&) override {
    return nullptr;
  }
  std::optional<TunnelChoice> previewInnerConnection(ConnectionInfo) const override { return std::nullopt; }

  // Everything written since the last call.
  std::string takeWritten() { return std::exchange(written, {}); }

  ConnectionInfo info;
  std::string written;
  bool write_end_stream = false;
  int close_calls = 0;
  CloseType close_type = CloseType::NoFlush;
  int read_disabled = 0;
  int continue_reading_calls = 0;
  std::vector<WatermarkCallbacks*> watermark_callbacks;

 private:
  Worker& worker_;
};

// ---------------------------------------------------------------- the test filter

// What the test filters saw, shared by every stream of a test.
struct Observed {
  int created = 0;
  int destroyed = 0;
  int completed = 0;
  std::map<std::string, HeaderMap> requests;  // by :path
  std::map<std::string, int> above;           // onAboveWriteBufferHighWatermark by :path
  std::map<std::string, int> below;
};

// A terminal filter that answers by :path:
//   /hang        nothing (the stream stays open)
//   /local       sendLocalReply(403)
//   /hop         200 with connection-specific fields in the response
//   /stream?n=N  N body bytes, produced 16 KiB at a time while the stream is below its
//                high watermark (as a router reading an origin would)
//   anything else: 200, the request's fields as "name: value" lines
class TestFilter : public HttpFilter, public WatermarkCallbacks {
 public:
  explicit TestFilter(Observed& observed) : observed_(observed) { ++observed_.created; }
  ~TestFilter() override { ++observed_.destroyed; }

  FilterHeadersStatus decodeHeaders(HeaderMap& headers, bool) override {
    path_ = std::string(headers.path());
    observed_.requests[path_] = headers;
    if (path_ == "/hang") return FilterHeadersStatus::StopIteration;
    if (path_ == "/local") {
      decoder_callbacks_->sendLocalReply(403, "denied by test\n", {}, "test_local");
      return FilterHeadersStatus::StopIteration;
    }
    if (path_ == "/hop") {
      auto response = std::make_unique<HeaderMap>();
      response->add(":status", "200");
      response->add("connection", "keep-alive, x-private");
      response->add("keep-alive", "timeout=5");
      response->add("transfer-encoding", "chunked");
      response->add("upgrade", "websocket");
      response->add("proxy-connection", "keep-alive");
      response->add("x-kept", "yes");
      decoder_callbacks_->encodeHeaders(std::move(response), false);
      Buffer body("hop\n");
      decoder_callbacks_->encodeData(body, true);
      return FilterHeadersStatus::StopIteration;
    }
    if (path_.starts_with("/stream?n=")) {
      remaining_ = std::stoul(path_.substr(std::string_view("/stream?n=").size()));
      decoder_callbacks_->addDownstreamWatermarkCallbacks(*this);
      watching_ = true;
      auto response = std::make_unique<HeaderMap>();
      response->add(":status", "200");
      response->add("content-length", std::to_string(remaining_));
      decoder_callbacks_->encodeHeaders(std::move(response), false);
      produce();
      return FilterHeadersStatus::StopIteration;
    }
    std::string body;
    for (const auto& [name, value] : headers) body.append(name).append(": ").append(value).append("\n");
    auto response = std::make_unique<HeaderMap>();
    response->add(":status", "200");
    response->add("content-type", "text/plain");
    response->add("content-length", std::to_string(body.size()));
    decoder_callbacks_->encodeHeaders(std::move(response), false);
    Buffer data(body);
    decoder_callbacks_->encodeData(data, true);
    return FilterHeadersStatus::StopIteration;
  }

  void onStreamComplete(const StreamInfo&) override { ++observed_.completed; }
  void onDestroy() override {
    *alive_ = false;
    if (watching_) decoder_callbacks_->removeDownstreamWatermarkCallbacks(*this);
    watching_ = false;
  }

  void onAboveWriteBufferHighWatermark() override {
    above_ = true;
    ++observed_.above[path_];
  }
  void onBelowWriteBufferLowWatermark() override {
    above_ = false;
    ++observed_.below[path_];
    if (remaining_ == 0 || refill_posted_) return;
    // Produce more from a fresh stack, as an upstream read completion would.
    refill_posted_ = true;
    boost::asio::post(decoder_callbacks_->worker().ioContext(), [alive = alive_, this] {
      if (!*alive) return;
      refill_posted_ = false;
      produce();
    });
  }

 private:
  void produce() {
    while (remaining_ > 0 && !above_) {
      size_t n = std::min(remaining_, kChunk);
      Buffer chunk(patternBody(n, sent_));
      sent_ += n;
      remaining_ -= n;
      decoder_callbacks_->encodeData(chunk, remaining_ == 0);
    }
  }

  Observed& observed_;
  std::string path_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool watching_ = false;
  bool above_ = false;
  bool refill_posted_ = false;
  size_t remaining_ = 0;
  size_t sent_ = 0;
};

// ---------------------------------------------------------------- the client

// An nghttp2 client session kept in memory. Response DATA is acknowledged as it arrives,
// except on "stalled" streams, whose window is never reopened (a client that stopped
// reading); their bytes still count against the connection window, which is reopened.
class NgClient {
 public:
  struct Response {
    Fields headers;
    std::string body;
    bool ended = false;
    bool closed = false;
    uint32_t close_code = 0;
    bool reset_received = false;
    uint32_t reset_code = 0;
  };

  explicit NgClient(uint32_t initial_window = 1 << 20) {
    nghttp2_session_callbacks* cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, &NgClient::onHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &NgClient::onFrameRecv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &NgClient::onDataChunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &NgClient::onStreamClose);
    nghttp2_option* options;
    nghttp2_option_new(&options);
    nghttp2_option_set_no_auto_window_update(options, 1);
    nghttp2_session_client_new2(&session_, cbs, this, options);
    nghttp2_option_del(options);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, initial_window},
    };
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, 16 << 20);
  }
  ~NgClient() { nghttp2_session_del(session_); }
  NgClient(const NgClient&) = delete;
  NgClient& operator=(const NgClient&) = delete;

  int32_t request(const std::string& path, const Fields& extra = {}, const std::string& authority = "example.test",
                  const std::string& method = "GET") {
    Fields fields = {{":method", method}, {":scheme", "https"}, {":authority", authority}, {":path", path}};
    fields.insert(fields.end(), extra.begin(), extra.end());
    auto nva = makeNva(fields);
    int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), nullptr, nullptr);
    if (id > 0) responses[id];
    return id;
  }
  void reset(int32_t id, uint32_t code = NGHTTP2_CANCEL) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, code);
  }
  void stall(int32_t id) { stalled_.insert(id); }

  std::string takeOutput() {
    std::string out;
    for (int i = 0; i < 100000; ++i) {
      const uint8_t* bytes = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &bytes);
      if (n <= 0) break;
      out.append(reinterpret_cast<const char*>(bytes), static_cast<size_t>(n));
    }
    return out;
  }
  // Returns nghttp2's verdict (< 0: the client gave up on the connection).
  ssize_t receive(std::string_view bytes) {
    if (bytes.empty()) return 0;
    return nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }

  nghttp2_session* session() { return session_; }

  std::map<int32_t, Response> responses;
  std::vector<uint32_t> goaway_codes;
  bool settings_received = false;

 private:
  static NgClient* self(void* user) { return static_cast<NgClient*>(user); }
  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                      const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    auto it = self(user)->responses.find(frame->hd.stream_id);
    if (it == self(user)->responses.end()) return 0;
    it->second.headers.emplace_back(std::string(reinterpret_cast<const char*>(name), namelen),
                                    std::string(reinterpret_cast<const char*>(value), valuelen));
    return 0;
  }
  static int onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    NgClient* c = self(user);
    if (frame->hd.type == NGHTTP2_GOAWAY) c->goaway_codes.push_back(frame->goaway.error_code);
    if (frame->hd.type == NGHTTP2_SETTINGS && !(frame->hd.flags & NGHTTP2_FLAG_ACK)) c->settings_received = true;
    auto it = c->responses.find(frame->hd.stream_id);
    if (it == c->responses.end()) return 0;
    if (frame->hd.type == NGHTTP2_RST_STREAM) {
      it->second.reset_received = true;
      it->second.reset_code = frame->rst_stream.error_code;
    }
    if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      it->second.ended = true;
    }
    return 0;
  }
  static int onDataChunk(nghttp2_session* session, uint8_t, int32_t stream_id, const uint8_t* data, size_t len,
                         void* user) {
    NgClient* c = self(user);
    auto it = c->responses.find(stream_id);
    if (it != c->responses.end()) it->second.body.append(reinterpret_cast<const char*>(data), len);
    if (c->stalled_.count(stream_id)) {
      nghttp2_session_consume_connection(session, len);
    } else {
      nghttp2_session_consume(session, stream_id, len);
    }
    return 0;
  }
  static int onStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user) {
    auto it = self(user)->responses.find(stream_id);
    if (it == self(user)->responses.end()) return 0;
    it->second.closed = true;
    it->second.close_code = error_code;
    return 0;
  }

  nghttp2_session* session_ = nullptr;
  std::set<int32_t> stalled_;
};

// ---------------------------------------------------------------- fixture

class Http2ServerCodecTest : public ::testing::Test {
 protected:
  Http2ServerCodecTest() : callbacks_(worker_) {}

  void SetUp() override { start(); }
  void TearDown() override {
    hcm_.reset();
    worker_.poll();
  }

  void start(uint32_t client_window = 1 << 20) {
    auto config = std::make_shared<hcm::HcmConfig>();
    config->codec = "http2";
    config->filters.push_back(
        http::FilterManager::FilterSpec{"test_terminal", [this] { return std::make_unique<TestFilter>(observed_); }});
    config_ = config;
    client_ = std::make_unique<NgClient>(client_window);
    hcm_ = std::make_unique<hcm::Http2ConnectionManager>(config_);
    hcm_->initialize(callbacks_);
    EXPECT_EQ(hcm_->onNewConnection(), FilterStatus::Continue);
    pump();
    ASSERT_TRUE(client_->settings_received);
  }

  // Hands raw bytes to the codec as if read from the connection.
  void feed(std::string_view bytes, bool end_stream = false) {
    Buffer data(bytes);
    hcm_->onData(data, end_stream);
  }

  // Moves bytes both ways and runs posted work until nothing moves any more (bounded).
  void pump() {
    for (int i = 0; i < 1000; ++i) {
      bool progress = false;
      std::string to_server = client_->takeOutput();
      if (!to_server.empty() && callbacks_.close_calls == 0) {
        feed(to_server);
        progress = true;
      }
      if (worker_.poll() > 0) progress = true;
      std::string to_client = callbacks_.takeWritten();
      if (!to_client.empty()) {
        server_bytes_ += to_client;
        client_->receive(to_client);
        progress = true;
      }
      if (!progress) return;
    }
    ADD_FAILURE() << "pump(): still moving bytes after 1000 rounds";
  }

  const NgClient::Response& response(int32_t id) { return client_->responses.at(id); }

  TestWorker worker_;
  FakeNetworkCallbacks callbacks_;
  Observed observed_;
  std::shared_ptr<const hcm::HcmConfig> config_;
  std::unique_ptr<NgClient> client_;
  std::unique_ptr<hcm::Http2ConnectionManager> hcm_;
  std::string server_bytes_;  // every byte the codec wrote
};

// ---------------------------------------------------------------- tests

TEST_F(Http2ServerCodecTest, SendsSettingsWithStreamLimit) {
  EXPECT_EQ(nghttp2_session_get_remote_settings(client_->session(), NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS), 100u);
  EXPECT_EQ(callbacks_.watermark_callbacks.size(), 1u);
  EXPECT_EQ(callbacks_.close_calls, 0);
}

TEST_F(Http2ServerCodecTest, GetGetsStatusAndBody) {
  int32_t id = client_->request("/hello?x=1");
  pump();
  const auto& r = response(id);
  ASSERT_TRUE(r.ended);
  ASSERT_NE(findField(r.headers, ":status"), nullptr);
  EXPECT_EQ(*findField(r.headers, ":status"), "200");
  EXPECT_EQ(*findField(r.headers, "content-type"), "text/plain");
  EXPECT_NE(r.body.find(":path: /hello?x=1\n"), std::string::npos) << r.body;
  EXPECT_EQ(*findField(r.headers, "content-length"), std::to_string(r.body.size()));
  EXPECT_EQ(r.close_code, NGHTTP2_NO_ERROR);
  EXPECT_EQ(callbacks_.close_calls, 0);
}

TEST_F(Http2ServerCodecTest, LocalReply) {
  int32_t id = client_->request("/local");
  pump();
  const auto& r = response(id);
  ASSERT_TRUE(r.ended);
  EXPECT_EQ(*findField(r.headers, ":status"), "403");
  EXPECT_EQ(r.body, "denied by test\n");
}

TEST_F(Http2ServerCodecTest, PseudoHeadersReachTheFilter) {
  client_->request("/p?q=1", {{"x-test", "v"}}, "origin.test:8443", "GET");
  pump();
  ASSERT_EQ(observed_.requests.count("/p?q=1"), 1u);
  const HeaderMap& h = observed_.requests["/p?q=1"];
  EXPECT_EQ(h.method(), "GET");
  EXPECT_EQ(h.scheme(), "https");
  EXPECT_EQ(h.authority(), "origin.test:8443");
  EXPECT_EQ(h.path(), "/p?q=1");
  EXPECT_EQ(h.getOr("x-test"), "v");
  // Pseudo-headers first, in the documented order.
  ASSERT_GE(h.size(), 4u);
  std::vector<std::string> first;
  for (size_t i = 0; i < 4; ++i) first.push_back(h.entries()[i].first);
  std::sort(first.begin(), first.end());
  EXPECT_EQ(first, (std::vector<std::string>{":authority", ":method", ":path", ":scheme"}));
}

TEST_F(Http2ServerCodecTest, CookieFieldsAreJoined) {
  client_->request("/cookies", {{"cookie", "a=1"}, {"x-between", "1"}, {"cookie", "b=2"}});
  pump();
  ASSERT_EQ(observed_.requests.count("/cookies"), 1u);
  const HeaderMap& h = observed_.requests["/cookies"];
  size_t cookie_fields = 0;
  for (const auto& [name, value] : h) cookie_fields += name == "cookie";
  EXPECT_EQ(cookie_fields, 1u);
  EXPECT_EQ(h.getOr("cookie"), "a=1; b=2");
}

TEST_F(Http2ServerCodecTest, TenConcurrentStreamsCompleteIndependently) {
  int32_t hanging = client_->request("/hang");
  std::vector<int32_t> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(client_->request("/s?i=" + std::to_string(i)));
  pump();
  for (int i = 0; i < 10; ++i) {
    const auto& r = response(ids[i]);
    ASSERT_TRUE(r.ended) << "stream " << i;
    EXPECT_EQ(*findField(r.headers, ":status"), "200");
    EXPECT_NE(r.body.find(":path: /s?i=" + std::to_string(i) + "\n"), std::string::npos) << r.body;
    // Each body names its own request only.
    for (int j = 0; j < 10; ++j) {
      if (j != i) EXPECT_EQ(r.body.find("/s?i=" + std::to_string(j) + "\n"), std::string::npos);
    }
  }
  EXPECT_FALSE(response(hanging).ended);
  EXPECT_FALSE(response(hanging).closed);
  EXPECT_EQ(observed_.created, 11);
  EXPECT_EQ(observed_.destroyed, 10);
  EXPECT_EQ(observed_.completed, 10);
  // The hanging stream still gets its answer cancelled cleanly.
  client_->reset(hanging);
  pump();
  EXPECT_EQ(observed_.destroyed, 11);
  EXPECT_EQ(callbacks_.close_calls, 0);
}

TEST_F(Http2ServerCodecTest, StreamStateIsFreedAfterTheStreamEnds) {
  for (int round = 1; round <= 3; ++round) {
    client_->request("/free?r=" + std::to_string(round));
    pump();
    EXPECT_EQ(observed_.created, round);
    EXPECT_EQ(observed_.completed, round);
    EXPECT_EQ(observed_.destroyed, round) << "the filter of a finished stream is still alive";
  }
  // A stream the client resets is freed too.
  int32_t hanging = client_->request("/hang");
  pump();
  EXPECT_EQ(observed_.destroyed, 3);
  client_->reset(hanging);
  pump();
  EXPECT_EQ(observed_.created, 4);
  EXPECT_EQ(observed_.destroyed, 4);
  EXPECT_EQ(observed_.completed, 4);
}

TEST_F(Http2ServerCodecTest, StalledReaderFiresItsWatermarkWithoutStallingOthers) {
  TearDown();
  callbacks_.written.clear();
  start(16 * 1024);  // the client's per-stream window: 16 KiB
  constexpr size_t kBody = 256 * 1024;
  int32_t slow = client_->request("/stream?n=" + std::to_string(kBody) + "&slow");
  client_->stall(slow);
  int32_t fast = client_->request("/stream?n=" + std::to_string(kBody));
  pump();
  const std::string slow_path = "/stream?n=" + std::to_string(kBody) + "&slow";
  const std::string fast_path = "/stream?n=" + std::to_string(kBody);

  const auto& f = response(fast);
  ASSERT_TRUE(f.ended) << "the fast stream stalled behind the slow one; got " << f.body.size() << " bytes";
  EXPECT_EQ(f.body.size(), kBody);
  EXPECT_TRUE(f.body == patternBody(kBody)) << "fast stream body differs";

  const auto& s = response(slow);
  EXPECT_FALSE(s.ended);
  EXPECT_EQ(s.body.size(), 16u * 1024) << "the slow stream got more than its window";
  EXPECT_GE(observed_.above[slow_path], 1) << "no high watermark for the stalled stream";
  EXPECT_EQ(observed_.below[slow_path], 0);
  EXPECT_EQ(callbacks_.close_calls, 0);
  EXPECT_EQ(callbacks_.read_disabled, 0) << "a slow stream paused the whole connection";

  // The slow reader catches up: its producer resumes and the stream completes.
  nghttp2_session_consume_stream(client_->session(), slow, s.body.size());
  nghttp2_submit_window_update(client_->session(), NGHTTP2_FLAG_NONE, slow, 8 << 20);
  pump();
  EXPECT_TRUE(response(slow).ended);
  EXPECT_EQ(response(slow).body.size(), kBody);
  EXPECT_TRUE(response(slow).body == patternBody(kBody));
  EXPECT_GE(observed_.below[slow_path], 1);
  EXPECT_EQ(observed_.destroyed, 2);
}

TEST_F(Http2ServerCodecTest, ResponseHeadersDropConnectionSpecificFields) {
  int32_t id = client_->request("/hop");
  pump();
  const auto& r = response(id);
  // nghttp2 resets a stream whose response carries connection-specific fields, so an
  // unclean header block shows up as a reset here too.
  EXPECT_FALSE(r.reset_received) << "code " << r.reset_code;
  ASSERT_TRUE(r.ended) << "close code " << r.close_code;
  EXPECT_EQ(*findField(r.headers, ":status"), "200");
  EXPECT_EQ(r.body, "hop\n");
  ASSERT_NE(findField(r.headers, "x-kept"), nullptr);
  for (const char* name : {"connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection"}) {
    EXPECT_EQ(findField(r.headers, name), nullptr) << name;
  }
}

TEST_F(Http2ServerCodecTest, RstStreamFloodGetsEnhanceYourCalm) {
  int sent = 0;
  for (int batch = 0; batch < 10 && client_->goaway_codes.empty() && callbacks_.close_calls == 0; ++batch) {
    std::vector<int32_t> ids;
    for (int i = 0; i < 50; ++i) ids.push_back(client_->request("/hang"));
    pump();
    for (int32_t id : ids) client_->reset(id);
    sent += static_cast<int>(ids.size());
    pump();
  }
  EXPECT_LE(sent, 300) << "the codec took " << sent << " resets";
  ASSERT_FALSE(client_->goaway_codes.empty()) << "no GOAWAY after " << sent << " resets";
  EXPECT_EQ(client_->goaway_codes.back(), NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_GE(callbacks_.close_calls, 1);
  // Every stream's filter went away with the connection's streams.
  hcm_.reset();
  worker_.poll();
  EXPECT_EQ(observed_.created, observed_.destroyed);
}

TEST_F(Http2ServerCodecTest, SixHundredHeadersIsAConnectionError) {
  Fields many;
  for (int i = 0; i < 600; ++i) many.emplace_back("x-h" + std::to_string(i), "v");
  int32_t id = client_->request("/many", many);
  pump();
  EXPECT_FALSE(response(id).ended);
  EXPECT_EQ(observed_.requests.count("/many"), 0u) << "600 header fields reached the filter";
  EXPECT_GE(callbacks_.close_calls, 1) << "connection kept open";
  auto codes = goawayCodes(server_bytes_);
  ASSERT_FALSE(codes.empty()) << "no GOAWAY before the close";
  EXPECT_NE(codes.back(), NGHTTP2_NO_ERROR);
}

TEST_F(Http2ServerCodecTest, FiveHundredHeadersAreAccepted) {
  Fields fields;
  for (int i = 0; i < 400; ++i) fields.emplace_back("x-h" + std::to_string(i), "v");
  int32_t id = client_->request("/fine", fields);
  pump();
  EXPECT_TRUE(response(id).ended);
  EXPECT_EQ(callbacks_.close_calls, 0);
}

TEST_F(Http2ServerCodecTest, DataOnStreamZeroIsProtocolError) {
  callbacks_.takeWritten();
  feed(makeFrame(NGHTTP2_DATA, 0, 0, "hello"));
  pump();
  auto codes = goawayCodes(callbacks_.written + server_bytes_);
  ASSERT_FALSE(codes.empty());
  EXPECT_EQ(codes.back(), NGHTTP2_PROTOCOL_ERROR);
  EXPECT_GE(callbacks_.close_calls, 1);
  EXPECT_EQ(callbacks_.close_type, CloseType::FlushWrite);
}

class Http2ServerCodecRawTest : public ::testing::Test {
 protected:
  Http2ServerCodecRawTest() : callbacks_(worker_) {
    auto config = std::make_shared<hcm::HcmConfig>();
    config->filters.push_back(
        http::FilterManager::FilterSpec{"test_terminal", [this] { return std::make_unique<TestFilter>(observed_); }});
    hcm_ = std::make_unique<hcm::Http2ConnectionManager>(config);
    hcm_->initialize(callbacks_);
    hcm_->onNewConnection();
  }
  ~Http2ServerCodecRawTest() override {
    hcm_.reset();
    worker_.poll();
  }
  void feed(std::string_view bytes) {
    Buffer data(bytes);
    hcm_->onData(data, false);
    worker_.poll();
  }

  TestWorker worker_;
  FakeNetworkCallbacks callbacks_;
  Observed observed_;
  std::unique_ptr<hcm::Http2ConnectionManager> hcm_;
};

TEST_F(Http2ServerCodecRawTest, InvalidFrameAfterPrefaceIsProtocolError) {
  // A SETTINGS frame whose length is not a multiple of 6: FRAME_SIZE_ERROR or
  // PROTOCOL_ERROR; DATA on stream 0 (RFC 9113 6.1): PROTOCOL_ERROR.
  feed(std::string(kPreface) + makeFrame(NGHTTP2_SETTINGS, 0, 0) + makeFrame(NGHTTP2_DATA, 0, 0, "x"));
  auto codes = goawayCodes(callbacks_.written);
  ASSERT_FALSE(codes.empty()) << "no GOAWAY";
  EXPECT_EQ(codes.back(), NGHTTP2_PROTOCOL_ERROR);
  EXPECT_GE(callbacks_.close_calls, 1);
  // Nothing more is read.
  size_t before = callbacks_.written.size();
  feed(makeFrame(NGHTTP2_PING, 0, 0, std::string(8, 'p')));
  EXPECT_EQ(callbacks_.written.size(), before);
}

TEST_F(Http2ServerCodecRawTest, BadPrefaceIsProtocolError) {
  feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  auto codes = goawayCodes(callbacks_.written);
  ASSERT_FALSE(codes.empty()) << "no GOAWAY";
  EXPECT_EQ(codes.back(), NGHTTP2_PROTOCOL_ERROR);
  EXPECT_GE(callbacks_.close_calls, 1);
}

}  // namespace
}  // namespace interpose::http2_test
