#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>

#include "source/admin/access.h"
#include "source/admin/endpoint.h"
#include "source/common/timer.h"
#include "source/http/http1/parser.h"

namespace interpose::admin {

// Limits of one admin connection. Admin requests are small; these only stop a client from
// holding memory or a connection for long.
struct ConnectionLimits {
  size_t max_header_bytes = 64 * 1024;               // request line and fields; more gets 431
  size_t max_body_bytes = 1024 * 1024;               // more gets 413
  std::chrono::milliseconds idle_timeout{60000};     // between requests
  std::chrono::milliseconds request_timeout{10000};  // from a request's first byte to its end
  std::chrono::milliseconds write_timeout{30000};    // a response the client does not read
};

// One client of the admin server: HTTP/1.1 with keep-alive, parsed by the project's llhttp
// parser, on the admin thread's io_context. Every operation is asynchronous, so a slow client
// holds only its own connection. Requests are answered one at a time, in order; malformed
// ones get 400 (oversized 431 or 413) and the connection closes.
class AdminConnection : public std::enable_shared_from_this<AdminConnection>, private http1::Parser::Handler {
 public:
  AdminConnection(boost::asio::io_context& io, boost::asio::ip::tcp::socket socket, const EndpointTable& endpoints,
                  const AccessPolicy& access, const ConnectionLimits& limits,
                  std::function<void(AdminConnection*)> on_closed);
  ~AdminConnection() override;

  void start();
  // Server shutdown: close now when idle, else after the response being written.
  void closeWhenIdle();
  void close();

 private:
  // http1::Parser::Handler
  int onHeaders(http1::MessageHead& head) override;
  void onBody(std::string_view data) override;
  void onMessageComplete(std::unique_ptr<HeaderMap> trailers) override;

  void read();
  void process();
  Response dispatch();
  void respond(Response response, bool close_after, bool head_only = false);
  void onWritten(boost::system::error_code ec);

  boost::asio::ip::tcp::socket socket_;
  const EndpointTable& endpoints_;
  const AccessPolicy& access_;
  const ConnectionLimits& limits_;
  std::function<void(AdminConnection*)> on_closed_;
  http1::Parser parser_;
  Timer deadline_;

  std::string input_;  // read but not yet parsed (pipelined requests)
  char read_buffer_[16 * 1024];
  std::string output_;
  bool reading_ = false;
  bool writing_ = false;
  bool close_after_write_ = false;
  bool closed_ = false;
  bool shutting_down_ = false;

  // The request being parsed.
  http1::MessageHead head_;
  std::string body_;
  bool body_too_large_ = false;
  bool complete_ = false;
  bool malformed_ = false;  // its target could not be parsed
};

}  // namespace interpose::admin
