#pragma once

#include <string>
#include <string_view>

#include "api/interpose/header_map.h"

namespace interpose::admin {

// Who may use the admin server: the checks every request passes before its endpoint runs.
class AccessPolicy {
 public:
  // `token` empty: no token is asked for (the config allows that on loopback addresses only).
  explicit AccessPolicy(std::string token);

  bool requiresToken() const { return !token_.empty(); }

  // True when `authorization` (the header's value, possibly empty) is "Bearer TOKEN" with our
  // token. Compared in constant time (SHA-256 of both, then CRYPTO_memcmp), so response
  // timing tells nothing about how much of a guess was right, not even its length.
  bool authorized(std::string_view authorization) const;

  // Empty when the request may go on; else why it is refused with 403. Without a token, a
  // loopback admin server is what a web page in the user's browser could reach: through DNS
  // rebinding (a name of the attacker's resolving to 127.0.0.1, so the Host header carries
  // that name) it could read the config, and with a cross-site form POST it could stop the
  // proxy. So without a token the Host must be an IP address or localhost, and with or
  // without one a browser's cross-site POST or DELETE (Origin or Sec-Fetch-Site says so) is
  // refused.
  std::string refusal(std::string_view method, const HeaderMap& headers) const;

 private:
  std::string token_digest_;  // SHA-256 of the token
  std::string token_;
};

}  // namespace interpose::admin
