#include "source/filters/http/router/router.h"

#include <algorithm>
#include <utility>

#include "api/interpose/strings.h"
#include "source/common/logger.h"
#include "source/http/http1/serializer.h"
#include "source/http/request_target.h"

namespace interpose::router {
namespace {
constexpr size_t kMaxResponseHeaders = 256 * 1024;
}

Router::Router(std::shared_ptr<const RouterConfig> config) : config_(std::move(config)) {}

Router::~Router() { onDestroy(); }

http::UpstreamPool& Router::pool() {
  // One pool per worker and router config: connections never cross threads.
  Worker& worker = decoder_callbacks_->worker();
  // (A router config belongs to one listener, so one destination policy serves its pool.)
  const ConnectionInfo& connection = decoder_callbacks_->connectionInfo();
  return (connection.tunneled ? config_->tunnel_pools : config_->pools).get(worker, [this, &worker, &connection] {
    return std::make_shared<http::UpstreamPool>(
        worker.ioContext(), config_->pool,
        [&worker, policy = connection.destination_policy, tunnel = connection.tunneled](
            const std::string& host, uint16_t port,
            const boost::asio::ip::tcp::endpoint& endpoint) -> std::optional<http::UpstreamPool::Refusal> {
          if (worker.isOwnListener(endpoint)) {
            return http::UpstreamPool::Refusal{true, str::cat(host, ":", port, " is this proxy's own listener (",
                                                              network::formatEndpoint(endpoint), ")")};
          }
          if (policy) {
            auto verdict = policy->checkAddress(host, port, endpoint.address(), tunnel);
            if (!verdict.allowed) {
              return http::UpstreamPool::Refusal{
                  false, str::cat(verdict.why(), " (", host, " is ", endpoint.address().to_string(), ")")};
            }
          }
          return std::nullopt;
        });
  });
}

FilterHeadersStatus Router::decodeHeaders(HeaderMap& headers, bool end_stream) {
  // CONNECT belongs to the connection manager, which turns it into an inner connection.
  const std::string_view method = headers.method();
  if (method == "CONNECT") return FilterHeadersStatus::Continue;
  const std::string_view authority = headers.authority();
  secure_ = headers.scheme() == "https";
  auto target = http::splitAuthority(authority, secure_ ? 443 : 80);
  if (!target) {
    decoder_callbacks_->sendLocalReply(400, "invalid or missing request authority\n", {}, "invalid_authority");
    return FilterHeadersStatus::StopIteration;
  }
  host_ = target->first;
  port_ = target->second;
  if (const auto& policy = decoder_callbacks_->connectionInfo().destination_policy) {
    // Refused by name and port: no DNS lookup, no connection.
    auto verdict = policy->checkName(host_, port_, decoder_callbacks_->connectionInfo().tunneled);
    if (verdict && !verdict->allowed) {
      decoder_callbacks_->streamInfo().response_flags |= response_flags::kDestinationDenied;
      decoder_callbacks_->sendLocalReply(403, str::cat(verdict->why(), "\n"), {}, verdict->why());
      return FilterHeadersStatus::StopIteration;
    }
  }
  head_request_ = method == "HEAD";
  // The stream core leaves Upgrade on a request only when it forwards the upgrade.
  upgrade_ = headers.has("upgrade");
  request_has_body_ = !end_stream;
  request_end_ = end_stream;

  // Serialised straight from the request: Host from the authority, then the fields.
  // After an upgrade the "body" is the other protocol's bytes, unframed.
  request_chunked_ = request_has_body_ && !upgrade_ && !headers.has("content-length");
  // "TE: trailers" is for an HTTP/2 origin (startHttp2); to HTTP/1.1 it is hop-by-hop.
  std::string te = headers.getJoined("te");
  if (!te.empty()) headers.remove("te");
  http1::writeRequestHead(headers, method, headers.path(), request_head_, authority,
                          request_chunked_ ? "transfer-encoding: chunked\r\n" : "");
  if (!te.empty()) headers.add("te", te);

  response_timer_ = std::make_unique<Timer>(decoder_callbacks_->worker().ioContext(), [this] {
    upstreamFailed(504, str::cat("upstream response timeout (", host_, ":", port_, ")"),
                   response_flags::kUpstreamRequestTimeout);
  });
  decoder_callbacks_->addDownstreamWatermarkCallbacks(downstream_watermarks_);
  watching_downstream_ = true;
  connect();
  return FilterHeadersStatus::Continue;
}

void Router::connect() {
  // An upgrade needs a connection of its own, over HTTP/1.1 (never a stream of an HTTP/2
  // connection: an h2 origin would see a plain GET and refuse it).
  const http::UpstreamTls* tls = secure_ ? (upgrade_ ? config_->tls->http1Only() : config_->tls.get()) : nullptr;
  pool().acquire(
      host_, port_, tls, [this](http::UpstreamPool::Result result) { onPoolResult(std::move(result)); },
      std::weak_ptr<void>(life_));
}

void Router::onPoolResult(http::UpstreamPool::Result result) {
  StreamInfo& info = decoder_callbacks_->streamInfo();
  if (!result.connection && !result.h2) {
    if (result.overflow) {
      upstreamFailed(503, result.error, response_flags::kUpstreamOverflow);
    } else if (result.denied) {
      upstreamFailed(403, result.error, response_flags::kDestinationDenied);
    } else if (result.loop) {
      // Forwarding would come back in here, again and again until the fds ran out.
      upstreamFailed(508, str::cat("loop detected: ", result.error), response_flags::kLoopDetected);
    } else if (result.dns_failure) {
      upstreamFailed(502, result.error, response_flags::kNoHealthyUpstream);
    } else if (result.tls_failure) {
      upstreamFailed(502, str::cat("upstream TLS error: ", result.error, " (", host_, ":", port_, ")"),
                     response_flags::kUpstreamConnectionFailure);
    } else if (result.timed_out) {
      upstreamFailed(504, str::cat("upstream connect timeout (", host_, ":", port_, ")"),
                     response_flags::kUpstreamConnectionFailure);
    } else {
      upstreamFailed(502, str::cat("upstream connect error: ", result.error, " (", result.endpoint, ")"),
                     response_flags::kUpstreamConnectionFailure);
    }
    return;
  }
  if (result.h2 && upgrade_) {
    // (The pool gives queued upgrades no HTTP/2 connection; an h2 answer to our own connect
    // cannot happen either, as only http/1.1 was offered.)
    upstreamFailed(502, "upstream offered only HTTP/2 for an upgrade", response_flags::kUpstreamProtocolError);
    return;
  }
  if (result.h2) {
    startHttp2(std::move(result.h2));
    return;
  }
  upstream_ = std::move(result.connection);
  reused_ = result.reused;
  info.upstream_host = result.endpoint;
  info.upstream_protocol = "HTTP/1.1";
  parser_ = std::make_unique<http1::Parser>(http1::Parser::Type::Response, *this, kMaxResponseHeaders);
  upstream_->setCallbacks(this);
  upstream_->startReading();

  Buffer out;
  out.add(request_head_);
  if (!pending_body_.empty() || pending_end_) {
    Buffer body = encodeHttp1Body(pending_body_, pending_end_, pending_trailers_.get());
    out.move(body);
  }
  upstream_->write(out, false);
  applyDownstreamPressure();  // the client may already be behind (pipelining)
  if (!upstream_->aboveHighWatermark()) pauseDownstream(false);
  if (request_end_ || upgrade_) requestFinished();  // an upgrade waits for its 101 first
}

FilterDataStatus Router::decodeData(Buffer& data, bool end_stream) {
  if (h2_ && h2_stream_ >= 0) {
    h2_->sendData(h2_stream_, data, end_stream);
  } else if (upstream_) {
    Buffer encoded = encodeHttp1Body(data, end_stream, nullptr);
    upstream_->write(encoded, switched_ && end_stream);  // a switched client's end: half-close
  } else if (switched_) {
    data.clear();  // the origin has gone: what the client still sends has nowhere to go
  } else {
    // Until the origin is connected the body waits here, as sent; past the limit, the
    // client is paused. Its framing depends on the protocol the origin will speak.
    pending_body_.move(data);
    pending_end_ = pending_end_ || end_stream;
    if (pending_body_.size() > decoder_callbacks_->bufferLimit()) pauseDownstream(true);
  }
  data.clear();
  if (end_stream) {
    request_end_ = true;
    if (upstream_ || h2_) requestFinished();
  }
  return FilterDataStatus::Continue;
}

FilterTrailersStatus Router::decodeTrailers(HeaderMap& trailers) {
  if (h2_ && h2_stream_ >= 0) {
    h2_->sendTrailers(h2_stream_, trailers);
  } else if (upstream_) {
    Buffer empty;
    Buffer encoded = encodeHttp1Body(empty, true, &trailers);
    upstream_->write(encoded, false);
  } else {
    pending_trailers_ = std::make_unique<HeaderMap>(trailers);
    pending_end_ = true;
  }
  request_end_ = true;
  if (upstream_ || h2_) requestFinished();
  return FilterTrailersStatus::Continue;
}

Buffer Router::encodeHttp1Body(Buffer& raw, bool end_stream, const HeaderMap* trailers) {
  Buffer out;
  if (request_chunked_) {
    http1::writeChunk(raw.view(), out);
    raw.clear();
    if (end_stream) http1::writeLastChunk(trailers, out);
  } else {
    out.move(raw);  // Content-Length framing: trailers have nowhere to go
  }
  return out;
}

void Router::requestFinished() {
  if (!response_started_) response_timer_->enable(config_->response_timeout);
}

void Router::pauseDownstream(bool pause) {
  if (pause == downstream_paused_) return;
  downstream_paused_ = pause;
  decoder_callbacks_->readDisableDownstream(pause);
}

void Router::startHttp2(std::shared_ptr<http::Http2ClientConnection> connection) {
  h2_ = std::move(connection);
  StreamInfo& info = decoder_callbacks_->streamInfo();
  info.upstream_host = h2_->endpoint();
  info.upstream_protocol = "HTTP/2";
  const HeaderMap& request = decoder_callbacks_->requestHeaders();
  HeaderMap headers;
  headers.add(":method", request.method());
  headers.add(":scheme", "https");
  headers.add(":authority", request.authority());
  headers.add(":path", request.path());
  for (const auto& [name, value] : request) {
    if (name[0] != ':') headers.add(name, value);
  }
  bool body_follows = !request_end_ || !pending_body_.empty() || pending_trailers_;
  h2_stream_ = h2_->startStream(headers, !body_follows, *this);
  if (h2_stream_ < 0) {
    h2_.reset();
    upstreamFailed(502, "upstream HTTP/2 connection refused a new stream", response_flags::kUpstreamConnectionFailure);
    return;
  }
  if (!pending_body_.empty() || (pending_end_ && !pending_trailers_)) {
    h2_->sendData(h2_stream_, pending_body_, pending_end_ && !pending_trailers_);
  }
  if (pending_trailers_) h2_->sendTrailers(h2_stream_, *pending_trailers_);
  applyDownstreamPressure();
  pauseDownstream(false);
  if (request_end_) requestFinished();
}

void Router::onResponseHeaders(std::unique_ptr<HeaderMap> headers, bool end_stream) {
  response_timer_->disable();
  decoder_callbacks_->streamInfo().first_upstream_byte = StreamInfo::Clock::now();
  http1::removeHopByHopHeaders(*headers);
  response_started_ = true;
  bool end = end_stream || head_request_;
  if (end) response_end_sent_ = response_done_ = true;
  decoder_callbacks_->encodeHeaders(std::move(headers), end);
}

void Router::onResponseData(Buffer& data, bool end_stream) {
  if (response_end_sent_) return;
  if (end_stream) response_end_sent_ = response_done_ = true;
  decoder_callbacks_->encodeData(data, end_stream);
}

void Router::onResponseTrailers(std::unique_ptr<HeaderMap> trailers) {
  if (response_end_sent_) return;
  response_end_sent_ = response_done_ = true;
  decoder_callbacks_->encodeTrailers(std::move(trailers));
}

void Router::onStreamReset(const std::string& reason) {
  h2_stream_ = -1;
  if (!response_started_) {
    upstreamFailed(502, str::cat(reason, " (", host_, ":", port_, ")"), response_flags::kUpstreamConnectionTermination);
  } else if (!response_done_) {
    decoder_callbacks_->streamInfo().response_flags |= response_flags::kUpstreamConnectionTermination;
    decoder_callbacks_->resetStream(reason);
  }
}

void Router::onRequestBufferAbove() { pauseDownstream(true); }
void Router::onRequestBufferBelow() { pauseDownstream(false); }

// ---- the origin's response ----

void Router::onRead(Buffer& data, bool end_stream) {
  if (switched_ && parser_done_) {
    forwardSwitched(data, end_stream);
    return;
  }
  while (!data.empty() && parser_) {
    if (response_done_) {
      leftover_bytes_ = true;  // bytes after a complete response: never reuse this connection
      data.clear();
      break;
    }
    size_t consumed = 0;
    reading_ = &data;
    auto result = parser_->execute(data.view(), consumed);
    reading_ = nullptr;
    if (std::exchange(whole_read_is_body_, false) && result == http1::Parser::Result::Ok) {
      // Hand the read buffer itself on (see onBody): no copy of bulk body bytes.
      Buffer chunk;
      chunk.swap(data);
      decoder_callbacks_->encodeData(chunk, false);
      continue;
    }
    data.drain(consumed);
    if (result == http1::Parser::Result::Paused) {
      if (!response_done_) parser_->resume();  // an interim (1xx) response ended
      continue;
    }
    if (result == http1::Parser::Result::Upgrade && switched_) {
      parser_done_ = true;  // the rest, and all that follows, is the other protocol's
      forwardSwitched(data, end_stream);
      return;
    }
    if (result == http1::Parser::Result::Error || result == http1::Parser::Result::Upgrade) {
      std::string why = result == http1::Parser::Result::Error ? parser_->errorReason() : "unexpected upgrade";
      upstreamFailed(502, str::cat("upstream sent an invalid response: ", why), response_flags::kUpstreamProtocolError);
      return;
    }
  }
  if (end_stream && !response_done_ && parser_) {
    // The origin closed: that ends a body delimited by the connection, or cuts a response short.
    auto result = parser_->finish();
    if (result != http1::Parser::Result::Paused && !response_done_) onEvent(ConnectionEvent::RemoteClose);
  }
}

int Router::onHeaders(http1::MessageHead& head) {
  if (head.status == 101) {
    if (!upgrade_ || !head.upgrade) {  // (no Connection: upgrade: its bytes would be parsed as HTTP)
      upstreamFailed(502, "upstream switched protocols without being asked", response_flags::kUpstreamProtocolError);
      return http1::Parser::kAbort;
    }
    // The upgrade is on: after these headers, both ways carry the other protocol's bytes. The
    // connection is no longer the pool's to count: a long-lived WebSocket must not hold one
    // of the origin's connection slots (other requests would queue behind it).
    switched_ = true;
    pool().forget(host_, port_, secure_);
    response_timer_->disable();
    response_started_ = true;
    request_head_.clear();
    decoder_callbacks_->streamInfo().first_upstream_byte = StreamInfo::Clock::now();
    auto headers = std::move(head.headers);  // the stream core keeps Upgrade and Connection
    headers->add(":status", "101");
    decoder_callbacks_->encodeHeaders(std::move(headers), false);
    return http1::Parser::kParseBody;
  }
  if (head.status < 200) {
    interim_ = true;  // 100 Continue and friends: the client already got ours
    return http1::Parser::kParseBody;
  }
  if (const std::string te = head.headers->getJoined("transfer-encoding");
      !te.empty() && !str::equalsIgnoreCase(te, "chunked")) {
    // Re-framing would drop a coding such as gzip and hand the client bytes it can't read.
    upstreamFailed(502, str::cat("upstream used an unsupported transfer coding '", te, "'"),
                   response_flags::kUpstreamProtocolError);
    return http1::Parser::kAbort;
  }
  interim_ = false;
  body_length_known_ = head.has_content_length && !head.chunked;
  body_left_ = head.content_length;
  response_timer_->disable();
  StreamInfo& info = decoder_callbacks_->streamInfo();
  info.first_upstream_byte = StreamInfo::Clock::now();
  upstream_keep_alive_ = head.keep_alive;
  auto headers = std::move(head.headers);
  http1::removeHopByHopHeaders(*headers);
  headers->add(":status", std::to_string(head.status));
  bool no_body = head_request_ || head.status == 204 || head.status == 304 ||
                 (head.has_content_length && head.content_length == 0);
  response_started_ = true;
  request_head_.clear();
  if (no_body) response_end_sent_ = true;
  decoder_callbacks_->encodeHeaders(std::move(headers), no_body);
  return head_request_ ? http1::Parser::kSkipBody : http1::Parser::kParseBody;
}

void Router::onBody(std::string_view data) {
  if (response_end_sent_) return;
  if (body_length_known_) body_left_ -= std::min<uint64_t>(body_left_, data.size());
  // The whole read is body and the response goes on past it (so llhttp reports nothing
  // more from this read): onRead passes the buffer on once llhttp returns.
  if (reading_ && data.data() == reading_->data() && data.size() == reading_->size() &&
      (!body_length_known_ || body_left_ > 0)) {
    whole_read_is_body_ = true;
    return;
  }
  Buffer chunk(data);
  decoder_callbacks_->encodeData(chunk, false);
}

void Router::onMessageComplete(std::unique_ptr<HeaderMap> trailers) {
  if (switched_) return;  // a 101 ends no response: the switched stream goes on
  if (interim_) {
    interim_ = false;
    return;
  }
  response_done_ = true;
  if (response_end_sent_) return;
  response_end_sent_ = true;
  if (trailers) {
    decoder_callbacks_->encodeTrailers(std::move(trailers));
  } else {
    Buffer empty;
    decoder_callbacks_->encodeData(empty, true);
  }
}

void Router::forwardSwitched(Buffer& data, bool end_stream) {
  if (response_end_sent_) {
    data.clear();
    return;
  }
  if (end_stream) response_end_sent_ = response_done_ = true;
  if (!data.empty() || end_stream) decoder_callbacks_->encodeData(data, end_stream);
}

void Router::onEvent(ConnectionEvent event) {
  if (switched_ && !response_done_) {
    // Closed without a FIN first (a reset, or both ways at once): the end, but not a clean one.
    decoder_callbacks_->streamInfo().response_flags |= response_flags::kUpstreamConnectionTermination;
    Buffer none;
    forwardSwitched(none, true);
  }
  if (response_done_) {
    releaseUpstream(false);
    return;
  }
  std::string tls_reason = upstream_->closeReason();
  releaseUpstream(false);
  if (!tls_reason.empty() && !response_started_) {
    upstreamFailed(502, str::cat("upstream TLS error: ", tls_reason, " (", host_, ":", port_, ")"),
                   response_flags::kUpstreamConnectionFailure);
    return;
  }
  if (!response_started_ && reused_ && !request_has_body_ && !retried_) {
    // A kept-alive connection the origin had already closed: try once on a fresh one.
    retried_ = true;
    reused_ = false;
    parser_.reset();
    connect();
    return;
  }
  if (!response_started_) {
    upstreamFailed(502, str::cat("upstream connection closed before a response (", host_, ":", port_, ")"),
                   response_flags::kUpstreamConnectionTermination);
  } else {
    decoder_callbacks_->streamInfo().response_flags |= response_flags::kUpstreamConnectionTermination;
    decoder_callbacks_->resetStream("upstream connection closed mid-response");
  }
}

void Router::upstreamFailed(int status, std::string_view message, uint32_t flag) {
  response_timer_->disable();
  decoder_callbacks_->streamInfo().response_flags |= flag;
  releaseUpstream(false);
  decoder_callbacks_->sendLocalReply(status, str::cat(message, "\n"), {}, message);
}

// ---- flow control ----

void Router::onAboveWriteBufferHighWatermark() { pauseDownstream(true); }
void Router::onBelowWriteBufferLowWatermark() { pauseDownstream(false); }

void Router::DownstreamWatermarks::onAboveWriteBufferHighWatermark() {
  above = true;  // remembered: the upstream may not be connected yet
  router.applyDownstreamPressure();
}

void Router::DownstreamWatermarks::onBelowWriteBufferLowWatermark() {
  above = false;
  router.applyDownstreamPressure();
}

void Router::applyDownstreamPressure() {
  if (h2_ && h2_stream_ >= 0) {
    if (downstream_watermarks_.above != h2_paused_) {
      h2_paused_ = downstream_watermarks_.above;
      h2_->readDisable(h2_stream_, h2_paused_);
    }
    return;
  }
  if (!upstream_) return;
  bool paused = upstream_read_disabled_ > 0;
  if (downstream_watermarks_.above && !paused) {
    ++upstream_read_disabled_;
    upstream_->readDisable(true);
  } else if (!downstream_watermarks_.above && paused) {
    --upstream_read_disabled_;
    upstream_->readDisable(false);
  }
}

// ---- teardown ----

void Router::releaseUpstream(bool reusable) {
  if (!upstream_) return;
  upstream_->setCallbacks(nullptr);
  while (upstream_read_disabled_ > 0) {
    --upstream_read_disabled_;
    upstream_->readDisable(false);
  }
  if (switched_) {
    // Ours alone since the 101 (see forget()): what the client sent last still goes out.
    upstream_->close(CloseType::FlushWrite);
    upstream_.reset();
    return;
  }
  // Back to the pool either way: it keeps count of the connections to each origin.
  pool().release(host_, port_, secure_, std::move(upstream_), reusable);
  upstream_.reset();
}

void Router::onDestroy() {
  if (!life_) return;
  life_.reset();
  if (response_timer_) response_timer_->disable();
  if (watching_downstream_) {
    decoder_callbacks_->removeDownstreamWatermarkCallbacks(downstream_watermarks_);
    watching_downstream_ = false;
  }
  pauseDownstream(false);
  if (h2_) {
    if (h2_stream_ >= 0) h2_->detach(h2_stream_);
    h2_stream_ = -1;
    h2_.reset();
  }
  releaseUpstream(response_done_ && request_end_ && upstream_keep_alive_ && !leftover_bytes_);
}

}  // namespace interpose::router
