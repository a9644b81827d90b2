#include "source/http/filter_manager.h"

#include "api/interpose/strings.h"
#include "source/common/logger.h"

namespace interpose::http {

// The callbacks of one filter, which know its position in the chain.
class FilterManager::ActiveFilter : public DecoderFilterCallbacks, public EncoderFilterCallbacks {
 public:
  ActiveFilter(FilterManager& parent, size_t index, const std::string& name, std::unique_ptr<HttpFilter> filter)
      : parent_(parent), index_(index), name_(name), filter_(std::move(filter)) {}
  HttpFilter& filter() { return *filter_; }

  const ConnectionInfo& connectionInfo() const override { return parent_.connection_; }
  StreamInfo& streamInfo() override { return parent_.info_; }
  Worker& worker() override { return parent_.worker_; }
  void sendLocalReply(int status, std::string_view body, const HeaderMap& headers, std::string_view details) override {
    parent_.sendLocalReply(status, body, headers, details);
  }
  void resetStream(std::string_view reason) override {
    parent_.reset_ = true;
    if (parent_.info_.error.empty()) parent_.info_.error = std::string(reason);
    parent_.encoder_.resetStream(reason);
  }
  uint32_t bufferLimit() const override { return parent_.encoder_.bufferLimit(); }
  const Route* route() override { return parent_.route_; }
  void clearRouteCache() override {
    if (!parent_.routes_ || !parent_.request_headers_) return;
    parent_.route_ = parent_.routes_->match(*parent_.request_headers_);
    parent_.info_.route_name = parent_.route_ ? parent_.route_->name() : "";
  }
  const std::string& filterName() const override { return name_; }

  void continueDecoding() override { parent_.continueDecoding(index_); }
  HeaderMap& requestHeaders() override { return *parent_.request_headers_; }
  // (A response the filter manager replaced, with a 500 or a local reply, takes nothing more
  // from the filter that produced it: its bytes would follow the replacement's body.)
  void encodeHeaders(std::unique_ptr<HeaderMap> headers, bool end_stream) override {
    if (!parent_.replaced_oversized_response_) parent_.encodeHeaders(std::move(headers), end_stream);
  }
  void encodeData(Buffer& data, bool end_stream) override {
    if (parent_.replaced_oversized_response_) {
      data.clear();
      return;
    }
    parent_.encodeData(data, end_stream);
  }
  void encodeTrailers(std::unique_ptr<HeaderMap> trailers) override {
    if (!parent_.replaced_oversized_response_) parent_.encodeTrailers(std::move(trailers));
  }
  void addDownstreamWatermarkCallbacks(WatermarkCallbacks& cb) override {
    parent_.encoder_.addDownstreamWatermarkCallbacks(cb);
  }
  void removeDownstreamWatermarkCallbacks(WatermarkCallbacks& cb) override {
    parent_.encoder_.removeDownstreamWatermarkCallbacks(cb);
  }
  void readDisableDownstream(bool disable) override { parent_.encoder_.readDisableDownstream(disable); }

  void continueEncoding() override { parent_.continueEncoding(parent_.filters_.size() - 1 - index_); }
  HeaderMap* responseHeaders() override { return parent_.response_headers_.get(); }

 private:
  FilterManager& parent_;
  size_t index_;
  const std::string& name_;
  std::unique_ptr<HttpFilter> filter_;
};

FilterManager::FilterManager(StreamEncoder& encoder, Worker& worker, const ConnectionInfo& connection,
                             const std::vector<FilterSpec>& filters, const RouteTable* routes)
    : encoder_(encoder), worker_(worker), connection_(connection), specs_(filters), routes_(routes) {
  info_.start_time = std::chrono::system_clock::now();
  info_.start = StreamInfo::Clock::now();
  info_.connection = &connection_;
}

void FilterManager::createFilters() {
  if (filters_created_) return;
  filters_created_ = true;
  for (const auto& spec : specs_) {
    if (route_ && route_->disables(spec.name)) continue;
    filters_.push_back(std::make_unique<ActiveFilter>(*this, filters_.size(), spec.name, spec.factory()));
    filters_.back()->filter().setDecoderFilterCallbacks(*filters_.back());
    filters_.back()->filter().setEncoderFilterCallbacks(*filters_.back());
  }
}

FilterManager::~FilterManager() { complete(); }

// ---- request path ----

void FilterManager::decodeHeaders(std::unique_ptr<HeaderMap> headers, bool end_stream) {
  request_headers_ = std::move(headers);
  info_.request_headers = request_headers_.get();
  decode_.headers_end = end_stream;
  if (routes_) {
    route_ = routes_->match(*request_headers_);
    if (route_) info_.route_name = route_->name();
  }
  createFilters();
  if (info_.connection && info_.connection->tunnel_reply) {
    // Inside a tunnel whose CONNECT was answered this way: before any filter, so no route
    // or filter of the inner chain can let the request reach the blocked host.
    const TunnelReply& reply = *info_.connection->tunnel_reply;
    sendLocalReply(reply.status, reply.body, reply.headers, reply.details);
    return;
  }
  if (routes_ && !route_ && request_headers_->method() != "CONNECT") {
    sendLocalReply(404, "no route matches this request\n", {}, "route_not_found");
    return;
  }
  runDecodeHeaders(0);
}

void FilterManager::runDecodeHeaders(size_t from) {
  for (size_t i = from; i < filters_.size(); ++i) {
    auto status = filters_[i]->filter().decodeHeaders(*request_headers_, decode_.headers_end);
    if (local_reply_sent_ || reset_) return;
    if (status == FilterHeadersStatus::StopIteration) {
      decode_.pos = i;
      decode_.stop = Stop::Headers;
      return;
    }
  }
  decode_.pos = filters_.size();
  encoder_.onRequestHeadersDone();
}

void FilterManager::decodeData(Buffer& data, bool end_stream) {
  info_.bytes_received += data.size();
  if (local_reply_sent_ || reset_) {
    data.clear();
    return;
  }
  if (decode_.stop == Stop::None) {
    runDecodeData(0, data, end_stream);
    return;
  }
  // Held at a filter: the filters before it see the chunk, then it waits in the buffer.
  size_t upto = decode_.stop == Stop::Headers ? decode_.pos : decode_.pos + 1;
  for (size_t i = 0; i < upto; ++i) filters_[i]->filter().decodeData(data, end_stream);
  decode_.buffered.move(data);
  decode_.buffered_end = decode_.buffered_end || end_stream;
  decode_.has_buffered = true;
  checkDecodeBufferLimit();
}

void FilterManager::checkDecodeBufferLimit() {
  if (decode_.buffered.size() > encoder_.bufferLimit()) {
    sendLocalReply(413, "request body too large for a filter that buffers it\n", {}, "request_body_buffer_limit");
  }
}

void FilterManager::runDecodeData(size_t from, Buffer& data, bool end_stream) {
  for (size_t i = from; i < filters_.size(); ++i) {
    auto status = filters_[i]->filter().decodeData(data, end_stream);
    if (local_reply_sent_ || reset_) return;
    if (status == FilterDataStatus::StopIterationAndBuffer) {
      decode_.pos = i;
      decode_.stop = Stop::Data;
      decode_.buffered.move(data);
      decode_.buffered_end = end_stream;
      decode_.has_buffered = true;
      checkDecodeBufferLimit();  // one chunk may be over the limit already
      return;
    }
  }
}

void FilterManager::decodeTrailers(std::unique_ptr<HeaderMap> trailers) {
  if (local_reply_sent_ || reset_) return;
  decode_.trailers = std::move(trailers);
  if (decode_.stop == Stop::None) runDecodeTrailers();
}

void FilterManager::runDecodeTrailers() {
  for (size_t i = 0; i < filters_.size(); ++i) {
    auto status = filters_[i]->filter().decodeTrailers(*decode_.trailers);
    if (local_reply_sent_ || reset_) return;
    if (status == FilterTrailersStatus::StopIteration) return;  // the filter resumes nothing
  }
}

void FilterManager::continueDecoding(size_t index) {
  // An answered or reset stream goes no further: a filter that held the request (a delay,
  // a lookup) may resume after a local reply went out, and must not reach the router.
  if (local_reply_sent_ || reset_) return;
  if (decode_.stop == Stop::None || index != decode_.pos) return;
  Stop stop = decode_.stop;
  decode_.stop = Stop::None;
  if (stop == Stop::Headers) {
    runDecodeHeaders(index + 1);
    if (decode_.stop != Stop::None || local_reply_sent_ || reset_) return;
  }
  if (decode_.has_buffered) {
    Buffer data;
    data.move(decode_.buffered);
    bool end = decode_.buffered_end;
    decode_.has_buffered = false;
    decode_.buffered_end = false;
    runDecodeData(stop == Stop::Headers ? index : index + 1, data, end);
    if (decode_.stop != Stop::None || local_reply_sent_ || reset_) return;
  }
  if (decode_.trailers) runDecodeTrailers();
}

// ---- response path (k counts from the last filter) ----

void FilterManager::encodeHeaders(std::unique_ptr<HeaderMap> headers, bool end_stream) {
  if (response_headers_) return;
  // (A second response for one stream is a filter bug: ignored above.) A reply to a request
  // the codec rejected still reaches the filters.
  createFilters();
  response_headers_ = std::move(headers);
  info_.response_headers = response_headers_.get();
  encode_.headers_end = end_stream;
  runEncodeHeaders(0);
}

void FilterManager::runEncodeHeaders(size_t from) {
  size_t n = filters_.size();
  for (size_t k = from; k < n; ++k) {
    auto status = filters_[n - 1 - k]->filter().encodeHeaders(*response_headers_, encode_.headers_end);
    if (reset_) return;
    if (status == FilterHeadersStatus::StopIteration) {
      encode_.pos = k;
      encode_.stop = Stop::Headers;
      return;
    }
  }
  encode_.pos = n;
  info_.response_code = response_headers_->status();
  if (encode_.headers_end) response_complete_ = true;
  encoder_.encodeHeaders(*response_headers_, encode_.headers_end);
}

void FilterManager::encodeData(Buffer& data, bool end_stream) {
  if (reset_ || response_complete_) return;
  if (encode_.stop == Stop::None) {
    runEncodeData(0, data, end_stream);
    return;
  }
  size_t n = filters_.size();
  size_t upto = encode_.stop == Stop::Headers ? encode_.pos : encode_.pos + 1;
  for (size_t k = 0; k < upto; ++k) filters_[n - 1 - k]->filter().encodeData(data, end_stream);
  encode_.buffered.move(data);
  encode_.buffered_end = encode_.buffered_end || end_stream;
  encode_.has_buffered = true;
  checkEncodeBufferLimit();
}

void FilterManager::checkEncodeBufferLimit() {
  if (encode_.buffered.size() <= encoder_.bufferLimit()) return;
  info_.error = "response_body_buffer_limit";
  if ((!response_headers_ || encode_.stop == Stop::Headers) && !replaced_oversized_response_) {
    // Nothing reached the client yet: replace the response, even a local reply that was
    // under way (its headers are the ones held here). Once: should the replacement
    // overflow too, the stream is reset below.
    replaced_oversized_response_ = true;
    info_.response_headers = nullptr;
    response_headers_.reset();
    encode_ = Direction{};
    local_reply_sent_ = false;
    sendLocalReply(500, "response body too large for a filter that buffers it\n", {}, "response_body_buffer_limit");
  } else {
    reset_ = true;
    encoder_.resetStream("response body buffer limit");
  }
}

void FilterManager::runEncodeData(size_t from, Buffer& data, bool end_stream) {
  size_t n = filters_.size();
  for (size_t k = from; k < n; ++k) {
    auto status = filters_[n - 1 - k]->filter().encodeData(data, end_stream);
    if (reset_) return;
    if (status == FilterDataStatus::StopIterationAndBuffer) {
      encode_.pos = k;
      encode_.stop = Stop::Data;
      encode_.buffered.move(data);
      encode_.buffered_end = end_stream;
      encode_.has_buffered = true;
      checkEncodeBufferLimit();  // one chunk may be over the limit already
      return;
    }
  }
  info_.bytes_sent += data.size();
  if (end_stream) response_complete_ = true;
  encoder_.encodeData(data, end_stream);
}

void FilterManager::encodeTrailers(std::unique_ptr<HeaderMap> trailers) {
  if (reset_ || response_complete_) return;
  encode_.trailers = std::move(trailers);
  if (encode_.stop == Stop::None) runEncodeTrailers();
}

void FilterManager::runEncodeTrailers() {
  size_t n = filters_.size();
  for (size_t k = 0; k < n; ++k) {
    filters_[n - 1 - k]->filter().encodeTrailers(*encode_.trailers);
    if (reset_) return;
  }
  response_complete_ = true;
  encoder_.encodeTrailers(*encode_.trailers);
}

void FilterManager::continueEncoding(size_t k) {
  if (encode_.stop == Stop::None || k != encode_.pos) return;
  Stop stop = encode_.stop;
  encode_.stop = Stop::None;
  if (stop == Stop::Headers) {
    runEncodeHeaders(k + 1);
    if (encode_.stop != Stop::None || reset_) return;
  }
  if (encode_.has_buffered) {
    Buffer data;
    data.move(encode_.buffered);
    bool end = encode_.buffered_end;
    encode_.has_buffered = false;
    encode_.buffered_end = false;
    runEncodeData(stop == Stop::Headers ? k : k + 1, data, end);
    if (encode_.stop != Stop::None || reset_) return;
  }
  if (encode_.trailers) runEncodeTrailers();
}

// ---- local replies and completion ----

void FilterManager::sendLocalReply(int status, std::string_view body, const HeaderMap& headers,
                                   std::string_view details) {
  if (reset_ || local_reply_sent_) return;
  info_.response_flags |= response_flags::kLocalReply;
  if (!details.empty() && info_.error.empty()) info_.error = std::string(details);
  if (response_headers_) {
    // Part of a response already went out: the only honest thing left is to abort.
    reset_ = true;
    encoder_.resetStream(details.empty() ? "local reply after response start" : details);
    return;
  }
  local_reply_sent_ = true;
  auto reply = std::make_unique<HeaderMap>();
  reply->add(":status", std::to_string(status));
  reply->add("content-type", "text/plain; charset=utf-8");
  reply->add("content-length", std::to_string(body.size()));
  for (const auto& [name, value] : headers) reply->set(name, value);
  bool head = request_headers_ && request_headers_->method() == "HEAD";
  encodeHeaders(std::move(reply), body.empty() || head);
  if (!body.empty() && !head) {
    Buffer data(body);
    encodeData(data, true);
  }
}

void FilterManager::complete() {
  if (completed_) return;
  completed_ = true;
  createFilters();
  info_.end = StreamInfo::Clock::now();
  for (auto& f : filters_) f->filter().onStreamComplete(info_);
  for (auto& f : filters_) f->filter().onDestroy();
}

}  // namespace interpose::http
