#include "source/http/http1/parser.h"

#include "api/interpose/strings.h"

namespace interpose::http1 {
namespace {
Parser& self(llhttp_t* p) { return *static_cast<Parser*>(p->data); }
}  // namespace

Parser::Parser(Type type, Handler& handler, size_t max_header_bytes)
    : type_(type), handler_(handler), max_header_bytes_(max_header_bytes) {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = &Parser::onMessageBegin;
  settings_.on_url = &Parser::onUrl;
  settings_.on_header_field = &Parser::onHeaderField;
  settings_.on_header_value = &Parser::onHeaderValue;
  settings_.on_headers_complete = &Parser::onHeadersComplete;
  settings_.on_body = &Parser::onBody;
  settings_.on_message_complete = &Parser::onMessageComplete;
  llhttp_init(&parser_, type == Type::Request ? HTTP_REQUEST : HTTP_RESPONSE, &settings_);
  parser_.data = this;
}

int Parser::onMessageBegin(llhttp_t* p) {
  Parser& s = self(p);
  s.in_message_ = true;
  s.headers_done_ = false;
  s.header_bytes_ = 0;
  s.field_.clear();
  s.value_.clear();
  s.in_value_ = false;
  s.head_ = MessageHead{};
  s.connect_ = false;
  s.invalid_te_ = false;
  s.invalid_header_.clear();
  s.head_.headers = std::make_unique<HeaderMap>();
  s.trailers_.reset();
  return 0;
}

int Parser::addHeaderBytes(size_t len) {
  header_bytes_ += len;
  if (header_bytes_ > max_header_bytes_) {
    header_overflow_ = true;
    return -1;
  }
  return 0;
}

int Parser::onUrl(llhttp_t* p, const char* at, size_t len) {
  Parser& s = self(p);
  s.head_.target.append(at, len);
  return s.addHeaderBytes(len);
}

void Parser::flushField() {
  if (field_.empty() && !in_value_) return;
  // llhttp lets "Name : value" through; RFC 9112 5.1 says reject it (a smuggling vector).
  if (!lowerCaseHeaderName(field_) && invalid_header_.empty()) invalid_header_ = field_;
  HeaderMap& target =
      headers_done_ ? *(trailers_ ? trailers_ : (trailers_ = std::make_unique<HeaderMap>())) : *head_.headers;
  // Obsolete line folding is rejected by llhttp; surrounding whitespace is not part of a value.
  std::string_view trimmed = str::trim(value_);
  if (trimmed.size() != value_.size()) value_ = std::string(trimmed);
  target.emplaceLowerCase(std::move(field_), std::move(value_));
  field_.clear();
  value_.clear();
  in_value_ = false;
}

int Parser::onHeaderField(llhttp_t* p, const char* at, size_t len) {
  Parser& s = self(p);
  if (s.in_value_) s.flushField();
  s.field_.append(at, len);
  return s.addHeaderBytes(len);
}

int Parser::onHeaderValue(llhttp_t* p, const char* at, size_t len) {
  Parser& s = self(p);
  s.in_value_ = true;
  s.value_.append(at, len);
  return s.addHeaderBytes(len);
}

int Parser::onHeadersComplete(llhttp_t* p) {
  Parser& s = self(p);
  s.flushField();
  if (!s.invalid_header_.empty()) return -1;
  if (s.type_ == Type::Request) {
    // Only "chunked" is accepted as a request transfer coding: anything else ("xchunked",
    // "gzip, chunked", "chunked, chunked") is how request smuggling starts (RFC 9112 6.1).
    const std::string te = s.head_.headers->getJoined("transfer-encoding");
    if (!te.empty() && (!str::equalsIgnoreCase(te, "chunked") || !(p->flags & F_CHUNKED))) {
      s.invalid_te_ = true;
      return -1;
    }
  }
  s.headers_done_ = true;
  MessageHead& h = s.head_;
  h.version_major = p->http_major;
  h.version_minor = p->http_minor;
  h.keep_alive = llhttp_should_keep_alive(p);
  h.chunked = (p->flags & F_CHUNKED) != 0;
  h.has_content_length = (p->flags & F_CONTENT_LENGTH) != 0;
  h.content_length = h.has_content_length ? p->content_length : 0;
  h.upgrade = p->upgrade;
  if (s.type_ == Type::Request) {
    h.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
    s.connect_ = h.method == "CONNECT";
  } else {
    h.status = p->status_code;
  }
  int action = s.handler_.onHeaders(h);
  if (action == kAbort) return -1;
  if (s.connect_) return 2;  // the rest is tunnel
  return action == kSkipBody ? 1 : 0;
}

int Parser::onBody(llhttp_t* p, const char* at, size_t len) {
  self(p).handler_.onBody(std::string_view(at, len));
  return 0;
}

int Parser::onMessageComplete(llhttp_t* p) {
  Parser& s = self(p);
  s.flushField();
  // Trailer field names are checked like header names: "X-Bad : v" in a trailer is rejected
  // too, instead of reaching the far side as a field it may read differently.
  if (!s.invalid_header_.empty()) return -1;
  s.in_message_ = false;
  s.handler_.onMessageComplete(std::move(s.trailers_));
  // An upgrade (CONNECT) makes llhttp stop by itself with HPE_PAUSED_UPGRADE.
  return p->upgrade ? 0 : HPE_PAUSED;
}

Parser::Result Parser::fail(int status, std::string reason) {
  error_status_ = status;
  error_reason_ = std::move(reason);
  return Result::Error;
}

Parser::Result Parser::execute(std::string_view data, size_t& consumed) {
  llhttp_errno_t err = llhttp_execute(&parser_, data.data(), data.size());
  if (err == HPE_OK) {
    consumed = data.size();
    return Result::Ok;
  }
  const char* pos = llhttp_get_error_pos(&parser_);
  consumed = pos ? static_cast<size_t>(pos - data.data()) : data.size();
  if (err == HPE_PAUSED) return Result::Paused;
  // CONNECT, an Upgrade request or a 101: the caller decides whether what follows is
  // another protocol (a tunnel, a WebSocket) or, the upgrade declined, more HTTP (resume()).
  if (err == HPE_PAUSED_UPGRADE) return Result::Upgrade;
  if (header_overflow_) {
    return fail(431, type_ == Type::Request ? "request header fields too large" : "response header fields too large");
  }
  if (!invalid_header_.empty()) return fail(400, str::cat("invalid header field name '", invalid_header_, "'"));
  if (invalid_te_) return fail(400, "unsupported Transfer-Encoding (only 'chunked' is accepted)");
  return fail(400, str::cat(llhttp_errno_name(err), ": ", llhttp_get_error_reason(&parser_)));
}

Parser::Result Parser::finish() {
  llhttp_errno_t err = llhttp_finish(&parser_);
  if (err == HPE_OK) return Result::Ok;
  if (err == HPE_PAUSED) return Result::Paused;
  return fail(400, str::cat(llhttp_errno_name(err), ": ", llhttp_get_error_reason(&parser_)));
}

void Parser::resume() {
  llhttp_errno_t err = llhttp_get_errno(&parser_);
  if (err == HPE_PAUSED) llhttp_resume(&parser_);
  if (err == HPE_PAUSED_UPGRADE) llhttp_resume_after_upgrade(&parser_);
}

}  // namespace interpose::http1
