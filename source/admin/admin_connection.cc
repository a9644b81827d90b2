#include "source/admin/admin_connection.h"

#include <boost/asio/write.hpp>

#include "api/interpose/strings.h"
#include "source/admin/path_and_query.h"
#include "source/common/logger.h"
#include "source/http/http1/serializer.h"

namespace interpose::admin {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

AdminConnection::AdminConnection(asio::io_context& io, tcp::socket socket, const EndpointTable& endpoints,
                                 const AccessPolicy& access, const ConnectionLimits& limits,
                                 std::function<void(AdminConnection*)> on_closed)
    : socket_(std::move(socket)),
      endpoints_(endpoints),
      access_(access),
      limits_(limits),
      on_closed_(std::move(on_closed)),
      parser_(http1::Parser::Type::Request, *this, limits.max_header_bytes),
      deadline_(io, [this] {
        log::debug("admin: closing a connection that timed out");
        close();
      }) {}

AdminConnection::~AdminConnection() = default;

void AdminConnection::start() {
  deadline_.enable(limits_.idle_timeout);
  read();
}

void AdminConnection::closeWhenIdle() {
  shutting_down_ = true;
  if (!writing_) close();
}

void AdminConnection::close() {
  if (closed_) return;
  closed_ = true;
  deadline_.disable();
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  // The server drops its reference; handlers still in flight hold their own.
  auto on_closed = std::move(on_closed_);
  if (on_closed) on_closed(this);
}

void AdminConnection::read() {
  if (closed_ || reading_ || writing_) return;
  reading_ = true;
  socket_.async_read_some(asio::buffer(read_buffer_),
                          [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                            self->reading_ = false;
                            if (self->closed_) return;
                            if (ec) {
                              // The client went away (or half-closed): nothing is owed to a partial request.
                              self->close();
                              return;
                            }
                            if (!self->parser_.messageInProgress() && self->input_.empty())
                              self->deadline_.enable(self->limits_.request_timeout);
                            self->input_.append(self->read_buffer_, n);
                            self->process();
                          });
}

int AdminConnection::onHeaders(http1::MessageHead& head) {
  if (head.has_content_length && head.content_length > limits_.max_body_bytes) {
    body_too_large_ = true;
    return http1::Parser::kAbort;
  }
  head_ = std::move(head);
  body_.clear();
  return http1::Parser::kParseBody;
}

void AdminConnection::onBody(std::string_view data) {
  // A chunked body has no length up front: stop keeping it past the limit (process() answers).
  if (body_.size() + data.size() > limits_.max_body_bytes) {
    body_too_large_ = true;
    return;
  }
  body_.append(data);
}

void AdminConnection::onMessageComplete(std::unique_ptr<HeaderMap>) { complete_ = true; }

void AdminConnection::process() {
  while (!closed_ && !writing_) {
    if (input_.empty()) break;
    size_t consumed = 0;
    const http1::Parser::Result result = parser_.execute(input_, consumed);
    input_.erase(0, consumed);
    if (body_too_large_) {
      respond(Response::text(413, str::cat("request body larger than ", limits_.max_body_bytes, " bytes\n")), true);
      return;
    }
    switch (result) {
      case http1::Parser::Result::Ok:
        input_.clear();  // all consumed by the parser
        break;
      case http1::Parser::Result::Upgrade:
        // CONNECT stops at its headers; a complete request that asked for an upgrade (curl's
        // h2c, a WebSocket) is answered as plain HTTP/1.1, which declines the upgrade.
        if (!complete_) {
          respond(Response::text(400, "CONNECT is not supported here\n"), true);
          return;
        }
        [[fallthrough]];
      case http1::Parser::Result::Paused: {
        if (!complete_) break;
        complete_ = false;
        const bool head_only = head_.method == "HEAD";
        malformed_ = false;
        Response response = dispatch();
        respond(std::move(response), !head_.keep_alive || shutting_down_ || malformed_, head_only);
        parser_.resume();
        return;  // the next request, if any, once this response is written
      }
      case http1::Parser::Result::Error:
        respond(Response::text(parser_.errorStatus(), str::cat(parser_.errorReason(), "\n")), true);
        return;
    }
  }
  if (!closed_ && !writing_) read();
}

Response AdminConnection::dispatch() {
  const HeaderMap& headers = *head_.headers;
  Request request;
  request.method = head_.method == "HEAD" ? "GET" : head_.method;
  request.headers = &headers;
  request.body = std::move(body_);
  body_.clear();
  std::string why;
  if (!parsePathAndQuery(head_.target, request.path, request.query, why)) {
    malformed_ = true;  // as for any malformed request: answer, then close
    return Response::text(400, why + "\n");
  }
  if (std::string refused = access_.refusal(head_.method, headers); !refused.empty()) {
    return Response::text(403, refused + "\n");
  }
  if (!access_.authorized(headers.getOr("authorization"))) {
    Response r = Response::text(401, "this admin server needs a token: send Authorization: Bearer TOKEN\n");
    r.headers.emplace_back("www-authenticate", "Bearer realm=\"interpose admin\"");
    return r;
  }
  EndpointTable::Match match = endpoints_.find(head_.method, request.path);
  if (!match.endpoint) {
    if (match.allowed.empty()) return Response::text(404, str::cat("no admin endpoint ", request.path, "; see /\n"));
    Response r = Response::text(405, str::cat(head_.method, " is not allowed on ", request.path, "\n"));
    r.headers.emplace_back("allow", str::join(match.allowed, ", "));
    return r;
  }
  request.rest = std::move(match.rest);
  try {
    return match.endpoint->handler(request);
  } catch (const std::exception& e) {
    log::warn("admin: ", head_.method, " ", request.path, " failed: ", e.what());
    return Response::text(500, str::cat("internal error: ", e.what(), "\n"));
  }
}

void AdminConnection::respond(Response response, bool close_after, bool head_only) {
  log::debug("admin: ", head_.method.empty() ? "-" : head_.method, " ", head_.target, " ", response.status);
  close_after_write_ = close_after;
  output_ = str::cat("HTTP/1.1 ", response.status, " ", http1::reasonPhrase(response.status), "\r\n");
  output_.append(str::cat("content-type: ", response.content_type, "\r\n"));
  output_.append(str::cat("content-length: ", response.body.size(), "\r\n"));
  // Answers reflect state at that instant (readiness, learned hosts): never cached.
  output_.append("cache-control: no-store\r\n");
  output_.append("x-content-type-options: nosniff\r\n");
  for (const auto& [name, value] : response.headers) output_.append(str::cat(name, ": ", value, "\r\n"));
  if (close_after) output_.append("connection: close\r\n");
  output_.append("\r\n");
  if (!head_only) output_.append(response.body);
  head_ = http1::MessageHead{};
  writing_ = true;
  deadline_.enable(limits_.write_timeout);
  asio::async_write(socket_, asio::buffer(output_),
                    [self = shared_from_this()](boost::system::error_code ec, size_t) { self->onWritten(ec); });
}

void AdminConnection::onWritten(boost::system::error_code ec) {
  writing_ = false;
  output_.clear();
  if (closed_) return;
  if (ec || close_after_write_ || shutting_down_) {
    close();
    return;
  }
  deadline_.enable(input_.empty() ? limits_.idle_timeout : limits_.request_timeout);
  process();
}

}  // namespace interpose::admin
