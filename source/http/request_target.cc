#include "source/http/request_target.h"

#include "api/interpose/strings.h"

namespace interpose::http {
namespace {

bool validAuthority(std::string_view authority) {
  if (authority.empty()) return false;
  for (char c : authority) {
    // Userinfo ('@') is deprecated and a classic way to disguise the real host.
    if (c == '@' || c == '/' || c == '?' || c == '#' || c == ' ' || c == '\\' || static_cast<unsigned char>(c) < 0x21 ||
        static_cast<unsigned char>(c) == 0x7f) {
      return false;
    }
  }
  return true;
}

}  // namespace

RequestTarget parseRequestTarget(std::string_view method, std::string_view target, std::string_view host) {
  RequestTarget out;
  if (method == "CONNECT") {
    if (!validAuthority(target) || !splitAuthority(target, 0) || splitAuthority(target, 0)->second == 0) {
      out.error = "CONNECT target must be host:port";
    }
    out.authority = std::string(target);
    return out;
  }
  if (!target.empty() && target[0] == '/') {
    out.path = std::string(target);
    out.authority = std::string(host);
    if (!host.empty() && !validAuthority(host)) out.error = "invalid Host header";
    return out;
  }
  if (target == "*" && method == "OPTIONS") {
    out.path = "*";
    out.authority = std::string(host);
    return out;
  }
  size_t colon = target.find("://");
  if (colon == std::string_view::npos) {
    out.error = "invalid request target";
    return out;
  }
  out.scheme = str::toLower(target.substr(0, colon));
  if (out.scheme != "http" && out.scheme != "https") {
    out.error = str::cat("unsupported scheme '", out.scheme, "'");
    return out;
  }
  std::string_view rest = target.substr(colon + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (!validAuthority(authority) || !splitAuthority(authority, 80)) {
    out.error = "invalid authority in request target";
    return out;
  }
  out.authority = std::string(authority);
  std::string_view path = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (size_t hash = path.find('#'); hash != std::string_view::npos) path = path.substr(0, hash);
  if (path.empty() || path[0] != '/') {
    out.path = str::cat("/", path);
  } else {
    out.path = std::string(path);
  }
  return out;
}

std::optional<std::pair<std::string, uint16_t>> splitAuthority(std::string_view authority, uint16_t default_port) {
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return std::nullopt;
      port = after.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    if (authority.find(':') != colon) return std::nullopt;  // bare IPv6 needs brackets
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return std::nullopt;
  uint32_t number = default_port;
  if (!port.empty() || authority.ends_with(":")) {
    if (!str::parseInt(port, number) || number == 0 || number > 65535) return std::nullopt;
  }
  return std::make_pair(str::toLower(host), static_cast<uint16_t>(number));
}

}  // namespace interpose::http
