#include "source/network/filter_chain.h"

#include "api/interpose/strings.h"
#include "source/network/rejection_memory.h"

namespace interpose::network {

namespace {

bool allDigits(std::string_view s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos; }

// Parses `text`, what follows the '/', as a prefix length for `prefix`; says why not in `why`.
std::optional<int> parsePrefixLength(std::string_view text, const boost::asio::ip::address& prefix, std::string& why) {
  if (text.empty()) {
    why = "the prefix length after '/' is missing";
    return std::nullopt;
  }
  if (!allDigits(text)) {
    why = str::cat("prefix length '", text, "' is not a number");
    return std::nullopt;
  }
  const int max = prefix.is_v4() ? 32 : 128;
  int length = 0;
  // More than three digits is too long whatever they are (and could overflow an int).
  if (text.size() > 3 || !str::parseInt(text, length) || length > max) {
    why = str::cat("prefix length ", text, " is more than ", max, " for an ", prefix.is_v4() ? "IPv4" : "IPv6",
                   " address");
    return std::nullopt;
  }
  return length;
}

std::optional<Cidr> parseCidr(std::string_view text, std::string& why) {
  const size_t slash = text.find('/');
  const std::string_view address_part = text.substr(0, slash);
  if (address_part.empty()) {
    why = "the address is missing";
    return std::nullopt;
  }
  Cidr cidr;
  boost::system::error_code ec;
  cidr.prefix = boost::asio::ip::make_address(std::string(address_part), ec);
  if (ec) {
    why = str::cat("'", address_part, "' is not an IP address");
    return std::nullopt;
  }
  if (slash == std::string_view::npos) {
    cidr.length = cidr.prefix.is_v4() ? 32 : 128;  // a bare address is a single host
    return cidr;
  }
  std::optional<int> length = parsePrefixLength(text.substr(slash + 1), cidr.prefix, why);
  if (!length) return std::nullopt;
  cidr.length = *length;
  return cidr;
}

}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text, std::string* why) {
  std::string reason;
  std::optional<Cidr> cidr = parseCidr(text, reason);
  if (!cidr && why) *why = std::move(reason);
  return cidr;
}

bool Cidr::contains(const boost::asio::ip::address& address) const {
  auto bytes_of = [](const boost::asio::ip::address& a) {
    if (a.is_v4()) {
      auto b = a.to_v4().to_bytes();
      return std::vector<unsigned char>(b.begin(), b.end());
    }
    auto v6 = a.to_v6();
    if (v6.is_v4_mapped()) {
      auto b = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_bytes();
      return std::vector<unsigned char>(b.begin(), b.end());
    }
    auto b = v6.to_bytes();
    return std::vector<unsigned char>(b.begin(), b.end());
  };
  auto want = bytes_of(prefix);
  auto have = bytes_of(address);
  if (want.size() != have.size()) return false;
  int bits = length;
  for (size_t i = 0; i < want.size() && bits > 0; ++i, bits -= 8) {
    unsigned char mask = bits >= 8 ? 0xff : static_cast<unsigned char>(0xff << (8 - bits));
    if ((want[i] & mask) != (have[i] & mask)) return false;
  }
  return true;
}

bool serverNameMatches(std::string_view pattern, std::string_view name) {
  if (pattern.starts_with("*.")) {
    std::string_view suffix = pattern.substr(1);  // ".example.com"
    return name.size() > suffix.size() && str::equalsIgnoreCase(name.substr(name.size() - suffix.size()), suffix);
  }
  return str::equalsIgnoreCase(pattern, name);
}

bool FilterChainMatch::matches(const ConnectionInfo& info, const boost::asio::ip::address& source) const {
  if (destination_port && *destination_port != info.destination_port) return false;
  if (tunneled && *tunneled != info.tunneled) return false;
  if (interception_rejected &&
      *interception_rejected != (rejections && rejections->contains(info.server_name, info.destination_port))) {
    return false;
  }
  if (!server_names.empty()) {
    // The CONNECT host, or the SNI the client sent (when a tls_inspector read it).
    bool any = false;
    for (const auto& pattern : server_names) {
      any = any || serverNameMatches(pattern, info.server_name) ||
            (!info.sni.empty() && serverNameMatches(pattern, info.sni));
    }
    if (!any) return false;
  }
  if (transport_protocol && *transport_protocol != info.transport) return false;
  if (!application_protocols.empty()) {
    bool any = false;
    for (const auto& offered : info.client_alpn) {
      for (const auto& wanted : application_protocols) any = any || offered == wanted;
    }
    if (!any) return false;
  }
  if (!source_cidrs.empty()) {
    bool any = false;
    for (const auto& cidr : source_cidrs) any = any || cidr.contains(source);
    if (!any) return false;
  }
  return true;
}

std::string FilterChainMatch::describe(const ConnectionInfo& info) const {
  std::vector<std::string> parts;
  if (destination_port) parts.push_back(str::cat("destination_port=", *destination_port));
  if (interception_rejected)
    parts.push_back(*interception_rejected ? "interception_rejected" : "!interception_rejected");
  for (const auto& pattern : server_names) {
    if (serverNameMatches(pattern, info.server_name) || (!info.sni.empty() && serverNameMatches(pattern, info.sni))) {
      parts.push_back(str::cat("server_names=", pattern));
      break;
    }
  }
  if (transport_protocol) parts.push_back(str::cat("transport_protocol=", *transport_protocol));
  if (!application_protocols.empty()) parts.push_back("application_protocols");
  if (!source_cidrs.empty()) parts.push_back("source_cidrs");
  return str::join(parts, ",");
}

const FilterChain* selectFilterChain(const std::vector<FilterChain>& chains, const ConnectionInfo& info,
                                     const boost::asio::ip::address& source) {
  for (const auto& chain : chains) {
    if (chain.match.matches(info, source)) return &chain;
  }
  return nullptr;
}

}  // namespace interpose::network
