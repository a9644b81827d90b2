#include "source/admin/access.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <boost/asio/ip/address.hpp>

#include "api/interpose/strings.h"
#include "source/http/request_target.h"

namespace interpose::admin {
namespace {

std::string sha256(std::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const uint8_t*>(data.data()), data.size(), reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

bool isIpAddress(std::string_view host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(std::string(host), ec);
  return !ec;
}

// A host a DNS-rebinding page cannot put in the Host header: an IP literal or localhost.
bool isLocalHostName(std::string_view authority) {
  auto split = http::splitAuthority(authority, 0);
  if (!split) return false;
  return isIpAddress(split->first) || str::equalsIgnoreCase(split->first, "localhost");
}

}  // namespace

AccessPolicy::AccessPolicy(std::string token) : token_digest_(sha256(token)), token_(std::move(token)) {}

bool AccessPolicy::authorized(std::string_view authorization) const {
  if (token_.empty()) return true;
  std::string_view value = str::trim(authorization);
  constexpr std::string_view kScheme = "bearer";
  if (value.size() <= kScheme.size() || !str::equalsIgnoreCase(value.substr(0, kScheme.size()), kScheme) ||
      value[kScheme.size()] != ' ') {
    return false;
  }
  const std::string offered = sha256(str::trim(value.substr(kScheme.size())));
  return CRYPTO_memcmp(offered.data(), token_digest_.data(), token_digest_.size()) == 0;
}

std::string AccessPolicy::refusal(std::string_view method, const HeaderMap& headers) const {
  if (!requiresToken()) {
    const std::string* host = headers.get("host");
    if (host && !isLocalHostName(*host)) {
      return str::cat("Host '", *host,
                      "' refused: without admin.token only an IP address or localhost may be named (DNS rebinding)");
    }
  }
  if (method != "GET" && method != "HEAD") {
    if (headers.getOr("sec-fetch-site") == "cross-site") return "cross-site request refused";
    const std::string* origin = headers.get("origin");
    if (origin) {
      // A browser names the page's origin; only a page of the admin server itself may write.
      std::string_view o = *origin;
      const std::string* host = headers.get("host");
      bool same = host && (o == str::cat("http://", *host) || o == str::cat("https://", *host));
      if (!same) return str::cat("cross-origin request from '", o, "' refused");
    }
  }
  return "";
}

}  // namespace interpose::admin
