#include "examples/record_exchange/record_exchange.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "api/interpose/strings.h"
#include "examples/record_exchange/json.h"

namespace record_exchange {
namespace {

using interpose::Buffer;
using interpose::FilterDataStatus;
using interpose::FilterHeadersStatus;
using interpose::HeaderMap;
using interpose::StreamInfo;
namespace str = interpose::str;

std::string requestUrl(const HeaderMap& headers) {
  // CONNECT names a host:port, not a resource.
  if (headers.method() == "CONNECT") return std::string(headers.authority());
  return str::cat(headers.scheme(), "://", headers.authority(), headers.path());
}

// "2026-11-29T04:31:55.123Z"
void appendTime(std::string& out, std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  const time_t seconds = static_cast<time_t>(ms / 1000);
  tm utc;
  gmtime_r(&seconds, &utc);
  char buffer[32];
  snprintf(buffer, sizeof(buffer), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
           utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(ms % 1000));
  out.append(buffer);
}

}  // namespace

RecordExchangeFilter::Headers RecordExchangeFilter::copyHeaders(const HeaderMap& headers) {
  Headers out;
  out.reserve(headers.size());
  for (const auto& [name, value] : headers) {
    // Pseudo-headers are recorded as method, url and status.
    if (!name.starts_with(':')) out.emplace_back(name, value);
  }
  return out;
}

FilterHeadersStatus RecordExchangeFilter::decodeHeaders(HeaderMap& headers, bool) {
  have_request_ = true;
  method_ = std::string(headers.method());
  url_ = requestUrl(headers);
  request_headers_ = copyHeaders(headers);
  return FilterHeadersStatus::Continue;
}

FilterDataStatus RecordExchangeFilter::decodeData(Buffer& data, bool) {
  capture(request_body_, data);
  return FilterDataStatus::Continue;
}

FilterHeadersStatus RecordExchangeFilter::encodeHeaders(HeaderMap& headers, bool) {
  have_response_ = true;
  status_ = headers.status();
  response_headers_ = copyHeaders(headers);
  return FilterHeadersStatus::Continue;
}

FilterDataStatus RecordExchangeFilter::encodeData(Buffer& data, bool) {
  capture(response_body_, data);
  return FilterDataStatus::Continue;
}

void RecordExchangeFilter::capture(std::string& preview, const Buffer& data) const {
  if (preview.size() >= config_->max_body_bytes) return;
  const size_t take = std::min<size_t>(data.size(), config_->max_body_bytes - preview.size());
  preview.append(data.data(), take);
}

void RecordExchangeFilter::onStreamComplete(const StreamInfo& info) { sink_->write(format(info)); }

void RecordExchangeFilter::appendHeaders(std::string& out, const Headers& headers) const {
  out.push_back('[');
  bool first = true;
  for (const auto& [name, value] : headers) {
    if (!first) out.push_back(',');
    first = false;
    out.push_back('[');
    appendJsonString(out, name);
    out.push_back(',');
    appendJsonString(out, config_->redacted(name) ? "[redacted]" : std::string_view(value));
    out.push_back(']');
  }
  out.push_back(']');
}

std::string RecordExchangeFilter::format(const StreamInfo& info) const {
  // A filter before this one may have answered the request itself (local_reply), so this
  // one never saw it: fall back to what the stream recorded.
  Headers fallback_request, fallback_response;
  std::string method = method_, url = url_;
  if (!have_request_ && info.request_headers) {
    method = std::string(info.request_headers->method());
    url = requestUrl(*info.request_headers);
    fallback_request = copyHeaders(*info.request_headers);
  }
  if (!have_response_ && info.response_headers) fallback_response = copyHeaders(*info.response_headers);

  std::string line = "{\"start_time\":\"";
  appendTime(line, info.start_time);
  line += "\",\"method\":";
  appendJsonString(line, method);
  line += ",\"url\":";
  appendJsonString(line, url);
  line += ",\"request_headers\":";
  appendHeaders(line, have_request_ ? request_headers_ : fallback_request);
  line += str::cat(",\"status\":", have_response_ ? status_ : info.response_code);
  line += ",\"response_headers\":";
  appendHeaders(line, have_response_ ? response_headers_ : fallback_response);
  // Sizes as the client exchanged them (the stream's counters, like the access log's).
  line += str::cat(",\"request_body_size\":", info.bytes_received, ",\"response_body_size\":", info.bytes_sent);
  if (config_->max_body_bytes > 0) {
    line += ",\"request_body\":";
    appendJsonString(line, request_body_);
    line += str::cat(",\"request_body_truncated\":", info.bytes_received > request_body_.size() ? "true" : "false");
    line += ",\"response_body\":";
    appendJsonString(line, response_body_);
    line += str::cat(",\"response_body_truncated\":", info.bytes_sent > response_body_.size() ? "true" : "false");
  }
  line += str::cat(",\"duration_ms\":", info.duration().count() / 1000);
  line += ",\"error\":";
  if (info.error.empty()) {
    line += "null";
  } else {
    appendJsonString(line, info.error);
  }
  line += "}\n";
  return line;
}

}  // namespace record_exchange
