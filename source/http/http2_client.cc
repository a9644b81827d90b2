#include "source/http/http2_client.h"

#include <cstring>

#include "api/interpose/strings.h"
#include "source/common/logger.h"

namespace interpose::http {
namespace {

constexpr int32_t kStreamWindow = 1 << 20;
constexpr int32_t kConnectionWindow = 16 << 20;
constexpr size_t kRequestBufferLimit = 1 << 20;

bool forbiddenInHttp2(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" || name == "transfer-encoding" ||
         name == "upgrade" || name == "host";
}

}  // namespace

struct Http2ClientConnection::Stream {
  StreamCallbacks* callbacks = nullptr;  // null once detached
  std::unique_ptr<HeaderMap> headers;
  bool final_headers = false;
  Buffer body;  // request body waiting for the origin's window
  bool body_end = false;
  std::unique_ptr<HeaderMap> trailers;
  bool above = false;
  bool response_complete = false;
  int read_disabled = 0;
  size_t unconsumed = 0;
};

Http2ClientConnection::Http2ClientConnection(network::ConnectionPtr connection,
                                             std::function<void(Http2ClientConnection*)> on_closed)
    : connection_(std::move(connection)), on_closed_(std::move(on_closed)) {
  endpoint_ = connection_->remoteAddress();
  nghttp2_session_callbacks* cbs;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &onFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &onStreamClose);
  nghttp2_option* options;
  nghttp2_option_new(&options);
  nghttp2_option_set_no_auto_window_update(options, 1);
  nghttp2_session_client_new2(&session_, cbs, this, options);
  nghttp2_option_del(options);
  nghttp2_session_callbacks_del(cbs);
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(kStreamWindow)},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  connection_->setCallbacks(this);
  flush();
}

Http2ClientConnection::~Http2ClientConnection() {
  for (auto& [id, s] : streams_) s->callbacks = nullptr;
  connection_->setCallbacks(nullptr);
  connection_->close(CloseType::NoFlush);
  nghttp2_session_del(session_);
}

bool Http2ClientConnection::canStartStream() const {
  if (closed_ || goaway_ || !connection_->isOpen()) return false;
  uint32_t remote_max = nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  return streams_.size() < std::min(remote_max, max_streams_);
}

int32_t Http2ClientConnection::startStream(const HeaderMap& request, bool end_stream, StreamCallbacks& callbacks) {
  std::vector<nghttp2_nv> nva;
  auto nv = [](const std::string& n, const std::string& v) {
    return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                      NGHTTP2_NV_FLAG_NONE};
  };
  for (const auto& [name, value] : request) {
    if (forbiddenInHttp2(name)) continue;
    if (name == "te" && !str::equalsIgnoreCase(value, "trailers")) continue;
    nva.push_back(nv(name, value));
  }
  auto stream = std::make_unique<Stream>();
  stream->callbacks = &callbacks;
  stream->body_end = end_stream;
  nghttp2_data_provider provider;
  provider.source.ptr = nullptr;
  provider.read_callback = &readBody;
  int32_t id =
      nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), end_stream ? nullptr : &provider, nullptr);
  if (id < 0) return -1;
  streams_[id] = std::move(stream);
  flush();
  return id;
}

void Http2ClientConnection::sendData(int32_t id, Buffer& data, bool end_stream) {
  auto it = streams_.find(id);
  if (it == streams_.end()) {
    data.clear();
    return;
  }
  Stream& s = *it->second;
  s.body.move(data);
  s.body_end = s.body_end || end_stream;
  if (!s.above && s.body.size() > kRequestBufferLimit && s.callbacks) {
    s.above = true;
    s.callbacks->onRequestBufferAbove();
  }
  nghttp2_session_resume_data(session_, id);
  flush();
}

void Http2ClientConnection::sendTrailers(int32_t id, const HeaderMap& trailers) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  it->second->trailers = std::make_unique<HeaderMap>();
  for (const auto& [name, value] : trailers) {
    if (name[0] != ':' && !forbiddenInHttp2(name)) it->second->trailers->add(name, value);
  }
  it->second->body_end = true;
  nghttp2_session_resume_data(session_, id);
  flush();
}

ssize_t Http2ClientConnection::readBody(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length,
                                        uint32_t* flags, nghttp2_data_source*, void* user) {
  auto* self = static_cast<Http2ClientConnection*>(user);
  auto it = self->streams_.find(stream_id);
  if (it == self->streams_.end()) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  Stream& s = *it->second;
  size_t n = std::min(length, s.body.size());
  std::memcpy(buf, s.body.data(), n);
  s.body.drain(n);
  if (s.above && s.body.size() <= kRequestBufferLimit / 2) {
    s.above = false;
    if (s.callbacks) s.callbacks->onRequestBufferBelow();
  }
  if (s.body.empty() && s.body_end) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (s.trailers) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      std::vector<nghttp2_nv> nva;
      for (const auto& [name, value] : *s.trailers) {
        nva.push_back(nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                                 reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                                 NGHTTP2_NV_FLAG_NONE});
      }
      nghttp2_submit_trailer(session, stream_id, nva.data(), nva.size());
    }
    return static_cast<ssize_t>(n);
  }
  if (n == 0) return NGHTTP2_ERR_DEFERRED;
  return static_cast<ssize_t>(n);
}

void Http2ClientConnection::detach(int32_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  Stream& s = *it->second;
  s.callbacks = nullptr;
  // Give back the window this stream was holding, or the connection's window shrinks for good.
  if (s.unconsumed > 0) {
    nghttp2_session_consume(session_, id, s.unconsumed);
    s.unconsumed = 0;
  }
  s.read_disabled = 0;
  if (!s.response_complete) nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  flush();
}

void Http2ClientConnection::readDisable(int32_t id, bool disable) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  Stream& s = *it->second;
  if (disable) {
    ++s.read_disabled;
  } else if (s.read_disabled > 0 && --s.read_disabled == 0 && s.unconsumed > 0) {
    nghttp2_session_consume(session_, id, s.unconsumed);
    s.unconsumed = 0;
    flush();
  }
}

int Http2ClientConnection::onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                                    const uint8_t* value, size_t valuelen, uint8_t, void* user) {
  auto* self = static_cast<Http2ClientConnection*>(user);
  auto it = self->streams_.find(frame->hd.stream_id);
  if (it == self->streams_.end()) return 0;
  Stream& s = *it->second;
  if (!s.headers) s.headers = std::make_unique<HeaderMap>();
  s.headers->emplace(std::string(reinterpret_cast<const char*>(name), namelen),
                     std::string(reinterpret_cast<const char*>(value), valuelen));
  return 0;
}

int Http2ClientConnection::onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<Http2ClientConnection*>(user);
  if (frame->hd.type == NGHTTP2_GOAWAY) {
    self->goaway_ = true;
    return 0;
  }
  auto it = self->streams_.find(frame->hd.stream_id);
  if (it == self->streams_.end()) return 0;
  Stream& s = *it->second;
  bool end_stream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
  if (frame->hd.type == NGHTTP2_HEADERS && s.headers) {
    auto headers = std::move(s.headers);
    if (!s.final_headers) {
      if (headers->status() < 200) return 0;  // interim (100 Continue): the client got ours
      s.final_headers = true;
      if (end_stream) s.response_complete = true;
      if (s.callbacks) s.callbacks->onResponseHeaders(std::move(headers), end_stream);
    } else {
      s.response_complete = true;
      if (s.callbacks) s.callbacks->onResponseTrailers(std::move(headers));
    }
  } else if (frame->hd.type == NGHTTP2_DATA && end_stream) {
    s.response_complete = true;
    Buffer empty;
    if (s.callbacks) s.callbacks->onResponseData(empty, true);
  }
  return 0;
}

int Http2ClientConnection::onDataChunk(nghttp2_session* session, uint8_t, int32_t stream_id, const uint8_t* data,
                                       size_t len, void* user) {
  auto* self = static_cast<Http2ClientConnection*>(user);
  auto it = self->streams_.find(stream_id);
  if (it == self->streams_.end()) {
    nghttp2_session_consume(session, stream_id, len);
    return 0;
  }
  Stream& s = *it->second;
  Buffer chunk(std::string_view(reinterpret_cast<const char*>(data), len));
  if (s.callbacks) s.callbacks->onResponseData(chunk, false);
  // Acknowledge now unless the requester's client is behind (then when it catches up).
  if (s.read_disabled > 0 && s.callbacks) {
    s.unconsumed += len;
  } else {
    nghttp2_session_consume(session, stream_id, len);
  }
  return 0;
}

int Http2ClientConnection::onStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user) {
  auto* self = static_cast<Http2ClientConnection*>(user);
  auto it = self->streams_.find(stream_id);
  if (it == self->streams_.end()) return 0;
  std::unique_ptr<Stream> s = std::move(it->second);
  self->streams_.erase(it);
  if (!s->response_complete && s->callbacks) {
    s->callbacks->onStreamReset(str::cat("upstream reset the stream (", nghttp2_http2_strerror(error_code), ")"));
  }
  return 0;
}

void Http2ClientConnection::flush() {
  // Never from inside nghttp2's own receive callbacks: onRead flushes when it returns.
  if (closed_ || flushing_ || receiving_) return;
  flushing_ = true;
  Buffer out;
  while (true) {
    const uint8_t* bytes = nullptr;
    ssize_t n = nghttp2_session_mem_send(session_, &bytes);
    if (n <= 0) break;
    out.add(std::string_view(reinterpret_cast<const char*>(bytes), static_cast<size_t>(n)));
  }
  flushing_ = false;
  if (!out.empty()) connection_->write(out, false);
  maybeClosed();
}

void Http2ClientConnection::onRead(Buffer& data, bool end_stream) {
  if (closed_) return;
  receiving_ = true;
  ssize_t r = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data.data()), data.size());
  receiving_ = false;
  data.clear();
  if (r < 0) {
    failAll(str::cat("upstream HTTP/2 protocol error: ", nghttp2_strerror(static_cast<int>(r))));
    return;
  }
  if (end_stream) {
    failAll("upstream closed the HTTP/2 connection");
    return;
  }
  flush();
}

void Http2ClientConnection::onEvent(ConnectionEvent event) {
  failAll(connection_->closeReason().empty() ? "upstream connection closed"
                                             : str::cat("upstream TLS error: ", connection_->closeReason()));
}

void Http2ClientConnection::failAll(const std::string& reason) {
  if (closed_) return;
  closed_ = true;
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, s] : streams) {
    if (!s->response_complete && s->callbacks) s->callbacks->onStreamReset(reason);
  }
  if (on_closed_) std::exchange(on_closed_, nullptr)(this);
}

void Http2ClientConnection::maybeClosed() {
  if (closed_) return;
  bool done =
      (goaway_ && streams_.empty()) || (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_));
  if (done) failAll("upstream HTTP/2 connection finished");
}

}  // namespace interpose::http
