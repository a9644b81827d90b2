#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace interpose::tls {

// A host a leaf certificate can be minted for, in the one spelling used as the cache key.
struct CertHost {
  std::string name;  // lower-case DNS name, or the canonical text of the IP address
  bool is_ip = false;
  std::string ip;  // 4 or 16 address bytes when is_ip
};

// Accepts a DNS name (letters, digits, hyphens; dot-separated labels of 1 to 63 characters;
// at most 253 characters; one trailing dot allowed and dropped) or an IPv4/IPv6 literal
// (IPv6 optionally in brackets). Anything else, e.g. a name with spaces or underscores, a
// wildcard, or an IPv6 zone, is an error so the caller can fall back to a tunnel.
absl::StatusOr<CertHost> parseCertHost(std::string_view host);

}  // namespace interpose::tls
