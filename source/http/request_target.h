#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace interpose::http {

// The request-target of an HTTP/1.1 request line (RFC 9112 3.2) turned into pseudo-headers.
struct RequestTarget {
  std::string scheme = "http";
  std::string authority;  // "host[:port]", as sent
  std::string path;       // path and query, byte for byte; "*" for asterisk form
  std::string error;      // set when the target is invalid
  bool ok() const { return error.empty(); }
};

// Absolute form (what forward-proxy clients send) gives scheme and authority; the Host
// header is then ignored, as RFC 9112 3.2.2 requires. Origin form takes the Host header.
// CONNECT takes authority form.
RequestTarget parseRequestTarget(std::string_view method, std::string_view target, std::string_view host);

// Splits "host:port", "[v6]:port" or "host" (port = default_port). Returns nullopt when the
// host is empty or the port is not a number in 1-65535. The host loses its brackets.
std::optional<std::pair<std::string, uint16_t>> splitAuthority(std::string_view authority, uint16_t default_port);

}  // namespace interpose::http
