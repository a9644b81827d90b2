#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/interpose/header_map.h"

namespace interpose::rate_limit {

// One part of a bucket key, as configured in `key:`.
struct KeyPart {
  enum class Kind { ClientIp, Authority, Route, Header };
  Kind kind = Kind::ClientIp;
  std::string header;  // for Header: the lower-cased field name

  // "client_ip", "authority", "route" or "header:NAME".
  std::string name() const;
};

// What a key is built from besides the request headers.
struct KeyContext {
  std::string_view remote_address;  // "ip:port" or "[v6]:port"
  std::string_view route_name;      // empty when no route matched
};

// The address without its port: "10.0.0.1:5555" -> "10.0.0.1", "[::1]:80" -> "::1".
std::string_view clientIp(std::string_view remote_address);

// The bucket key of a request: each part's value, length-prefixed so that no two
// different value combinations give the same key ("a"+"bc" vs "ab"+"c"). A part with no
// value (an absent header, no matching route) counts as the empty value, so requests
// without the header share one bucket rather than escaping the limit.
std::string buildKey(const std::vector<KeyPart>& parts, const HeaderMap& headers, const KeyContext& context);

// The same key for people: `client_ip=127.0.0.1 header:x-api-key="abc"`, with control
// bytes, quotes and backslashes escaped and long values cut, so logs stay one line each.
std::string describeKey(const std::vector<KeyPart>& parts, const HeaderMap& headers, const KeyContext& context);

}  // namespace interpose::rate_limit
