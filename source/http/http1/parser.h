#pragma once

#include <llhttp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "api/interpose/header_map.h"

namespace interpose::http1 {

// The start line and framing of one parsed message.
struct MessageHead {
  std::unique_ptr<HeaderMap> headers;  // the fields as received (names lower-cased)
  std::string method;                  // requests
  std::string target;                  // requests: the request-target, byte for byte
  int status = 0;                      // responses
  int version_major = 1;
  int version_minor = 1;
  bool keep_alive = true;
  bool chunked = false;
  bool has_content_length = false;
  uint64_t content_length = 0;
  bool upgrade = false;  // CONNECT, or an Upgrade the peer asked for
};

// A strict HTTP/1.x parser on llhttp, for requests (from clients) or responses (from
// origins). It stops after every complete message, so pipelined requests are handled one at
// a time and a response is matched to its request. Header blocks are limited in size.
class Parser {
 public:
  enum class Type { Request, Response };
  class Handler {
   public:
    virtual ~Handler() = default;
    // Return kParseBody, kSkipBody (the response to a HEAD request) or kAbort (stop with
    // an error; the handler has dealt with it).
    virtual int onHeaders(MessageHead& head) = 0;
    virtual void onBody(std::string_view data) = 0;
    // trailers is null unless a chunked body ended with trailer fields.
    virtual void onMessageComplete(std::unique_ptr<HeaderMap> trailers) = 0;
  };
  static constexpr int kParseBody = 0;
  static constexpr int kSkipBody = 1;
  static constexpr int kAbort = -1;
  enum class Result {
    Ok,      // all input consumed, message incomplete
    Paused,  // a message completed; call resume() before feeding more
    // CONNECT headers done, or an Upgrade request or 101 response complete: the rest of the
    // input is another protocol's, if the caller takes the upgrade (else resume()).
    Upgrade,
    Error,
  };

  Parser(Type type, Handler& handler, size_t max_header_bytes);
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // Feeds `data`; `consumed` tells how much was used (less than all on Paused/Upgrade/Error).
  Result execute(std::string_view data, size_t& consumed);
  // The peer closed: completes a message whose body runs until close.
  Result finish();
  void resume();
  bool messageInProgress() const { return in_message_; }

  // After Error: the status to answer with (400 or 431) and a short reason.
  int errorStatus() const { return error_status_; }
  const std::string& errorReason() const { return error_reason_; }

 private:
  static int onMessageBegin(llhttp_t* p);
  static int onUrl(llhttp_t* p, const char* at, size_t len);
  static int onHeaderField(llhttp_t* p, const char* at, size_t len);
  static int onHeaderValue(llhttp_t* p, const char* at, size_t len);
  static int onHeadersComplete(llhttp_t* p);
  static int onBody(llhttp_t* p, const char* at, size_t len);
  static int onMessageComplete(llhttp_t* p);
  int addHeaderBytes(size_t len);
  void flushField();
  Result fail(int status, std::string reason);

  Type type_;
  Handler& handler_;
  size_t max_header_bytes_;
  llhttp_settings_t settings_;
  llhttp_t parser_;
  bool in_message_ = false;
  bool headers_done_ = false;
  size_t header_bytes_ = 0;
  std::string field_;
  std::string value_;
  bool in_value_ = false;
  MessageHead head_;
  std::unique_ptr<HeaderMap> trailers_;
  int error_status_ = 400;
  std::string error_reason_;
  bool header_overflow_ = false;
  bool connect_ = false;
  bool invalid_te_ = false;     // the current request is CONNECT
  std::string invalid_header_;  // set when a field name is not a token
};

}  // namespace interpose::http1
