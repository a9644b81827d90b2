#include "source/filters/network/http_connection_manager/http2_conn_manager.h"

#include <boost/asio/post.hpp>
#include <cstring>

#include "api/interpose/strings.h"
#include "source/common/logger.h"
#include "source/filters/network/http_connection_manager/conn_manager.h"
#include "source/http/http1/serializer.h"

namespace interpose::hcm {
namespace {

constexpr uint32_t kMaxConcurrentStreams = 100;
constexpr int32_t kStreamWindow = 1 << 20;       // per stream: the buffer limit
constexpr int32_t kConnectionWindow = 16 << 20;  // all streams together
constexpr uint32_t kMaxResetsPerSecond = 200;    // more is a rapid-reset attack (CVE-2023-44487)
constexpr size_t kMaxHeadersPerRequest = 500;    // bounds CONTINUATION floods (CVE-2024-27316)
// Response bytes all streams of a connection may hold for a client that does not read (a
// zero window), in buffer limits: past it every stream's origin is paused.
constexpr size_t kConnectionBudgetInBufferLimits = 4;
constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Fields HTTP/2 forbids (RFC 9113 8.2.2); the rest of the hop-by-hop set goes too.
bool connectionSpecific(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" || name == "transfer-encoding" ||
         name == "upgrade";
}

nghttp2_nv makeNv(const std::string& name, const std::string& value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                    NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

// One request/response exchange on the connection.
class Http2ConnectionManager::Stream : public StreamCodec {
 public:
  Stream(Http2ConnectionManager& parent, int32_t id) : parent_(parent), id_(id) {
    request_ = std::make_unique<HeaderMap>();
  }
  ~Stream() override {
    parent_.releaseBuffered(body_.size());
    if (core_ && !response_complete_) {
      core_->info().response_flags |= response_flags::kDownstreamConnectionTermination;
    }
    core_.reset();
  }

  int32_t id() const { return id_; }
  HeaderMap& request() { return *request_; }
  size_t header_bytes = 0;
  size_t header_count = 0;
  bool headers_done = false;
  std::unique_ptr<HeaderMap> request_trailers;

  void start(bool end_stream) {
    headers_done = true;
    core_ = std::make_unique<ActiveStream>(*this, parent_.callbacks_->worker(), parent_.callbacks_->connectionInfo(),
                                           *parent_.config_, "HTTP/2");
    if (parent_.above_high_watermark_) core_->onAboveWriteBufferHighWatermark();
    HeaderMap& h = *request_;
    // :authority may be left out when a Host field names the origin (RFC 9113 8.3.1).
    if (h.authority().empty() && h.has("host")) h.add(":authority", std::string(h.getOr("host")));
    std::string_view method = h.method();
    if (method.empty() || h.authority().empty() || h.path().empty() || h.scheme().empty()) {
      if (method == "CONNECT") {
        core_->decodeHeaders(std::move(request_), true);  // routed to a local reply below
        core_->sendLocalReply(501, "CONNECT over HTTP/2 is not supported\n", {}, "h2_connect");
      } else {
        core_->sendLocalReply(400, "missing :method, :scheme, :authority or :path\n", {}, "h2_bad_request");
      }
      return;
    }
    request_end_ = end_stream;
    core_->decodeHeaders(std::move(request_), end_stream);
  }

  void data(const uint8_t* bytes, size_t len) {
    if (!core_) return;
    Buffer chunk(std::string_view(reinterpret_cast<const char*>(bytes), len));
    core_->decodeData(chunk, false);
    // Acknowledge (open the window for) these bytes now, unless the next hop is behind.
    if (read_disabled_ > 0) {
      unconsumed_ += len;
    } else {
      nghttp2_session_consume(parent_.session_, id_, len);
    }
  }
  void endRequest() {
    if (!core_ || request_end_) return;
    request_end_ = true;
    Buffer empty;
    core_->decodeData(empty, true);
  }
  void trailers(std::unique_ptr<HeaderMap> t) {
    if (!core_ || request_end_) return;
    request_end_ = true;
    core_->decodeTrailers(std::move(t));
  }
  void closed(uint32_t error_code) {
    if (core_ && !response_complete_ && error_code != NGHTTP2_NO_ERROR) {
      core_->info().error = str::cat("stream reset by client (", nghttp2_http2_strerror(error_code), ")");
    }
  }

  // ---- StreamCodec: the response ----
  void encodeHeaders(HeaderMap& headers, bool end_stream) override {
    std::vector<nghttp2_nv> nva;
    std::string status = std::to_string(headers.status());
    static const std::string kStatus = ":status";
    nva.push_back(makeNv(kStatus, status));
    for (const auto& [name, value] : headers) {
      // (Hop-by-hop fields are gone already; what HTTP/2 forbids must not slip through.)
      if (name.empty() || name[0] == ':' || connectionSpecific(name)) continue;
      nva.push_back(makeNv(name, value));
    }
    response_end_ = end_stream;
    if (end_stream) {
      nghttp2_submit_response(parent_.session_, id_, nva.data(), nva.size(), nullptr);
      response_complete_ = true;
    } else {
      nghttp2_data_provider provider;
      provider.source.ptr = this;
      provider.read_callback = &Stream::readBody;
      nghttp2_submit_response(parent_.session_, id_, nva.data(), nva.size(), &provider);
    }
    parent_.flush();
  }
  void encodeData(Buffer& data, bool end_stream) override {
    size_t bytes = data.size();
    body_.move(data);
    parent_.holdBuffered(bytes);
    if (parent_.over_budget_) budgetPause(true);
    response_end_ = response_end_ || end_stream;
    if (!above_ && body_.size() > bufferLimit()) {
      above_ = true;
      core_->onAboveWriteBufferHighWatermark();
    }
    nghttp2_session_resume_data(parent_.session_, id_);
    parent_.flush();
  }
  void encodeTrailers(HeaderMap& trailers) override {
    trailers_ = std::make_unique<HeaderMap>();
    for (const auto& [name, value] : trailers) {
      if (name[0] != ':' && !connectionSpecific(name) && name != "content-length") trailers_->add(name, value);
    }
    response_end_ = true;
    nghttp2_session_resume_data(parent_.session_, id_);
    parent_.flush();
  }
  void resetStream(std::string_view reason) override {
    nghttp2_submit_rst_stream(parent_.session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
    parent_.flush();
  }
  void readDisable(bool disable) override {
    if (disable) {
      ++read_disabled_;
    } else if (read_disabled_ > 0 && --read_disabled_ == 0 && unconsumed_ > 0) {
      nghttp2_session_consume(parent_.session_, id_, unconsumed_);
      unconsumed_ = 0;
      parent_.flush();  // the window update
    }
  }
  uint32_t bufferLimit() const override { return parent_.callbacks_->bufferLimit(); }
  void sendContinue() override {
    static const std::string kStatus = ":status";
    static const std::string kContinue = "100";
    nghttp2_nv nv = makeNv(kStatus, kContinue);
    nghttp2_submit_headers(parent_.session_, NGHTTP2_FLAG_NONE, id_, nullptr, &nv, 1, nullptr);
  }

  // Over the connection's budget, a stream that holds bytes pauses its producer (one that
  // holds none goes on: it costs nothing, and may be what the client is waiting for).
  void budgetPause(bool pause) {
    if (!core_ || pause == budget_paused_ || (pause && body_.empty())) return;
    budget_paused_ = pause;
    pause ? core_->onAboveWriteBufferHighWatermark() : core_->onBelowWriteBufferLowWatermark();
  }

  // The connection's write buffer crossed a watermark: every stream's producer hears it.
  void connectionWatermark(bool above) {
    if (!core_) return;  // not started: start() looks at the connection's state
    above ? core_->onAboveWriteBufferHighWatermark() : core_->onBelowWriteBufferLowWatermark();
  }

 private:
  static ssize_t readBody(nghttp2_session* session, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                          nghttp2_data_source* source, void*) {
    auto* self = static_cast<Stream*>(source->ptr);
    size_t n = std::min(length, self->body_.size());
    if (n > 0) {
      std::memcpy(buf, self->body_.data(), n);
      self->body_.drain(n);
      self->parent_.releaseBuffered(n);
      // Drained by a client that reads it: it holds nothing now, so it may go on even while
      // the connection is over budget (streams whose clients do not read stay paused).
      if (self->body_.empty()) self->budgetPause(false);
      if (self->above_ && self->body_.size() <= self->bufferLimit() / 2) {
        self->above_ = false;
        self->core_->onBelowWriteBufferLowWatermark();
      }
    }
    if (self->body_.empty() && self->response_end_) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      self->response_complete_ = true;
      if (self->trailers_) {
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        std::vector<nghttp2_nv> nva;
        for (const auto& [name, value] : *self->trailers_) nva.push_back(makeNv(name, value));
        nghttp2_submit_trailer(session, self->id_, nva.data(), nva.size());
      }
      return static_cast<ssize_t>(n);
    }
    if (n == 0) return NGHTTP2_ERR_DEFERRED;  // resumed by encodeData()
    return static_cast<ssize_t>(n);
  }

  Http2ConnectionManager& parent_;
  int32_t id_;
  std::unique_ptr<HeaderMap> request_;
  std::unique_ptr<ActiveStream> core_;
  bool request_end_ = false;
  Buffer body_;
  std::unique_ptr<HeaderMap> trailers_;
  bool response_end_ = false;
  bool response_complete_ = false;
  bool above_ = false;
  bool budget_paused_ = false;
  int read_disabled_ = 0;
  size_t unconsumed_ = 0;
};

Http2ConnectionManager::Http2ConnectionManager(std::shared_ptr<const HcmConfig> config) : config_(std::move(config)) {}

Http2ConnectionManager::~Http2ConnectionManager() {
  over_budget_ = false;  // streams going away release their bytes: no broadcast to them now
  streams_.clear();
  closed_.clear();
  if (session_) nghttp2_session_del(session_);
  if (callbacks_) callbacks_->removeWatermarkCallbacks(*this);
}

FilterStatus Http2ConnectionManager::onNewConnection() {
  nghttp2_session_callbacks* cbs;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &onFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &onStreamClose);
  nghttp2_option* options;
  nghttp2_option_new(&options);
  // Window updates follow what the next hop has taken, not what arrived.
  nghttp2_option_set_no_auto_window_update(options, 1);
  nghttp2_option_set_max_deflate_dynamic_table_size(options, 4096);
  nghttp2_session_server_new2(&session_, cbs, this, options);
  nghttp2_option_del(options);
  nghttp2_session_callbacks_del(cbs);

  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(kStreamWindow)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(config_->max_request_headers)},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  callbacks_->addWatermarkCallbacks(*this);
  tick_ = std::make_unique<Timer>(callbacks_->worker().ioContext(), [this] { onTick(); });
  idle_since_ = std::chrono::steady_clock::now();
  armTick();
  flush();
  return FilterStatus::Continue;
}

FilterStatus Http2ConnectionManager::onData(Buffer& data, bool end_stream) {
  if (closed_connection_) {
    data.clear();
    return FilterStatus::StopIteration;
  }
  receiving_ = true;
  ssize_t r = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data.data()), data.size());
  receiving_ = false;
  data.clear();
  if (fail_pending_) {
    fail_pending_ = false;
    flush();
    closed_connection_ = true;
    callbacks_->close(CloseType::FlushWrite);
    return FilterStatus::StopIteration;
  }
  if (r < 0) {
    fail(r == NGHTTP2_ERR_BAD_CLIENT_MAGIC ? NGHTTP2_PROTOCOL_ERROR : NGHTTP2_PROTOCOL_ERROR,
         nghttp2_strerror(static_cast<int>(r)));
    return FilterStatus::StopIteration;
  }
  flush();
  if (end_stream) {
    // The client is done sending; answer what is in flight, then close.
    goaway_sent_ = true;
    if (streams_.empty()) callbacks_->close(CloseType::FlushWrite);
  }
  releaseClosedStreams();
  return FilterStatus::StopIteration;
}

void Http2ConnectionManager::flush() {
  // Never from inside nghttp2's own receive callbacks: onData flushes when it returns.
  if (!session_ || closed_connection_ || flushing_ || receiving_ || above_high_watermark_) return;
  flushing_ = true;
  Buffer out;
  while (true) {
    const uint8_t* bytes = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_, &bytes);
    if (n <= 0) break;
    out.add(std::string_view(reinterpret_cast<const char*>(bytes), static_cast<size_t>(n)));
  }
  flushing_ = false;
  if (!out.empty()) callbacks_->write(out, false);
  if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
    closed_connection_ = true;
    callbacks_->close(CloseType::FlushWrite);
  }
}

void Http2ConnectionManager::fail(uint32_t error_code, std::string_view why) {
  log::debug("http2: connection ", callbacks_->connectionInfo().id, ": ", why);
  nghttp2_session_terminate_session(session_, error_code);
  if (receiving_) {
    fail_pending_ = true;  // onData sends the GOAWAY once nghttp2 returns
    return;
  }
  flush();
  closed_connection_ = true;
  callbacks_->close(CloseType::FlushWrite);
}

void Http2ConnectionManager::onTick() {
  if (closed_connection_) return;
  if (callbacks_->worker().draining() && !goaway_sent_) {
    // Graceful: streams already started finish; no new ones.
    goaway_sent_ = true;
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                          NGHTTP2_NO_ERROR, nullptr, 0);
    flush();
  }
  if (!goaway_sent_ && streams_.empty() && std::chrono::steady_clock::now() - idle_since_ >= config_->idle_timeout) {
    // No stream for timeouts.idle: say goodbye properly, as HTTP/1.1 closes quietly.
    goaway_sent_ = true;
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                          NGHTTP2_NO_ERROR, nullptr, 0);
    flush();
  }
  if (goaway_sent_ && streams_.empty()) {
    callbacks_->close(CloseType::FlushWrite);
    return;
  }
  armTick();
}

void Http2ConnectionManager::armTick() {
  // At least every second, so a server drain sends GOAWAY promptly.
  tick_->enable(std::min<std::chrono::milliseconds>(config_->idle_timeout, std::chrono::seconds(1)));
}

Http2ConnectionManager::Stream* Http2ConnectionManager::stream(int32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

void Http2ConnectionManager::releaseClosedStreams() {
  if (closed_.empty()) return;
  boost::asio::post(callbacks_->worker().ioContext(), [weak = std::weak_ptr<char>(life_), this] {
    if (weak.lock()) closed_.clear();
  });
}

int Http2ConnectionManager::onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<Http2ConnectionManager*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    self->streams_[frame->hd.stream_id] = std::make_unique<Stream>(*self, frame->hd.stream_id);
  }
  return 0;
}

int Http2ConnectionManager::onHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                                     size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* user) {
  auto* self = static_cast<Http2ConnectionManager*>(user);
  Stream* s = self->stream(frame->hd.stream_id);
  if (!s) return 0;
  s->header_bytes += namelen + valuelen;
  if (++s->header_count > kMaxHeadersPerRequest) {
    // Thousands of tiny fields (a CONTINUATION flood): the connection goes, not just the stream.
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  if (s->header_bytes > self->config_->max_request_headers) {
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_REFUSED_STREAM);
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  std::string n(reinterpret_cast<const char*>(name), namelen);
  std::string v(reinterpret_cast<const char*>(value), valuelen);
  if (s->headers_done) {
    // Request trailers (after the body), handed on when their HEADERS frame ends.
    if (!s->request_trailers) s->request_trailers = std::make_unique<HeaderMap>();
    s->request_trailers->emplace(std::move(n), std::move(v));
    return 0;
  }
  s->request().emplace(std::move(n), std::move(v));
  return 0;
}

int Http2ConnectionManager::onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<Http2ConnectionManager*>(user);
  bool end_stream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS: {
      Stream* s = self->stream(frame->hd.stream_id);
      if (!s) return 0;
      if (!s->headers_done) {
        s->start(end_stream);
      } else if (end_stream) {
        s->trailers(s->request_trailers ? std::move(s->request_trailers) : std::make_unique<HeaderMap>());
      }
      break;
    }
    case NGHTTP2_DATA:
      if (end_stream) {
        if (Stream* s = self->stream(frame->hd.stream_id)) s->endRequest();
      }
      break;
    case NGHTTP2_RST_STREAM: {
      auto now = std::chrono::steady_clock::now();
      if (now - self->reset_window_ > std::chrono::seconds(1)) {
        self->reset_window_ = now;
        self->resets_in_window_ = 0;
      }
      if (++self->resets_in_window_ > kMaxResetsPerSecond) {
        self->fail(NGHTTP2_ENHANCE_YOUR_CALM, "too many stream resets (rapid reset)");
      }
      break;
    }
    default:
      break;
  }
  return 0;
}

int Http2ConnectionManager::onDataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data, size_t len,
                                        void* user) {
  auto* self = static_cast<Http2ConnectionManager*>(user);
  if (Stream* s = self->stream(stream_id)) s->data(data, len);
  return 0;
}

int Http2ConnectionManager::onStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user) {
  auto* self = static_cast<Http2ConnectionManager*>(user);
  auto it = self->streams_.find(stream_id);
  if (it == self->streams_.end()) return 0;
  it->second->closed(error_code);
  // Freed on a fresh stack: this may run inside the stream's own encode call.
  self->closed_.push_back(std::move(it->second));
  self->streams_.erase(it);
  if (self->streams_.empty()) self->idle_since_ = std::chrono::steady_clock::now();
  self->releaseClosedStreams();
  return 0;
}

void Http2ConnectionManager::onEvent(ConnectionEvent event) {
  closed_connection_ = true;
  if (tick_) tick_->disable();
}

void Http2ConnectionManager::holdBuffered(size_t bytes) {
  buffered_ += bytes;
  if (over_budget_ || buffered_ <= kConnectionBudgetInBufferLimits * callbacks_->bufferLimit()) return;
  over_budget_ = true;  // every stream that holds bytes pauses its producer
  for (auto& [id, s] : streams_) s->budgetPause(true);
}

void Http2ConnectionManager::releaseBuffered(size_t bytes) {
  buffered_ -= std::min(buffered_, bytes);
  if (!over_budget_ || buffered_ > kConnectionBudgetInBufferLimits * callbacks_->bufferLimit() / 2) return;
  over_budget_ = false;
  for (auto& [id, s] : streams_) s->budgetPause(false);
}

void Http2ConnectionManager::onAboveWriteBufferHighWatermark() {
  above_high_watermark_ = true;
  for (auto& [id, s] : streams_) s->connectionWatermark(true);
}

void Http2ConnectionManager::onBelowWriteBufferLowWatermark() {
  above_high_watermark_ = false;
  for (auto& [id, s] : streams_) s->connectionWatermark(false);
  flush();
}

// ---- codec selection ----

void CodecSelector::initialize(NetworkFilterCallbacks& callbacks) { callbacks_ = &callbacks; }

void CodecSelector::choose(bool http2) {
  wait_.reset();
  if (http2) {
    impl_ = std::make_unique<Http2ConnectionManager>(config_);
  } else {
    impl_ = std::make_unique<ConnectionManager>(config_);
  }
  impl_->initialize(*callbacks_);
  impl_->onNewConnection();
}

FilterStatus CodecSelector::onNewConnection() {
  if (config_->codec == "http1") choose(false);
  if (config_->codec == "http2") choose(true);
  if (!impl_) {
    // auto: decided by the first bytes (after any TLS handshake); until then, on the clock.
    connected_ = std::chrono::steady_clock::now();
    wait_ = std::make_unique<Timer>(callbacks_->worker().ioContext(), [this] { onWaitTick(); });
    wait_->enable(std::min<std::chrono::milliseconds>(config_->idle_timeout, std::chrono::seconds(1)));
  }
  return FilterStatus::Continue;
}

void CodecSelector::onWaitTick() {
  auto now = std::chrono::steady_clock::now();
  bool expired = early_.empty() ? now - connected_ >= config_->idle_timeout
                                : now - first_byte_ >= config_->request_headers_timeout;
  if (callbacks_->worker().draining() || expired) {
    log::debug("connection ", callbacks_->connectionInfo().id, ": closed before it said which HTTP version");
    wait_.reset();
    callbacks_->close(CloseType::FlushWrite);
    return;
  }
  auto limit = early_.empty() ? config_->idle_timeout : config_->request_headers_timeout;
  wait_->enable(std::min<std::chrono::milliseconds>(limit, std::chrono::seconds(1)));
}

FilterStatus CodecSelector::onData(Buffer& data, bool end_stream) {
  if (!impl_) {
    if (early_.empty() && !data.empty()) first_byte_ = std::chrono::steady_clock::now();
    early_.move(data);
    std::string_view seen = early_.view();
    bool h2_alpn = callbacks_->connectionInfo().alpn == "h2";
    bool maybe_preface = kPreface.substr(0, std::min(seen.size(), kPreface.size())) == seen.substr(0, kPreface.size());
    if (!h2_alpn && maybe_preface && seen.size() < kPreface.size() && !end_stream) {
      return FilterStatus::StopIteration;  // could still be the HTTP/2 preface
    }
    choose(h2_alpn || (maybe_preface && seen.size() >= kPreface.size()));
    return impl_->onData(early_, end_stream);
  }
  return impl_->onData(data, end_stream);
}

FilterStatus CodecSelector::onWrite(Buffer& data, bool end_stream) {
  return impl_ ? impl_->onWrite(data, end_stream) : FilterStatus::Continue;
}

void CodecSelector::onEvent(ConnectionEvent event) {
  wait_.reset();
  if (impl_) impl_->onEvent(event);
}

}  // namespace interpose::hcm
