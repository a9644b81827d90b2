#include "source/filters/network/http_connection_manager/conn_manager.h"

#include <algorithm>
#include <boost/asio/post.hpp>

#include "api/interpose/strings.h"
#include "source/common/logger.h"
#include "source/http/http1/serializer.h"
#include "source/http/request_target.h"

namespace interpose::hcm {
namespace {

// Whether a CONNECT target is the proxy itself, known without DNS: an IP literal, or a
// localhost name (RFC 6761: always loopback). Other names that resolve to us are caught
// where the tunnel connects (tcp_proxy) or where an intercepted request does (the router).
bool namesThisProxy(const Worker& worker, std::string_view host, uint16_t port) {
  namespace ip = boost::asio::ip;
  std::string lower = str::toLower(host);
  if (lower == "localhost" || lower.ends_with(".localhost")) {
    return worker.isOwnListener({ip::address_v4::loopback(), port}) ||
           worker.isOwnListener({ip::address_v6::loopback(), port});
  }
  boost::system::error_code ec;
  ip::address address = ip::make_address(lower, ec);
  return !ec && worker.isOwnListener({address, port});
}

}  // namespace

ConnectionManager::ConnectionManager(std::shared_ptr<const HcmConfig> config) : config_(std::move(config)) {
  parser_ = std::make_unique<http1::Parser>(http1::Parser::Type::Request, *this, config_->max_request_headers);
}

ConnectionManager::~ConnectionManager() {
  // Destroying the stream runs onStreamComplete() (the access log) for a stream cut short.
  // A tunnel ends when either side closes: that is its normal end, not a client abort.
  if (stream_ && !stream_->responseComplete() && tunnel_state_ != Tunnel::Ready) {
    stream_->info().response_flags |= response_flags::kDownstreamConnectionTermination;
  }
  stream_.reset();
  tunnel_.reset();
  if (callbacks_) callbacks_->removeWatermarkCallbacks(*this);
}

template <typename F>
void ConnectionManager::post(F&& f) {
  boost::asio::post(callbacks_->worker().ioContext(),
                    [weak = std::weak_ptr<char>(life_), this, f = std::forward<F>(f)]() mutable {
                      if (weak.lock()) f();
                    });
}

FilterStatus ConnectionManager::onNewConnection() {
  auto& io = callbacks_->worker().ioContext();
  header_timer_ = std::make_unique<Timer>(
      io, [this] { protocolError(408, "request header timeout", response_flags::kRequestHeaderTimeout); });
  idle_timer_ = std::make_unique<Timer>(io, [this] { onIdleTick(); });
  callbacks_->addWatermarkCallbacks(*this);
  armIdleTimer();
  return FilterStatus::Continue;
}

void ConnectionManager::armIdleTimer() {
  idle_since_ = std::chrono::steady_clock::now();
  // Tick at least every second so a server drain closes idle connections promptly.
  idle_timer_->enable(std::min<std::chrono::milliseconds>(config_->idle_timeout, std::chrono::seconds(1)));
}

void ConnectionManager::onIdleTick() {
  if (stream_ || tunnel_ || closed_) return;
  if (parser_->messageInProgress() || !input_.empty()) {
    armIdleTimer();  // a request is arriving; the header timer governs it
    return;
  }
  if (callbacks_->worker().draining() || std::chrono::steady_clock::now() - idle_since_ >= config_->idle_timeout) {
    closeConnection(CloseType::FlushWrite);
    return;
  }
  idle_timer_->enable(std::min<std::chrono::milliseconds>(config_->idle_timeout, std::chrono::seconds(1)));
}

FilterStatus ConnectionManager::onData(Buffer& data, bool end_stream) {
  if (tunnel_ && tunnel_state_ == Tunnel::Ready) {
    tunnel_->onData(data, end_stream);
    return FilterStatus::StopIteration;
  }
  if (upgrade_ == Upgrade::Switched) {
    // The other protocol's bytes (WebSocket frames), through the filters to the origin.
    touchUpgrade();
    client_eof_ = client_eof_ || end_stream;
    if (stream_) stream_->decodeData(data, end_stream);
    if (end_stream && response_complete_) post([this] { finishStream(); });
    return FilterStatus::StopIteration;
  }
  input_.move(data);
  client_eof_ = client_eof_ || end_stream;
  if (tunnel_state_ != Tunnel::None) {
    // The tunnel is being set up (or failed): its bytes wait here, within limits.
    if (input_.size() > bufferLimit() && !paused_for_pipeline_) {
      paused_for_pipeline_ = true;
      callbacks_->readDisable(true);
    }
    return FilterStatus::StopIteration;
  }
  dispatch();
  return FilterStatus::StopIteration;
}

void ConnectionManager::dispatch() {
  while (!closed_ && tunnel_state_ == Tunnel::None) {
    if (stream_) {
      if (!request_complete_ && !connect_request_) {
        // Body bytes of the current request: keep parsing below.
      } else {
        // Waiting for the response: pipelined requests stay queued, bounded by pausing reads.
        if (input_.size() > bufferLimit() && !paused_for_pipeline_) {
          paused_for_pipeline_ = true;
          callbacks_->readDisable(true);
        }
        return;
      }
    }
    if (input_.empty()) break;
    size_t consumed = 0;
    auto result = parser_->execute(input_.view(), consumed);
    input_.drain(consumed);
    if (discarding_ && discarded_ > kDiscardLimit) {
      closeConnection(CloseType::FlushWrite);  // too much to throw away: start afresh
      return;
    }
    switch (result) {
      case http1::Parser::Result::Ok:
        break;
      case http1::Parser::Result::Paused:
        onMessageParsed();
        continue;
      case http1::Parser::Result::Upgrade:
        if (!connect_request_) {
          if (upgrade_ == Upgrade::Requested) {
            // What follows is the other protocol's, once the origin says 101: held until then.
            upgrade_ = Upgrade::AwaitingResponse;
            return;
          }
          onMessageParsed();  // an upgrade we do not take: an ordinary request, HTTP follows
          continue;
        }
        connect_parsed_ = true;
        if (connect_headers_done_ || (stream_ && stream_->responseStarted())) {
          startTunnel();
        } else {
          tunnel_state_ = Tunnel::Connecting;  // hold the tunnel's bytes until the filters let it go
        }
        return;
      case http1::Parser::Result::Error:
        if (header_error_) {
          auto [status, reason] = *header_error_;
          protocolError(status, reason, response_flags::kDownstreamProtocolError);
        } else {
          protocolError(parser_->errorStatus(), parser_->errorReason(), response_flags::kDownstreamProtocolError);
        }
        return;
    }
    if (input_.empty()) break;
  }
  if (closed_ || tunnel_state_ != Tunnel::None) return;
  if (!stream_ && (parser_->messageInProgress() || !input_.empty()) && !header_timer_->enabled()) {
    // A request has begun (possibly pipelined behind the last one): its headers are on the clock.
    header_timer_->enable(config_->request_headers_timeout);
  }
  if (!client_eof_) return;
  // The client half-closed.
  if (!stream_) {
    // Mid-request: nothing to answer, unless it is the rest of a request answered already
    // (being skipped), whose response may still be on its way out.
    bool unanswered = parser_->messageInProgress() && !discarding_;
    closeConnection(unanswered ? CloseType::NoFlush : CloseType::FlushWrite);
  } else if (!request_complete_ && response_complete_) {
    closeConnection(CloseType::FlushWrite);  // answered early: the response still goes out
  } else if (!request_complete_) {
    // It went away in the middle of its request: nothing left to answer.
    stream_->info().error = "downstream closed before the request was complete";
    stream_->info().response_flags |= response_flags::kDownstreamConnectionTermination;
    closeConnection(CloseType::NoFlush);
  }
  // Otherwise the response is on its way; finishStream() closes afterwards.
}

int ConnectionManager::onHeaders(http1::MessageHead& head) {
  header_timer_->disable();
  idle_timer_->disable();
  beginExchange();
  head_request_ = head.method == "HEAD";
  connect_request_ = head.method == "CONNECT";
  client_http10_ = head.version_major == 1 && head.version_minor == 0;
  client_keep_alive_ = head.keep_alive;
  auto headers = std::move(head.headers);

  auto abort = [&](int status, std::string reason) {
    header_error_ = {status, std::move(reason)};
    return http1::Parser::kAbort;
  };
  if (headers->getJoined("host").find(',') != std::string::npos) return abort(400, "more than one Host header");
  auto target = http::parseRequestTarget(head.method, head.target, headers->getOr("host"));
  if (!target.ok()) return abort(400, target.error);
  const ConnectionInfo& connection = callbacks_->connectionInfo();
  if (connection.secure && !head.target.empty() && head.target[0] == '/') {
    target.scheme = "https";  // origin-form inside intercepted TLS
  }
  if (target.authority.empty() && connection.tunneled && !connection.server_name.empty()) {
    // An HTTP/1.0 client in a tunnel may omit Host: the CONNECT target names the origin.
    target.authority = str::cat(connection.server_name, ":", connection.destination_port);
  }
  if (target.authority.empty() && !client_http10_) return abort(400, "missing Host header");

  bool has_body = head.chunked || head.content_length > 0;
  // An upgrade we take: the request goes on as the other protocol's bytes after a 101. Only
  // an HTTP/1.1 request without a body (RFC 9110 7.8; a body's framing would be lost, and
  // its bytes could pass for another request at the origin).
  if (!connect_request_ && head.upgrade && !has_body && !client_http10_ &&
      !ActiveStream::upgradeType(*headers, *config_).empty()) {
    upgrade_ = Upgrade::Requested;
  }
  if (ActiveStream::expectation(*headers) == ActiveStream::Expectation::Unsupported) {
    return abort(417, "unsupported expectation");
  }
  if (connect_request_) {
    headers->addPseudoHeaders({{":method", head.method}, {":scheme", target.scheme}, {":authority", target.authority}});
  } else {
    headers->addPseudoHeaders({{":method", head.method},
                               {":scheme", target.scheme},
                               {":authority", target.authority},
                               {":path", target.path}});
  }

  startStream(client_http10_ ? "HTTP/1.0" : "HTTP/1.1");
  if (connect_request_) previewTunnel(target.authority);
  stream_->decodeHeaders(std::move(headers), !has_body && !connect_request_ && upgrade_ == Upgrade::None,
                         upgrade_ == Upgrade::Requested);
  if (!has_body && !connect_request_) request_complete_ = true;
  return http1::Parser::kParseBody;
}

void ConnectionManager::onBody(std::string_view data) {
  if (!stream_) {
    discarded_ += data.size();  // dispatch() closes once this passes kDiscardLimit
    return;
  }
  Buffer chunk(data);
  stream_->decodeData(chunk, false);
}

void ConnectionManager::onMessageComplete(std::unique_ptr<HeaderMap> trailers) {
  if (!stream_ || request_complete_ || connect_request_ || upgrade_ != Upgrade::None) {
    request_complete_ = true;
    return;
  }
  request_complete_ = true;
  if (trailers) {
    stream_->decodeTrailers(std::move(trailers));
  } else {
    Buffer empty;
    stream_->decodeData(empty, true);
  }
}

void ConnectionManager::previewTunnel(std::string_view authority) {
  auto target = http::splitAuthority(authority, 0);
  if (!target) return;
  ConnectionInfo inner;
  inner.server_name = target->first;
  inner.destination_port = target->second;
  stream_->info().tunnel = callbacks_->previewInnerConnection(std::move(inner));
}

void ConnectionManager::startTunnel() {
  request_complete_ = true;
  if (!stream_) return;
  // Until the tunnel is up, the log must not claim one; establishTunnel() sets it again.
  stream_->info().tunnel.reset();
  if (stream_->responseStarted()) return;  // a filter answered (e.g. blocked)
  const HeaderMap& request = *stream_->requestHeaders();
  auto target = http::splitAuthority(request.authority(), 0);
  ConnectionInfo info;
  if (target) {
    info.server_name = target->first;
    info.destination_port = target->second;
  }
  if (!target || target->second == 0) {
    stream_->sendLocalReply(400, "CONNECT needs a target of the form host:port\n", {}, "invalid_connect_target");
    return;
  }
  if (namesThisProxy(callbacks_->worker(), target->first, target->second)) {
    stream_->info().response_flags |= response_flags::kLoopDetected;
    stream_->sendLocalReply(508, str::cat("loop detected: CONNECT ", request.authority(), " names this proxy\n"), {},
                            "loop_detected");
    return;
  }
  if (const auto& policy = callbacks_->connectionInfo().destination_policy) {
    // What the name and port decide is refused here; what needs DNS, where the tunnel connects.
    auto verdict = policy->checkName(target->first, target->second, /*tunnel=*/true);
    if (verdict && !verdict->allowed) {
      stream_->info().response_flags |= response_flags::kDestinationDenied;
      stream_->sendLocalReply(403, str::cat("CONNECT ", request.authority(), ": ", verdict->why(), "\n"), {},
                              verdict->why());
      return;
    }
  }
  info.tunnel_reply = stream_->info().tunnel_reply;
  tunnel_state_ = Tunnel::Connecting;
  auto inner = callbacks_->startInnerConnection(std::move(info), *this);
  if (!inner) {
    tunnel_state_ = Tunnel::None;
    stream_->sendLocalReply(403, "no filter chain accepts tunnels to this destination\n", {}, "no_filter_chain");
    return;
  }
  tunnel_ = std::move(inner);
  if (tunnel_state_ == Tunnel::Ready) establishTunnel();  // it was ready at once
}

void ConnectionManager::onInnerConnectionReady() {
  tunnel_state_ = Tunnel::Ready;
  if (tunnel_) establishTunnel();  // else startTunnel() does it when startInnerConnection returns
}

void ConnectionManager::onInnerConnectionFailed(std::string_view details, const ConnectionInfo& inner) {
  tunnel_state_ = Tunnel::Failed;
  if (stream_ && !stream_->responseStarted()) {
    HeaderMap extra;
    extra.add("connection", "close");
    std::string what = details.empty() ? "the tunnel could not be set up" : std::string(details);
    // A refused destination (policy, loop) is the client's to fix, not the origin's failure.
    int status = inner.refusal_status ? inner.refusal_status : 502;
    stream_->info().response_flags |=
        inner.refusal_status ? inner.refusal_flag : response_flags::kUpstreamConnectionFailure;
    stream_->sendLocalReply(
        status, str::cat("CONNECT ", stream_->requestHeaders()->authority(), " failed: ", what, "\n"), extra, what);
  }
  // The inner connection is still on the stack: let it go later.
  post([this] { tunnel_.reset(); });
}

void ConnectionManager::establishTunnel() {
  stream_->info().tunnel = tunnel_->choice();
  if (!stream_->info().tunnel) previewTunnel(stream_->requestHeaders()->authority());  // still inspecting
  auto ok = std::make_unique<HeaderMap>();
  ok->add(":status", "200");
  stream_->encodeHeadersFromCodec(std::move(ok), false);
  if (paused_for_pipeline_) {
    paused_for_pipeline_ = false;
    callbacks_->readDisable(false);
  }
  if (!input_.empty() || client_eof_) {
    Buffer rest;
    rest.move(input_);
    tunnel_->onData(rest, client_eof_);
  }
}

void ConnectionManager::protocolError(int status, std::string_view reason, uint32_t flag) {
  header_error_.reset();
  if (closed_) return;
  if (discarding_) {
    // A bad or stalled body of a request that was answered already: nothing to tell.
    closeConnection(CloseType::FlushWrite);
    return;
  }
  close_after_response_ = true;
  if (!stream_) {
    // A stream of its own, so the filters (the access log) see the error like any request.
    beginExchange();
    close_after_response_ = true;
    startStream("HTTP/1.1");
  }
  stream_->info().response_flags |= flag;
  if (stream_->responseStarted()) {
    closeConnection(CloseType::NoFlush);
    return;
  }
  HeaderMap extra;
  extra.add("connection", "close");
  stream_->sendLocalReply(status, str::cat(reason, "\n"), extra, reason);
}

void ConnectionManager::onMessageParsed() {
  if (discarding_ && !stream_) {
    // The unread body of the last request has gone by: on to the next request, whose
    // header clock starts with its first byte (below), not with the skipped body.
    discarding_ = false;
    header_timer_->disable();
    parser_->resume();
    armIdleTimer();
  }
}

void ConnectionManager::switchProtocols(HeaderMap& headers) {
  upgrade_ = Upgrade::Switched;
  framing_ = Framing::Switched;
  close_after_response_ = true;  // no HTTP after the other protocol
  http1::writeResponseHead(101, headers, out_);
  flushOut();
  upgrade_idle_timer_ = std::make_unique<Timer>(callbacks_->worker().ioContext(), [this] {
    if (stream_) stream_->info().response_flags |= response_flags::kStreamIdleTimeout;
    closeConnection(CloseType::FlushWrite);
  });
  touchUpgrade();
  if (paused_for_pipeline_) {
    paused_for_pipeline_ = false;
    callbacks_->readDisable(false);
  }
  if (!input_.empty() || client_eof_) {
    // Bytes the client sent right behind its request (frames it did not wait to send).
    Buffer early;
    early.move(input_);
    stream_->decodeData(early, client_eof_);
  }
}

void ConnectionManager::touchUpgrade() {
  if (upgrade_idle_timer_) upgrade_idle_timer_->enable(config_->upgrade_idle_timeout);
}

void ConnectionManager::startStream(std::string_view protocol) {
  stream_ =
      std::make_unique<ActiveStream>(*this, callbacks_->worker(), callbacks_->connectionInfo(), *config_, protocol);
  if (above_high_watermark_) stream_->onAboveWriteBufferHighWatermark();
}

void ConnectionManager::sendContinue() {
  out_.add("HTTP/1.1 100 Continue\r\n\r\n");
  flushOut();
}

void ConnectionManager::onRequestHeadersDone() {
  if (!connect_request_) return;
  connect_headers_done_ = true;
  // A filter held the CONNECT and has let it go: set the tunnel up now.
  if (connect_parsed_ && !tunnel_) startTunnel();
}

void ConnectionManager::beginExchange() {
  connect_headers_done_ = false;
  connect_parsed_ = false;
  request_complete_ = false;
  response_complete_ = false;
  close_after_response_ = false;
  head_request_ = false;
  connect_request_ = false;
  framing_ = Framing::None;
  upgrade_ = Upgrade::None;
}

// ---- responses ----

void ConnectionManager::encodeHeaders(HeaderMap& headers, bool end_stream) {
  int status = headers.status();
  if (connect_request_ && tunnel_state_ == Tunnel::Ready && status == 200) {
    out_.add("HTTP/1.1 200 Connection established\r\n\r\n");
    flushOut();
    return;
  }
  if (status == 101 && upgrade_ != Upgrade::None) {
    switchProtocols(headers);
    return;
  }
  if (upgrade_ != Upgrade::None) {
    // The origin declined the upgrade: an ordinary response; the request had no body, and
    // what the client sends next is HTTP again.
    upgrade_ = Upgrade::None;
    if (parser_) parser_->resume();
    post([this] {  // (not from inside the stream's own encode call)
      Buffer none;
      if (stream_ && request_complete_) stream_->decodeData(none, true);
    });
  }
  bool no_body = head_request_ || status < 200 || status == 204 || status == 304;
  if (status == 204 || status < 200) headers.remove("content-length");
  if (no_body) {
    framing_ = Framing::None;
  } else if (headers.has("content-length")) {
    framing_ = Framing::Length;
  } else if (end_stream) {
    headers.set("content-length", "0");
    framing_ = Framing::Length;
  } else if (!client_http10_) {
    headers.set("transfer-encoding", "chunked");
    framing_ = Framing::Chunked;
  } else {
    framing_ = Framing::Close;
    close_after_response_ = true;
  }
  // A client that half-closed still gets answers to every request it sent in full;
  // dispatch() closes once none is left.
  if (!client_keep_alive_ || callbacks_->worker().draining() || connect_request_) {
    close_after_response_ = true;
  }
  if (close_after_response_) {
    headers.set("connection", "close");
  } else if (client_http10_) {
    headers.set("connection", "keep-alive");
  }
  http1::writeResponseHead(status, headers, out_);
  if (end_stream) {
    flushOut();
    onResponseComplete();
  } else {
    flushOutSoon();  // the body's first bytes usually follow at once: one write for both
  }
}

void ConnectionManager::encodeData(Buffer& data, bool end_stream) {
  if (framing_ == Framing::Switched) {
    touchUpgrade();
    out_.move(data);
    if (end_stream) {
      // The origin is done sending: so are we (a half-close); the client may still send.
      if (!closed_) callbacks_->write(out_, true);
      out_.clear();
      onResponseComplete();
    } else {
      flushOut();
    }
    return;
  }
  switch (framing_) {
    case Framing::None:
    case Framing::Switched:
      data.clear();
      break;
    case Framing::Length:
    case Framing::Close:
      out_.move(data);
      break;
    case Framing::Chunked:
      http1::writeChunk(data.view(), out_);
      data.clear();
      if (end_stream) http1::writeLastChunk(nullptr, out_);
      break;
  }
  if (end_stream || out_.size() >= kOutBatchBytes) {
    flushOut();
  } else {
    flushOutSoon();
  }
  if (end_stream) onResponseComplete();
}

// Response bytes gather in out_ while one event is handled (a head, then its body) and
// leave in one write: over TLS that is one record, not one per piece.
void ConnectionManager::flushOut() {
  if (!out_.empty() && !closed_) callbacks_->write(out_, false);
  out_.clear();
}

void ConnectionManager::flushOutSoon() {
  if (flush_posted_ || out_.empty()) return;
  flush_posted_ = true;
  post([this] {
    flush_posted_ = false;
    flushOut();
  });
}

void ConnectionManager::encodeTrailers(HeaderMap& trailers) {
  if (framing_ == Framing::Chunked) {
    http1::removeHopByHopHeaders(trailers);
    trailers.remove("content-length");  // framing fields have no place in trailers
    http1::writeLastChunk(&trailers, out_);
  }
  flushOut();
  onResponseComplete();
}

void ConnectionManager::onResponseComplete() {
  if (response_complete_) return;
  response_complete_ = true;
  if (stream_) stream_->info().last_downstream_byte_sent = StreamInfo::Clock::now();
  // Finish on a fresh stack: the stream's own code is still running below us.
  post([this] { finishStream(); });
}

void ConnectionManager::finishStream() {
  if (!stream_ || closed_) return;
  // A switched stream ends when both sides have: the client's end is waited for (up to the
  // idle timeout) after the origin's.
  if (framing_ == Framing::Switched && !client_eof_) return;
  // A request still arriving (a local reply, or an origin that answered early) is read to
  // its end and dropped, as long as that is little; a CONNECT's tunnel bytes never are.
  discarding_ = !request_complete_ && !connect_request_ && !close_after_response_;
  discarded_ = 0;
  bool must_close = close_after_response_ || (!request_complete_ && !discarding_);
  stream_.reset();  // onStreamComplete(): the access log line
  while (read_disabled_by_stream_ > 0) {
    --read_disabled_by_stream_;
    callbacks_->readDisable(false);
  }
  if (must_close) {
    closeConnection(CloseType::FlushWrite);
    return;
  }
  if (!discarding_) parser_->resume();
  if (paused_for_pipeline_) {
    paused_for_pipeline_ = false;
    callbacks_->readDisable(false);
  }
  armIdleTimer();
  dispatch();
}

void ConnectionManager::resetStream(std::string_view reason) {
  if (stream_ && stream_->info().error.empty()) stream_->info().error = std::string(reason);
  closeConnection(CloseType::NoFlush);
}

void ConnectionManager::closeConnection(CloseType type) {
  if (closed_) return;
  if (type == CloseType::FlushWrite) flushOut();
  callbacks_->close(type);
}

void ConnectionManager::onEvent(ConnectionEvent event) {
  closed_ = true;
  if (upgrade_idle_timer_) upgrade_idle_timer_->disable();
  if (header_timer_) header_timer_->disable();
  if (idle_timer_) idle_timer_->disable();
  if (tunnel_) {
    tunnel_->onEvent(event);
    if (stream_ && tunnel_state_ == Tunnel::Ready) {
      // A tls_inspector picks the chain only once the client's first bytes came.
      if (auto choice = tunnel_->choice()) stream_->info().tunnel = std::move(choice);
      stream_->info().bytes_received = tunnel_->bytesFromClient();
      stream_->info().bytes_sent = tunnel_->bytesToClient();
      if (stream_->info().error.empty()) stream_->info().error = tunnel_->closeDetails();
    }
  }
  if (stream_ && !stream_->responseComplete() && tunnel_state_ != Tunnel::Ready && framing_ != Framing::Switched) {
    if (event == ConnectionEvent::RemoteClose) {
      stream_->info().response_flags |= response_flags::kDownstreamConnectionTermination;
      if (stream_->info().error.empty()) stream_->info().error = "downstream connection closed";
    }
  }
  // The stream completes (and logs) when this filter is destroyed with its connection, or
  // now if it was a tunnel that ended.
  if (stream_) post([this] { stream_.reset(); });
}

// ---- flow control ----

void ConnectionManager::readDisable(bool disable) {
  if (disable) {
    ++read_disabled_by_stream_;
    callbacks_->readDisable(true);
  } else if (read_disabled_by_stream_ > 0) {
    --read_disabled_by_stream_;
    callbacks_->readDisable(false);
  }
}

void ConnectionManager::onAboveWriteBufferHighWatermark() {
  above_high_watermark_ = true;
  if (stream_) stream_->onAboveWriteBufferHighWatermark();
}

void ConnectionManager::onBelowWriteBufferLowWatermark() {
  above_high_watermark_ = false;
  if (stream_) stream_->onBelowWriteBufferLowWatermark();
}

}  // namespace interpose::hcm
