#include "source/filters/network/http_connection_manager/active_stream.h"

#include "api/interpose/strings.h"
#include "source/http/http1/serializer.h"

namespace interpose::hcm {

ActiveStream::ActiveStream(StreamCodec& codec, Worker& worker, const ConnectionInfo& connection,
                           const HcmConfig& config, std::string_view protocol)
    : codec_(codec),
      config_(config),
      version_(protocol.starts_with("HTTP/") ? protocol.substr(5) : protocol),
      filters_(*this, worker, connection, config.filters, config.routes.get()) {
  filters_.info().protocol = std::string(protocol);
}

// Destroying the filter manager completes the stream (the access log line).
ActiveStream::~ActiveStream() = default;

std::string ActiveStream::upgradeType(const HeaderMap& request, const HcmConfig& config) {
  const std::string* upgrade = request.get("upgrade");
  if (!upgrade || config.upgrade_types.empty()) return {};
  bool asked = false;  // "Connection: upgrade" (RFC 9110 7.8)
  for (std::string_view rest = request.getOr("connection"); !rest.empty() && !asked;) {
    size_t comma = rest.find(',');
    asked = str::equalsIgnoreCase(str::trim(rest.substr(0, comma)), "upgrade");
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  if (!asked) return {};
  std::string_view first = *upgrade;
  first = str::trim(first.substr(0, first.find(',')));
  std::string type = str::toLower(first.substr(0, first.find('/')));  // "websocket", "h2c"
  for (const auto& allowed : config.upgrade_types) {
    if (allowed == type) return type;
  }
  return {};
}

ActiveStream::Expectation ActiveStream::expectation(const HeaderMap& request) {
  const std::string* expect = request.get("expect");
  if (!expect) return Expectation::None;
  return str::equalsIgnoreCase(str::trim(*expect), "100-continue") ? Expectation::Continue : Expectation::Unsupported;
}

std::string ActiveStream::viaValue(bool response) const {
  if (config_.via.empty()) return {};
  // A request says how it reached us; a response goes out as HTTP/1.1 to any HTTP/1.x client.
  return str::cat(response && version_ == "1.0" ? "1.1" : version_, " ", config_.via);
}

void ActiveStream::decodeHeaders(std::unique_ptr<HeaderMap> headers, bool end_stream, bool upgrade) {
  HeaderMap& h = *headers;
  // :authority may be left out when a Host field names the origin (RFC 9113 8.3.1); the
  // origin gets its Host from :authority, so the field itself goes.
  if (h.authority().empty() && h.has("host")) h.add(":authority", std::string(h.getOr("host")));
  h.remove("host");
  // Several cookie fields become one, as HTTP/1.1 origins expect (RFC 9113 8.2.3).
  int cookie_fields = 0;
  for (const auto& [name, value] : h) cookie_fields += name == "cookie";
  if (cookie_fields > 1) {  // (rare: joined only then, nothing built for one field)
    std::string cookies;
    for (const auto& [name, value] : h) {
      if (name == "cookie") cookies += (cookies.empty() ? "" : "; ") + value;
    }
    h.set("cookie", cookies);
  }
  if (upgrade) upgrade_ = upgradeType(h, config_);  // only the allowed token goes on
  Expectation expect = expectation(h);
  if (expect == Expectation::Unsupported) {
    // (HTTP/1.1 refuses these while parsing, and closes: its body framing is in doubt.)
    filters_.sendLocalReply(417, "unsupported expectation\n", {}, "unsupported_expectation");
    return;
  }
  // We take the body whatever the origin would say, so tell the client to send it now.
  if (expect == Expectation::Continue && !end_stream && !upgrading() && version_ != "1.0" && h.method() != "CONNECT") {
    codec_.sendContinue();
  }
  h.remove("expect");
  // Connection-level fields are ours, not the origin's (Upgrade, Proxy-*, ...). TE: trailers
  // stays for an HTTP/2 origin (gRPC needs it); the HTTP/1.1 upstream path drops it.
  http1::removeHopByHopHeaders(h, /*keep_te_trailers=*/true);
  if (upgrading()) {
    // The one hop-by-hop request that goes on: the origin must see what is asked of it.
    h.add("connection", "upgrade");
    h.add("upgrade", upgrade_);
  }
  if (std::string via = viaValue(false); !via.empty()) h.add("via", via);
  filters_.decodeHeaders(std::move(headers), end_stream);
}

void ActiveStream::encodeHeaders(HeaderMap& headers, bool end_stream) {
  std::string switched_to = headers.status() == 101 && upgrading() ? headers.getJoined("upgrade") : "";
  http1::removeHopByHopHeaders(headers);
  if (headers.status() == 101 && upgrading()) {
    headers.add("connection", "upgrade");
    headers.add("upgrade", switched_to.empty() ? upgrade_ : switched_to);
  }
  if (std::string via = viaValue(true); !via.empty()) headers.add("via", via);
  codec_.encodeHeaders(headers, end_stream);
}

void ActiveStream::addDownstreamWatermarkCallbacks(WatermarkCallbacks& cb) {
  watermark_callbacks_.push_back(&cb);
  if (above_high_watermark_ > 0) cb.onAboveWriteBufferHighWatermark();
}

void ActiveStream::removeDownstreamWatermarkCallbacks(WatermarkCallbacks& cb) { std::erase(watermark_callbacks_, &cb); }

void ActiveStream::onAboveWriteBufferHighWatermark() {
  if (above_high_watermark_++ > 0) return;
  // A callback may remove itself (or another) while we go through the list.
  for (auto* cb : std::vector<WatermarkCallbacks*>(watermark_callbacks_)) cb->onAboveWriteBufferHighWatermark();
}

void ActiveStream::onBelowWriteBufferLowWatermark() {
  if (above_high_watermark_ == 0 || --above_high_watermark_ > 0) return;
  for (auto* cb : std::vector<WatermarkCallbacks*>(watermark_callbacks_)) cb->onBelowWriteBufferLowWatermark();
}

}  // namespace interpose::hcm
