#include "source/filters/http/rate_limit/key.h"

#include <algorithm>

#include "api/interpose/strings.h"

namespace interpose::rate_limit {
namespace {

constexpr size_t kMaxDescribedValue = 64;

std::string partValue(const KeyPart& part, const HeaderMap& headers, const KeyContext& context) {
  switch (part.kind) {
    case KeyPart::Kind::ClientIp:
      return std::string(clientIp(context.remote_address));
    case KeyPart::Kind::Authority:
      // Host names are case-insensitive: Example.COM and example.com share a bucket.
      return str::toLower(headers.authority());
    case KeyPart::Kind::Route:
      return std::string(context.route_name);
    case KeyPart::Kind::Header:
      return headers.getJoined(part.header);
  }
  return {};
}

void appendEscaped(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t n = std::min(value.size(), kMaxDescribedValue);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      out.append("\\x");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (value.size() > n) out.append("...");
}

}  // namespace

std::string KeyPart::name() const {
  switch (kind) {
    case Kind::ClientIp:
      return "client_ip";
    case Kind::Authority:
      return "authority";
    case Kind::Route:
      return "route";
    case Kind::Header:
      return str::cat("header:", header);
  }
  return {};
}

std::string_view clientIp(std::string_view remote_address) {
  if (remote_address.starts_with('[')) {
    size_t close = remote_address.find(']');
    return close == std::string_view::npos ? remote_address.substr(1) : remote_address.substr(1, close - 1);
  }
  size_t colon = remote_address.rfind(':');
  // A bare IPv6 address (more than one colon) has no port to strip.
  if (colon == std::string_view::npos || remote_address.find(':') != colon) return remote_address;
  return remote_address.substr(0, colon);
}

std::string buildKey(const std::vector<KeyPart>& parts, const HeaderMap& headers, const KeyContext& context) {
  std::string key;
  for (const auto& part : parts) {
    std::string value = partValue(part, headers, context);
    key.append(std::to_string(value.size()));
    key.push_back(':');
    key.append(value);
  }
  return key;
}

std::string describeKey(const std::vector<KeyPart>& parts, const HeaderMap& headers, const KeyContext& context) {
  if (parts.empty()) return "(one bucket for all requests)";
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out.push_back(' ');
    out.append(part.name());
    out.append("=\"");
    appendEscaped(out, partValue(part, headers, context));
    out.push_back('"');
  }
  return out;
}

}  // namespace interpose::rate_limit
