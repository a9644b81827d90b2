#include "source/tls/host_name.h"

#include <arpa/inet.h>

#include "api/interpose/strings.h"

namespace interpose::tls {
namespace {

constexpr size_t kMaxName = 253;
constexpr size_t kMaxLabel = 63;

bool isAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool parseIp(std::string_view host, CertHost& out) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || host.size() >= INET6_ADDRSTRLEN) return false;
  std::string text(host);
  unsigned char bytes[16];
  char canonical[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, text.c_str(), bytes) == 1) {
    out.ip.assign(reinterpret_cast<const char*>(bytes), 4);
    out.name = text;
  } else if (inet_pton(AF_INET6, text.c_str(), bytes) == 1 &&
             inet_ntop(AF_INET6, bytes, canonical, sizeof(canonical)) != nullptr) {
    // "0:0::1" and "::1" are one address, so they share one cache entry.
    out.ip.assign(reinterpret_cast<const char*>(bytes), 16);
    out.name = canonical;
  } else {
    return false;
  }
  out.is_ip = true;
  return true;
}

}  // namespace

absl::StatusOr<CertHost> parseCertHost(std::string_view host) {
  CertHost out;
  if (parseIp(host, out)) return out;

  std::string name = str::toLower(host);
  if (name.ends_with('.')) name.pop_back();
  auto invalid = [&](std::string_view why) {
    return absl::InvalidArgumentError(str::cat("cannot mint a certificate for '", host, "': ", why));
  };
  if (name.empty()) return invalid("empty host name");
  if (name.size() > kMaxName) return invalid(str::cat("longer than ", kMaxName, " characters"));
  bool last_all_digits = false;
  for (std::string_view label : str::split(name, '.')) {
    if (label.empty()) return invalid("empty label");
    if (label.size() > kMaxLabel) return invalid(str::cat("a label is longer than ", kMaxLabel, " characters"));
    if (label.front() == '-' || label.back() == '-') return invalid("a label starts or ends with '-'");
    last_all_digits = true;
    for (char c : label) {
      if (!isAlnum(c) && c != '-') return invalid("not a DNS name or IP address");
      if (c < '0' || c > '9') last_all_digits = false;
    }
  }
  // "1.2.3" or "999.1.1.1" is a mistyped address, not a name; top-level domains are never numeric.
  if (last_all_digits) return invalid("not a valid IP address");
  out.name = std::move(name);
  return out;
}

}  // namespace interpose::tls
